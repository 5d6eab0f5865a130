using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FastMcp.Http;

namespace FastMcp.Gateway.Configuration;

/// <summary>
/// Certificates and keys from PEM files, with errors that name the configuration field and say what is wrong
/// (missing file, no certificate in it, unreadable key, key not matching the certificate). Our own words: the
/// Native AOT binary's framework messages are resource keys, and no message ever carries key material.
/// </summary>
public static class PemFiles
{
    /// <summary>The certificate of <paramref name="certificateFile"/> (the first one) joined with its key, and the rest of the file (intermediates).</summary>
    public static (X509Certificate2 Leaf, X509Certificate2Collection Chain) LoadCertificateWithKey(
        string certificateFile, string keyFile, string certificateField, string keyField)
    {
        X509Certificate2Collection all = LoadCertificates(certificateFile, certificateField);
        X509Certificate2 certificate = all[0];
        string keyPem = ReadText(keyFile, keyField);
        if (keyPem.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal))
            throw new ConfigurationException(keyField, $"'{keyFile}' holds an encrypted key: give the key unencrypted (file permissions protect it)");
        X509Certificate2 leaf;
        using (RSA? rsaPublic = certificate.GetRSAPublicKey())
        using (ECDsa? ecPublic = rsaPublic is null ? certificate.GetECDsaPublicKey() : null)
        {
            if (rsaPublic is not null) leaf = JoinRsa(certificate, keyPem, keyFile, keyField);
            else if (ecPublic is not null) leaf = JoinEc(certificate, keyPem, keyFile, keyField);
            else throw new ConfigurationException(certificateField, $"'{certificateFile}': the certificate's key is neither RSA nor EC");
        }
        all.RemoveAt(0);
        return (leaf, all);
    }

    /// <summary>Every certificate in a PEM file (a CA bundle, or a certificate followed by its intermediates).</summary>
    public static X509Certificate2Collection LoadCertificates(string file, string field) =>
        PrivateCaTrust.TryLoadCertificates(file, out string problem) ?? throw new ConfigurationException(field, problem);

    /// <summary>The chain policy trusting only the CAs of <paramref name="file"/> (a caFile field).</summary>
    public static X509ChainPolicy LoadCaPolicy(string file, string field) => PrivateCaTrust.ChainPolicy(LoadCertificates(file, field));

    /// <summary>"1.2" or "1.3" as the protocols to enable (never anything older than 1.2).</summary>
    public static SslProtocols Protocols(string minVersion, string field) => minVersion switch
    {
        "1.2" => SslProtocols.Tls12 | SslProtocols.Tls13,
        "1.3" => SslProtocols.Tls13,
        _ => throw new ConfigurationException(field, $"'{minVersion}' is not a supported TLS version: \"1.2\" or \"1.3\""),
    };

    private static X509Certificate2 JoinRsa(X509Certificate2 certificate, string keyPem, string keyFile, string keyField)
    {
        using RSA key = RSA.Create();
        if (!TryImport(key, keyPem))
        {
            throw new ConfigurationException(keyField, ImportsAsEc(keyPem)
                ? $"'{keyFile}' holds an EC key but the certificate's key is RSA: the key does not match the certificate"
                : $"'{keyFile}' holds no readable private key (PEM PRIVATE KEY or RSA PRIVATE KEY)");
        }
        try
        {
            return certificate.CopyWithPrivateKey(key);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new ConfigurationException(keyField, $"'{keyFile}': the key does not match the certificate");
        }
    }

    private static X509Certificate2 JoinEc(X509Certificate2 certificate, string keyPem, string keyFile, string keyField)
    {
        using ECDsa key = ECDsa.Create();
        if (!TryImport(key, keyPem))
        {
            throw new ConfigurationException(keyField, ImportsAsRsa(keyPem)
                ? $"'{keyFile}' holds an RSA key but the certificate's key is EC: the key does not match the certificate"
                : $"'{keyFile}' holds no readable private key (PEM PRIVATE KEY or EC PRIVATE KEY)");
        }
        try
        {
            return certificate.CopyWithPrivateKey(key);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new ConfigurationException(keyField, $"'{keyFile}': the key does not match the certificate");
        }
    }

    private static bool TryImport(AsymmetricAlgorithm key, string pem)
    {
        try
        {
            key.ImportFromPem(pem);
            return true;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return false;
        }
    }

    private static bool ImportsAsEc(string pem)
    {
        using ECDsa probe = ECDsa.Create();
        return TryImport(probe, pem);
    }

    private static bool ImportsAsRsa(string pem)
    {
        using RSA probe = RSA.Create();
        return TryImport(probe, pem);
    }

    private static string ReadText(string file, string field) =>
        PrivateCaTrust.TryReadText(file, out string problem) ?? throw new ConfigurationException(field, problem);
}
