using System.Security.Cryptography;

namespace FastMcp.Audit.Crypto;

/// <summary>RFC 6962 §2.1 Merkle hashing: domain-separated leaf and interior-node hashes over SHA-256.</summary>
public static class Rfc6962
{
    public const int HashSize = 32;
    public const byte LeafHashPrefix = 0x00;
    public const byte NodeHashPrefix = 0x01;

    /// <summary>MTH({}) = SHA-256 of the empty string.</summary>
    public static byte[] EmptyRoot() => SHA256.HashData(ReadOnlySpan<byte>.Empty);

    /// <summary>SHA-256(0x00 || data). <paramref name="hasher"/> is a reusable SHA-256 IncrementalHash.</summary>
    public static void LeafHash(IncrementalHash hasher, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        ReadOnlySpan<byte> prefix = [LeafHashPrefix];
        hasher.AppendData(prefix);
        hasher.AppendData(data);
        hasher.GetHashAndReset(destination);
    }

    public static byte[] LeafHash(ReadOnlySpan<byte> data)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var result = new byte[HashSize];
        LeafHash(h, data, result);
        return result;
    }

    /// <summary>SHA-256(0x01 || left || right).</summary>
    public static void NodeHash(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right, Span<byte> destination)
    {
        if (left.Length > 64 || right.Length > 64) throw new ArgumentException("node children are hashes");
        Sha256.Hash(NodeHashPrefix, left, right, destination);
    }

    /// <summary>MTH over already-computed leaf hashes (recursive split at the largest power of two below n).</summary>
    public static byte[] RootOf(ReadOnlySpan<byte[]> leafHashes)
    {
        if (leafHashes.Length == 0) return EmptyRoot();
        if (leafHashes.Length == 1) return (byte[])leafHashes[0].Clone();
        int k = LargestPowerOfTwoBelow(leafHashes.Length);
        var result = new byte[HashSize];
        NodeHash(RootOf(leafHashes[..k]), RootOf(leafHashes[k..]), result);
        return result;
    }

    internal static int LargestPowerOfTwoBelow(int n)
    {
        int k = 1;
        while (k << 1 < n) k <<= 1;
        return k;
    }
}
