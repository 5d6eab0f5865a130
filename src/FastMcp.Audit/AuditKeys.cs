using System.Security.Cryptography;

using FastMcp.Audit.Crypto;

namespace FastMcp.Audit;

/// <summary>Creates the ECDSA P-256 key pair that signs the audit log.</summary>
public static class AuditKeys
{
    /// <summary>Writes a PKCS#8 PEM private key (mode 0600 on Unix) and an SPKI PEM public key. Refuses to overwrite.</summary>
    public static void Generate(string privateKeyPath, string publicKeyPath)
    {
        if (File.Exists(privateKeyPath)) throw new KeyFileException(privateKeyPath, "already exists; refusing to overwrite a signing key");
        if (File.Exists(publicKeyPath)) throw new KeyFileException(publicKeyPath, "already exists; refusing to overwrite");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        bool privateCreated = false;
        try
        {
            using var stream = new FileStream(privateKeyPath, options);
            privateCreated = true;
            using var writer = new StreamWriter(stream);
            writer.Write(key.ExportPkcs8PrivateKeyPem());
            writer.Write('\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (privateCreated) TryDelete(privateKeyPath);
            throw new KeyFileException(privateKeyPath, "cannot write: " + FastMcp.Http.PlainError.Describe(e));
        }
        var publicOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        bool publicCreated = false;
        try
        {
            using var stream = new FileStream(publicKeyPath, publicOptions);
            publicCreated = true;
            using var writer = new StreamWriter(stream);
            writer.Write(key.ExportSubjectPublicKeyInfoPem());
            writer.Write('\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Half a pair is no use and would make the next run refuse: the private key goes too.
            TryDelete(privateKeyPath);
            if (publicCreated) TryDelete(publicKeyPath);
            throw new KeyFileException(publicKeyPath, "cannot write: " + FastMcp.Http.PlainError.Describe(e) + " (the private key was not kept either)");
        }
    }

    // Removes a file this run created before its write failed.
    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
