using System.IO.Hashing;
using System.Security.Cryptography;

namespace FastMcp.Identity;

/// <summary>
/// Cache key of a token: XXH3-64 with a per-process random seed. Only a bucket selector: a hit also
/// requires the stored token bytes to equal the presented ones, so a collision can cost a re-validation,
/// never an identity. (SHA-256 of a ~700-byte token costs more than the whole 100 ns budget of a cached check.)
/// </summary>
internal static class TokenKey
{
    private static readonly long Seed = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));

    public static ulong Compute(ReadOnlySpan<byte> token) => XxHash3.HashToUInt64(token, Seed);
}
