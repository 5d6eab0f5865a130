using System.Buffers.Text;
using System.Text.Json;

namespace FastMcp.Identity;

/// <summary>
/// The key a sender-constrained token is bound to (its <c>cnf</c> claim, RFC 7800): the SHA-256 of the client
/// certificate of a mutual-TLS connection (RFC 8705 §3.1, <c>x5t#S256</c>) and/or the RFC 7638 thumbprint of a DPoP
/// key (RFC 9449 §6.1, <c>jkt</c>). Decoded once when the token is first verified and kept with it in the cache, so
/// each use compares raw bytes. A token without <c>cnf</c> has none (null), and costs nothing more.
/// </summary>
internal sealed class Confirmation
{
    private Confirmation(byte[]? certificateSha256, byte[]? keyThumbprint)
    {
        CertificateSha256 = certificateSha256;
        KeyThumbprint = keyThumbprint;
    }

    /// <summary>x5t#S256, 32 bytes; null when the token is not certificate-bound.</summary>
    public byte[]? CertificateSha256 { get; }

    /// <summary>jkt, 32 bytes; null when the token is not DPoP-bound.</summary>
    public byte[]? KeyThumbprint { get; }

    /// <summary>
    /// Reads the payload's cnf claim. True with null when there is none; false with the reason when it cannot be
    /// honoured: not an object, empty, a member other than x5t#S256 and jkt, or a value that is not a base64url SHA-256.
    /// A binding the gateway cannot verify is refused, never ignored.
    /// </summary>
    public static bool TryRead(JsonElement payload, out Confirmation? confirmation, out string? problem)
    {
        confirmation = null;
        problem = null;
        if (payload.ValueKind != JsonValueKind.Object || !payload.TryGetProperty("cnf", out JsonElement cnf))
            return true;
        if (cnf.ValueKind != JsonValueKind.Object)
        {
            problem = "token claim 'cnf' is not an object";
            return false;
        }
        byte[]? certificate = null, thumbprint = null;
        foreach (JsonProperty member in cnf.EnumerateObject())
        {
            if (member.NameEquals("x5t#S256") && certificate is null)
                certificate = Sha256Value(member.Value);
            else if (member.NameEquals("jkt") && thumbprint is null)
                thumbprint = Sha256Value(member.Value);
            else
            {
                problem = $"token is bound by cnf member '{Truncate(member.Name)}', which the gateway does not verify (only x5t#S256 and jkt)";
                return false;
            }
            if ((member.NameEquals("x5t#S256") ? certificate : thumbprint) is null)
            {
                problem = $"token claim 'cnf.{member.Name}' is not a base64url SHA-256 value";
                return false;
            }
        }
        if (certificate is null && thumbprint is null)
        {
            problem = "token claim 'cnf' names no confirmation method";
            return false;
        }
        confirmation = new Confirmation(certificate, thumbprint);
        return true;
    }

    private static byte[]? Sha256Value(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.String) return null;
        string text = value.GetString()!;
        // 32 bytes are 43 base64url characters, unpadded (RFC 7515 §2).
        if (text.Length != 43) return null;
        var bytes = new byte[32];
        return Base64Url.TryDecodeFromChars(text, bytes, out int written) && written == 32 ? bytes : null;
    }

    private static string Truncate(string value) => value.Length <= 32 ? value : value[..32] + "…";
}
