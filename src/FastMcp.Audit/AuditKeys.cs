using System.Security.Cryptography;

using FastMcp.Audit.Crypto;

namespace FastMcp.Audit;

/// <summary>Creates the ECDSA P-256 key pair that signs the audit log.</summary>
public static class AuditKeys
{
    /// <summary>Writes a PKCS#8 PEM private key (mode 0600 on Unix) and an SPKI PEM public key. Refuses to overwrite.</summary>
    public static void Generate(string privateKeyPath, string publicKeyPath)
    {
        if (File.Exists(privateKeyPath)) throw new IOException($"{privateKeyPath} already exists; refusing to overwrite a signing key.");
        if (File.Exists(publicKeyPath)) throw new IOException($"{publicKeyPath} already exists; refusing to overwrite.");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(privateKeyPath, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(key.ExportPkcs8PrivateKeyPem());
            writer.Write('\n');
        }
        File.WriteAllText(publicKeyPath, key.ExportSubjectPublicKeyInfoPem() + "\n");
    }
}
