using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace FastMcp.Identity;

/// <summary>SHA-256 of a token: the cache key. Tokens are never kept as strings in the cache.</summary>
internal readonly struct TokenHash : IEquatable<TokenHash>
{
    private readonly ulong _a, _b, _c, _d;

    private TokenHash(ulong a, ulong b, ulong c, ulong d) { _a = a; _b = b; _c = c; _d = d; }

    public static TokenHash Compute(ReadOnlySpan<byte> token)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(token, digest);
        var words = MemoryMarshal.Cast<byte, ulong>(digest);
        return new TokenHash(words[0], words[1], words[2], words[3]);
    }

    public bool Equals(TokenHash other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;
    public override bool Equals(object? obj) => obj is TokenHash other && Equals(other);
    // SHA-256 output is uniform: any 32 bits of it are a good hash code.
    public override int GetHashCode() => (int)_a;
}
