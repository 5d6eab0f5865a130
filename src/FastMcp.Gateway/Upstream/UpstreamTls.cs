using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Upstream;

/// <summary>
/// TLS toward an https:// upstream (upstream.tls): SNI and the name checked in its certificate from the URL's host
/// (or tls.serverName), its chain checked against the system CA bundle or tls.caFile, TLS 1.2 and 1.3 only, ALPN
/// http/1.1, and a client certificate when one is configured. Validation cannot be turned off.
/// </summary>
internal sealed class UpstreamTls
{
    private static readonly List<SslApplicationProtocol> Http11 = [SslApplicationProtocol.Http11];

    private readonly string _serverName;
    private readonly SslProtocols _protocols;
    private readonly X509ChainPolicy? _chainPolicy;
    private readonly SslStreamCertificateContext? _clientCertificate;

    public UpstreamTls(UpstreamUrl url, UpstreamTlsOptions options, string prefix)
    {
        _serverName = options.ServerName.Length > 0 ? options.ServerName : url.TlsHost;
        _protocols = PemFiles.Protocols(options.MinVersion, $"{prefix}.tls.minVersion");
        if (options.CaFile.Length > 0)
            _chainPolicy = PemFiles.LoadCaPolicy(options.CaFile, $"{prefix}.tls.caFile");
        if (options.CertificateFile.Length > 0)
        {
            (X509Certificate2 leaf, X509Certificate2Collection chain) = PemFiles.LoadCertificateWithKey(
                options.CertificateFile, options.KeyFile, $"{prefix}.tls.certificateFile", $"{prefix}.tls.keyFile");
            _clientCertificate = SslStreamCertificateContext.Create(leaf, chain, offline: true);
        }
    }

    public string ServerName => _serverName;

    /// <summary>Options for one connection, with a check that remembers why the upstream's certificate was refused.</summary>
    public SslClientAuthenticationOptions OptionsFor(CertificateCheck check) => new()
    {
        TargetHost = _serverName,
        EnabledSslProtocols = _protocols,
        ApplicationProtocols = Http11,
        CertificateChainPolicy = _chainPolicy?.Clone(),
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        ClientCertificateContext = _clientCertificate,
        RemoteCertificateValidationCallback = check.Validate,
    };

    /// <summary>The framework's verdict (chain and name), kept so the failure log can say which part failed.</summary>
    public sealed class CertificateCheck
    {
        public SslPolicyErrors Errors { get; private set; }

        public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            Errors = errors;
            return errors == SslPolicyErrors.None;
        }

        public string Describe()
        {
            if (Errors == SslPolicyErrors.None) return "handshake failed (no common TLS version or cipher, or the upstream does not speak TLS)";
            var parts = new List<string>(3);
            if ((Errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0) parts.Add("no certificate sent");
            if ((Errors & SslPolicyErrors.RemoteCertificateChainErrors) != 0) parts.Add("certificate not trusted (does not chain to upstream.tls.caFile or the system CAs, or expired)");
            if ((Errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) parts.Add("certificate does not name the server (SNI/serverName)");
            return "certificate refused: " + string.Join("; ", parts);
        }
    }
}
