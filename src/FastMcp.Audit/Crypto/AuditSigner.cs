using System.Security.Cryptography;

namespace FastMcp.Audit.Crypto;

/// <summary>
/// Signs seals and checkpoints (ECDSA P-256, SHA-256, IEEE P1363 r||s, low-s) with an
/// <see cref="IAuditSigningKey"/>, and checks each signature against the public key before it is
/// used, so a faulty or swapped key device fails loudly instead of writing an unverifiable log.
/// </summary>
public sealed class AuditSigner : IDisposable
{
    private readonly IAuditSigningKey _key;
    private readonly AuditPublicKey _public;

    public string KeyId => _public.KeyId;

    /// <summary>The public half (owned by the signer).</summary>
    public AuditPublicKey PublicKey => _public;

    public AuditSigner(IAuditSigningKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        _public = AuditPublicKey.FromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo());
        _key = key;
    }

    /// <summary>Loads a PEM PKCS#8 (or SEC1) P-256 private key.</summary>
    public static AuditSigner FromPemFile(string path) => FromPem(File.ReadAllText(path));

    public static AuditSigner FromPem(string pem)
    {
        var key = PemSigningKey.FromPem(pem);
        try
        {
            return new AuditSigner(key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public byte[] Sign(ReadOnlySpan<byte> message)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(message, digest);
        byte[] signature = _key.SignHash(digest);
        if (signature.Length != AuditPublicKey.SignatureSize)
            throw new CryptographicException($"the audit signing key returned {signature.Length} bytes, not a 64-byte r || s signature");
        EcdsaLowS.Normalize(signature);
        if (!_public.Verify(message, signature))
            throw new CryptographicException($"the audit signing key produced a signature that does not verify with its public key {KeyId}");
        return signature;
    }

    public void Dispose()
    {
        _key.Dispose();
        _public.Dispose();
    }
}
