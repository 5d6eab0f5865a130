using System.Security.Cryptography;
using System.Text;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;

namespace FastMcp.Audit.Tests;

/// <summary>RFC 6962 hashing known answers (from transparency-dev/merkle's rfc6962 tests) and proof edge cases.</summary>
public sealed class MerkleTests
{
    [Fact]
    public void Empty_root_is_sha256_of_nothing()
    {
        // printf '' | sha256sum
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Convert.ToHexStringLower(Rfc6962.EmptyRoot()));
        Assert.Equal(Rfc6962.EmptyRoot(), new MerkleRootBuilder().GetRoot());
    }

    [Fact]
    public void Leaf_hash_known_answers()
    {
        // echo -n 00 | xxd -r -p | sha256sum
        Assert.Equal("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", Convert.ToHexStringLower(Rfc6962.LeafHash([])));
        // (printf '\x00'; printf 'L123456') | sha256sum
        Assert.Equal("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56", Convert.ToHexStringLower(Rfc6962.LeafHash("L123456"u8)));
    }

    [Fact]
    public void Node_hash_known_answer()
    {
        var result = new byte[32];
        Rfc6962.NodeHash("N123"u8, "N456"u8, result);
        Assert.Equal("aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb", Convert.ToHexStringLower(result));
    }

    [Fact]
    public void Crc32c_known_answer()
    {
        // CRC-32C check value from the Castagnoli catalogue: "123456789" -> e3069283
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
    }

    private static byte[][] Leaves(int n)
    {
        var leaves = new byte[n][];
        for (int i = 0; i < n; i++) leaves[i] = Rfc6962.LeafHash(Encoding.ASCII.GetBytes("leaf-" + i));
        return leaves;
    }

    [Fact]
    public void Incremental_root_equals_the_recursive_definition_for_every_size()
    {
        var builder = new MerkleRootBuilder();
        var leaves = Leaves(70);
        for (int n = 1; n <= leaves.Length; n++)
        {
            builder.Append(leaves[n - 1]);
            Assert.Equal(Rfc6962.RootOf(leaves.AsSpan(0, n)), builder.GetRoot());
        }
    }

    [Fact]
    public void Three_leaf_root_splits_at_two()
    {
        var l = Leaves(3);
        var left = new byte[32];
        Rfc6962.NodeHash(l[0], l[1], left);
        var root = new byte[32];
        Rfc6962.NodeHash(left, l[2], root);
        Assert.Equal(root, Rfc6962.RootOf(l));
    }

    [Fact]
    public void Every_inclusion_proof_verifies_and_every_corruption_is_rejected()
    {
        for (int n = 1; n <= 17; n++)
        {
            var leaves = Leaves(n);
            var root = Rfc6962.RootOf(leaves);
            for (int i = 0; i < n; i++)
            {
                var path = InclusionProof.Create(leaves, i);
                Assert.True(InclusionProof.Verify(i, n, leaves[i], path, root), $"n={n} i={i}");
                Assert.False(InclusionProof.Verify(i, i, leaves[i], path, root)); // index must be below the size
                if (n > 1) Assert.False(InclusionProof.Verify((i + 1) % n, n, leaves[i], path, root));
                Assert.False(InclusionProof.Verify(i, n, Rfc6962.LeafHash("not a leaf"u8), path, root));
                // Flip each bit position of each path element once.
                for (int p = 0; p < path.Count; p++)
                {
                    var bad = path.Select(x => (byte[])x.Clone()).ToList();
                    bad[p][p % 32] ^= (byte)(1 << (p % 8));
                    Assert.False(InclusionProof.Verify(i, n, leaves[i], bad, root));
                }
                // Wrong lengths: an extra element, a missing element, preceding garbage.
                Assert.False(InclusionProof.Verify(i, n, leaves[i], [.. path, new byte[32]], root));
                if (path.Count > 0) Assert.False(InclusionProof.Verify(i, n, leaves[i], path.Take(path.Count - 1).ToList(), root));
                Assert.False(InclusionProof.Verify(i, n, leaves[i], [new byte[32], .. path], root));
            }
        }
        Assert.False(InclusionProof.Verify(0, 0, new byte[32], [], Rfc6962.EmptyRoot()));
        Assert.False(InclusionProof.Verify(-1, 4, new byte[32], [], new byte[32]));
    }

    [Fact]
    public void Chain_hash_is_sha256_of_previous_head_and_leaf()
    {
        var header = "fastmcp-audit-segment v1\n"u8.ToArray();
        using var cursor = new FastMcp.Audit.Reading.ChainCursor();
        cursor.StartSegment(header, 5);
        var body = new byte[30];
        BitConverter.TryWriteBytes(body, 5L);
        var chain = new byte[32];
        Assert.True(cursor.Append(body, chain, out _));
        var expected = SHA256.HashData([.. SHA256.HashData(header), .. Rfc6962.LeafHash(body)]);
        Assert.Equal(expected, chain);
        Assert.False(cursor.Append(body, chain, out var error)); // sequence 5 again
        Assert.Contains("expected", error);
    }
}
