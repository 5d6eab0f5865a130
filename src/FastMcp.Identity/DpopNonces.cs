using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace FastMcp.Identity;

/// <summary>
/// Server-provided DPoP nonces (RFC 9449 §8) that need no shared state: a nonce names a time window of
/// identity.dpop.nonceLifetimeSeconds and carries an HMAC-SHA256 of that window under the deployment's nonce key, so
/// every replica holding the same key issues the same nonce and accepts any replica's, and a nonce goes stale as windows
/// pass. A proof made before its nonce was issued cannot carry it: pre-generated proofs are useless.
/// A nonce is accepted while the window it names is the current one, the one before (a nonce issued at the end of a
/// window stays usable) or the one after (a replica whose clock runs slightly ahead issued it).
/// </summary>
internal sealed class DpopNonces(byte[] key, int lifetimeSeconds, TimeProvider time)
{
    private const int WindowBytes = 8, MacBytes = 16;

    /// <summary>Characters of a nonce: base64url of window and truncated MAC, unpadded.</summary>
    public const int NonceLength = (WindowBytes + MacBytes) * 4 / 3;

    private static ReadOnlySpan<byte> Label => "FastMcp DPoP nonce v1\n"u8;

    private Issued? _issued;

    /// <summary>The nonce to hand out now, as its response header line ("DPoP-Nonce: …\r\n"); one per window, cached.</summary>
    public byte[] CurrentHeaderLine()
    {
        long window = WindowAt(time.GetUtcNow());
        Issued? issued = Volatile.Read(ref _issued);
        if (issued is null || issued.Window != window)
        {
            issued = new Issued(window, Encoding.ASCII.GetBytes("DPoP-Nonce: " + Nonce(window) + "\r\n"));
            Volatile.Write(ref _issued, issued);
        }
        return issued.HeaderLine;
    }

    /// <summary>True when <paramref name="nonce"/> was issued under this key for the current window or a neighbour.</summary>
    public bool Accepts(string nonce)
    {
        Span<byte> bytes = stackalloc byte[WindowBytes + MacBytes];
        if (nonce.Length != NonceLength || !Base64Url.TryDecodeFromChars(nonce, bytes, out int written) || written != bytes.Length)
            return false;
        long window = BinaryPrimitives.ReadInt64BigEndian(bytes);
        long now = WindowAt(time.GetUtcNow());
        if (window < now - 1 || window > now + 1)
            return false;
        Span<byte> mac = stackalloc byte[32];
        Mac(window, mac);
        return CryptographicOperations.FixedTimeEquals(mac[..MacBytes], bytes[WindowBytes..]);
    }

    private long WindowAt(DateTimeOffset instant) => instant.ToUnixTimeSeconds() / lifetimeSeconds;

    private string Nonce(long window)
    {
        Span<byte> bytes = stackalloc byte[WindowBytes + MacBytes];
        BinaryPrimitives.WriteInt64BigEndian(bytes, window);
        Span<byte> mac = stackalloc byte[32];
        Mac(window, mac);
        mac[..MacBytes].CopyTo(bytes[WindowBytes..]);
        return Base64Url.EncodeToString(bytes);
    }

    private void Mac(long window, Span<byte> mac)
    {
        Span<byte> input = stackalloc byte[Label.Length + WindowBytes];
        Label.CopyTo(input);
        BinaryPrimitives.WriteInt64BigEndian(input[Label.Length..], window);
        HMACSHA256.HashData(key, input, mac);
    }

    private sealed record Issued(long Window, byte[] HeaderLine);
}
