using System.Numerics;

namespace FastMcp.Audit.Crypto;

/// <summary>
/// Incremental RFC 6962 root over appended leaf hashes, keeping one perfect-subtree root per set bit
/// of the leaf count (a compact range), so appends cost O(1) amortized and nothing is allocated.
/// </summary>
public sealed class MerkleRootBuilder
{
    private readonly byte[] _levels = new byte[64 * Rfc6962.HashSize];
    private readonly byte[] _scratch = new byte[Rfc6962.HashSize];

    public long Count { get; private set; }

    public void Reset() => Count = 0;

    public void CopyFrom(MerkleRootBuilder other)
    {
        other._levels.CopyTo(_levels, 0);
        Count = other.Count;
    }

    public void Append(ReadOnlySpan<byte> leafHash)
    {
        Span<byte> carry = _scratch;
        leafHash.CopyTo(carry);
        int level = 0;
        // Merge with every complete subtree of equal size, like binary addition.
        while ((Count & (1L << level)) != 0)
        {
            Rfc6962.NodeHash(Level(level), carry, carry);
            level++;
        }
        carry.CopyTo(Level(level));
        Count++;
    }

    /// <summary>Writes the root of the tree of all leaves appended so far.</summary>
    public void GetRoot(Span<byte> destination)
    {
        if (Count == 0) { Rfc6962.EmptyRoot().CopyTo(destination); return; }
        Span<byte> acc = stackalloc byte[Rfc6962.HashSize];
        int level = BitOperations.TrailingZeroCount(Count);
        Level(level).CopyTo(acc);
        for (level++; level < 64; level++)
        {
            if ((Count & (1L << level)) != 0) Rfc6962.NodeHash(Level(level), acc, acc);
        }
        acc.CopyTo(destination);
    }

    public byte[] GetRoot()
    {
        var r = new byte[Rfc6962.HashSize];
        GetRoot(r);
        return r;
    }

    private Span<byte> Level(int level) => _levels.AsSpan(level * Rfc6962.HashSize, Rfc6962.HashSize);
}
