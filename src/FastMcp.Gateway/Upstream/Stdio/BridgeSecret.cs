using System.Security.Cryptography;
using System.Text;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// A random value made at each start that the gateway sends on every request to its stdio bridge: the
/// bridge answers nobody else, so another local process cannot reach the stdio server around the
/// gateway's identity, policy, masking and audit.
/// </summary>
internal sealed class BridgeSecret
{
    public static ReadOnlySpan<byte> HeaderName => "X-FastMcp-Bridge-Secret"u8;

    private readonly byte[] _value;

    public BridgeSecret()
    {
        _value = Encoding.ASCII.GetBytes(Convert.ToHexString(RandomNumberGenerator.GetBytes(32)));
        HeaderLines = [.. HeaderName, .. ": "u8, .. _value, .. "\r\n"u8];
    }

    /// <summary>"X-FastMcp-Bridge-Secret: value\r\n", for the upstream pool to add to each request.</summary>
    public byte[] HeaderLines { get; }

    /// <summary>Constant-time comparison, so the time to refuse says nothing about how much of a guess was right.</summary>
    public bool Matches(ReadOnlySpan<byte> presented) => CryptographicOperations.FixedTimeEquals(presented, _value);
}
