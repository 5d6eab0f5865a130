using System.Security.Cryptography;
using FastMcp.Audit.Crypto;

namespace FastMcp.Audit.Tests;

/// <summary>The chain's SHA-256 (libcrypto's direct functions when present) equals .NET's, for every shape it is used in.</summary>
public sealed class Sha256Tests
{
    [Fact]
    public void Direct_hashing_matches_the_platform_for_all_lengths_and_splits()
    {
        var random = new Random(6962);
        byte[] expected = new byte[32], actual = new byte[32];
        foreach (int length in new[] { 0, 1, 31, 32, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 70_000 })
        {
            byte[] data = new byte[length];
            random.NextBytes(data);
            SHA256.HashData(data, expected);
            Sha256.Hash(data, actual);
            Assert.Equal(expected, actual);

            int split = length / 3;
            Sha256.Hash(data.AsSpan(0, split), data.AsSpan(split), actual);
            Assert.Equal(expected, actual);

            byte[] prefixed = [0x01, .. data];
            SHA256.HashData(prefixed, expected);
            Sha256.Hash(0x01, data.AsSpan(0, split), data.AsSpan(split), actual);
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void The_destination_may_be_one_of_the_inputs()
    {
        byte[] head = SHA256.HashData("head"u8);
        byte[] leaf = SHA256.HashData("leaf"u8);
        byte[] expected = SHA256.HashData([.. head, .. leaf]);
        Sha256.Hash(head, leaf, head);
        Assert.Equal(expected, head);
    }

    [Fact]
    public void On_linux_the_direct_functions_are_used()
    {
        // Not a correctness matter (the fallback gives the same digests), but the verifier's speed depends on it.
        if (OperatingSystem.IsLinux() && File.Exists("/usr/lib/x86_64-linux-gnu/libcrypto.so.3")) Assert.True(Sha256.IsNative);
    }
}
