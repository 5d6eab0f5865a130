using System.Security.Cryptography;

namespace FastMcp.Audit.Crypto;

/// <summary>The verifier's side: checks signatures with the public key only, so it cannot forge.</summary>
public sealed class AuditPublicKey : IDisposable
{
    public const int SignatureSize = 64;
    private readonly ECDsa _key;

    /// <summary>Hex SHA-256 of the DER SubjectPublicKeyInfo; notes name the key that signed them.</summary>
    public string KeyId { get; }

    private AuditPublicKey(ECDsa key)
    {
        _key = key;
        KeyId = ComputeKeyId(key.ExportSubjectPublicKeyInfo());
    }

    public static string ComputeKeyId(ReadOnlySpan<byte> spki) => Convert.ToHexStringLower(SHA256.HashData(spki));

    public static AuditPublicKey FromPemFile(string path) => FromPem(File.ReadAllText(path));

    /// <summary>Accepts a public key PEM, or a private key PEM (its public half is used).</summary>
    public static AuditPublicKey FromPem(string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            if (key.KeySize != 256) throw new CryptographicException("The audit key must be ECDSA P-256.");
            var pub = ECDsa.Create();
            pub.ImportSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _);
            return new AuditPublicKey(pub);
        }
        finally
        {
            key.Dispose();
        }
    }

    /// <summary>Accepts a DER SubjectPublicKeyInfo of a P-256 key.</summary>
    public static AuditPublicKey FromSubjectPublicKeyInfo(ReadOnlySpan<byte> spki)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportSubjectPublicKeyInfo(spki, out _);
            if (key.KeySize != 256) throw new CryptographicException("The audit key must be ECDSA P-256.");
            return new AuditPublicKey(key);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    public bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        signature.Length == SignatureSize &&
        _key.VerifyData(message, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);

    public void Dispose() => _key.Dispose();
}
