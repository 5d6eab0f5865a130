using System.Security.Cryptography;

namespace FastMcp.Audit.Crypto;

/// <summary>An ECDSA P-256 private key loaded from a PEM file (PKCS#8 or SEC1) into process memory.</summary>
public sealed class PemSigningKey : IAuditSigningKey
{
    private readonly ECDsa _key;

    private PemSigningKey(ECDsa key) => _key = key;

    public static PemSigningKey FromPem(string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256) throw new CryptographicException("The audit signing key must be ECDSA P-256.");
            return new PemSigningKey(key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public byte[] ExportSubjectPublicKeyInfo() => _key.ExportSubjectPublicKeyInfo();

    public byte[] SignHash(ReadOnlySpan<byte> sha256) => _key.SignHash(sha256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    public void Dispose() => _key.Dispose();
}
