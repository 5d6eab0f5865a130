using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// TLS for the MCP listener (the tls section): TLS 1.2 and 1.3 only, ALPN http/1.1, the reloading
/// <see cref="ServerCertificate"/>, and client certificates checked against tls.clientCaFile when asked for.
/// </summary>
internal sealed class ListenerTls
{
    private static readonly List<SslApplicationProtocol> Http11 = [SslApplicationProtocol.Http11];
    // Extended key usage "TLS web client authentication": a server certificate from the same CA is not a client's.
    private static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    private readonly ServerCertificate _certificate;
    private readonly SslProtocols _protocols;
    private readonly bool _askForCertificate;
    private readonly bool _requireCertificate;
    private readonly X509ChainPolicy? _clientChainPolicy;

    public ListenerTls(ListenerTlsOptions options, Admin.GatewayCounters counters)
    {
        _certificate = new ServerCertificate(options.CertificateFile, options.KeyFile, counters);
        _protocols = PemFiles.Protocols(options.MinVersion, "tls.minVersion");
        _askForCertificate = options.ClientCertificates is "optional" or "require";
        _requireCertificate = options.ClientCertificates == "require";
        if (_askForCertificate)
        {
            _clientChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
                DisableCertificateDownloads = true,
            };
            _clientChainPolicy.CustomTrustStore.AddRange(PemFiles.LoadCertificates(options.ClientCaFile, "tls.clientCaFile"));
            _clientChainPolicy.ApplicationPolicy.Add(ClientAuthentication);
        }
    }

    /// <summary>The handshake of one accepted connection.</summary>
    public Task<TlsHandshakeFailure> AcceptAsync(TlsPipe connection, TimeSpan timeout)
    {
        var check = new ClientCertificateCheck(this);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = _certificate.Current(),
            EnabledSslProtocols = _protocols,
            ApplicationProtocols = Http11,
            ClientCertificateRequired = _askForCertificate,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = _askForCertificate ? check.Validate : null,
        };
        return connection.AcceptAsync(options, timeout, () => check.Refused);
    }

    /// <summary>One connection's client-certificate decision, remembered so a failed handshake can be counted under its reason.</summary>
    private sealed class ClientCertificateCheck(ListenerTls tls)
    {
        public bool Refused { get; private set; }

        public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            bool accepted = certificate is null ? !tls._requireCertificate : ChainsToClientCa(certificate);
            Refused = !accepted;
            return accepted;
        }

        private bool ChainsToClientCa(X509Certificate certificate)
        {
            using var own = new X509Chain { ChainPolicy = tls._clientChainPolicy!.Clone() };
            X509Certificate2 leaf = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
            try
            {
                return own.Build(leaf);
            }
            finally
            {
                foreach (X509ChainElement element in own.ChainElements) if (!ReferenceEquals(element.Certificate, leaf)) element.Certificate.Dispose();
            }
        }
    }
}
