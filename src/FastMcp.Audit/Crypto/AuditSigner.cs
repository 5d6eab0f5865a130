using System.Security.Cryptography;

namespace FastMcp.Audit.Crypto;

/// <summary>Signs seals and checkpoints with the gateway's ECDSA P-256 private key (SHA-256, IEEE P1363 r||s).</summary>
public sealed class AuditSigner : IDisposable
{
    private readonly ECDsa _key;

    public string KeyId { get; }

    private AuditSigner(ECDsa key)
    {
        _key = key;
        KeyId = AuditPublicKey.ComputeKeyId(key.ExportSubjectPublicKeyInfo());
    }

    /// <summary>Loads a PEM PKCS#8 (or SEC1) P-256 private key.</summary>
    public static AuditSigner FromPemFile(string path) => FromPem(File.ReadAllText(path));

    public static AuditSigner FromPem(string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256) throw new CryptographicException("The audit signing key must be ECDSA P-256.");
            return new AuditSigner(key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public byte[] Sign(ReadOnlySpan<byte> message) => _key.SignData(message, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    public string ExportPublicKeyPem() => _key.ExportSubjectPublicKeyInfoPem();

    public void Dispose() => _key.Dispose();
}
