using System.Net.Http;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FastMcp.Http;

/// <summary>
/// Trust in a private CA for a service the gateway calls (the upstream, an identity provider, a token endpoint, a
/// webhook, a witness): the server's certificate must chain to the CAs of one PEM file and to nothing else (custom
/// root trust, not added to the system store); the host name is still checked by the TLS stack. One implementation,
/// so every caFile field means the same thing. Problems are in our own words (the Native AOT framework messages
/// are resource keys) and the caller names the field.
/// </summary>
public static class PrivateCaTrust
{
    /// <summary>The chain policy for CAs <paramref name="roots"/>: no revocation fetch, no AIA downloads (fail closed offline).</summary>
    public static X509ChainPolicy ChainPolicy(X509Certificate2Collection roots)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
            DisableCertificateDownloads = true,
        };
        policy.CustomTrustStore.AddRange(roots);
        return policy;
    }

    /// <summary>Makes <paramref name="handler"/> trust only <paramref name="policy"/>'s CAs; null keeps the system store.</summary>
    public static SocketsHttpHandler Apply(SocketsHttpHandler handler, X509ChainPolicy? policy)
    {
        if (policy is not null) handler.SslOptions.CertificateChainPolicy = policy.Clone();
        return handler;
    }

    /// <summary>The chain policy for the CAs in PEM file <paramref name="file"/>, or null with <paramref name="problem"/> set.</summary>
    public static X509ChainPolicy? TryLoadPolicy(string file, out string problem)
    {
        X509Certificate2Collection? roots = TryLoadCertificates(file, out problem);
        return roots is null ? null : ChainPolicy(roots);
    }

    /// <summary>Every certificate in a PEM file, or null with <paramref name="problem"/> set (missing, unreadable, malformed, none).</summary>
    public static X509Certificate2Collection? TryLoadCertificates(string file, out string problem)
    {
        string? pem = TryReadText(file, out problem);
        if (pem is null) return null;
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(pem);
        }
        catch (CryptographicException)
        {
            problem = $"'{file}' holds a malformed PEM certificate";
            return null;
        }
        if (collection.Count == 0)
        {
            problem = $"'{file}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
            return null;
        }
        return collection;
    }

    /// <summary>A PEM file's text, or null with <paramref name="problem"/> saying why it cannot be read.</summary>
    public static string? TryReadText(string file, out string problem)
    {
        problem = "";
        if (string.IsNullOrEmpty(file))
        {
            problem = "a PEM file path is required";
            return null;
        }
        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"cannot read '{file}': {PlainError.Describe(e, file)}";
            return null;
        }
    }
}
