using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FastMcp.Gateway.Clients;

/// <summary>
/// The certificate a client presented in a mutual-TLS handshake at the gateway's listener (already validated against
/// tls.clientCaFile), as the audit records it in <c>origin.certificate</c>: its subject, and its SHA-256 fingerprint
/// as colon-separated hex pairs (the form <c>openssl x509 -fingerprint -sha256</c> prints, which no card-number scan
/// can mistake for digits of a card). Made once per connection.
/// </summary>
internal sealed class ClientCertificate(string subject, string sha256, byte[] sha256Bytes)
{
    public string Subject { get; } = subject;
    public string Sha256 { get; } = sha256;

    /// <summary>The raw hash, which a certificate-bound token's cnf.x5t#S256 must equal (RFC 8705 §3.1).</summary>
    public byte[] Sha256Bytes { get; } = sha256Bytes;

    public static ClientCertificate? Of(X509Certificate? presented)
    {
        if (presented is null) return null;
        byte[] hash = SHA256.HashData(presented.GetRawCertData());
        return new ClientCertificate(presented.Subject, Fingerprint(hash), hash);
    }

    private static string Fingerprint(byte[] hash) => string.Create(hash.Length * 3 - 1, hash, static (chars, bytes) =>
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            if (i > 0) chars[i * 3 - 1] = ':';
            bytes[i].TryFormat(chars[(i * 3)..], out _, "X2");
        }
    });
}
