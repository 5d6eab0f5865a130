namespace FastMcp.Gateway.Configuration;

/// <summary>
/// TLS on the MCP listener (every address in <c>listen</c>). Absent: plain HTTP. The certificate and key files are
/// watched: a replaced pair is taken by new connections (docs/operations.md, certificate rotation).
/// </summary>
public sealed class ListenerTlsOptions
{
    /// <summary>PEM file: the server certificate first, then any intermediates (a full chain file).</summary>
    public string CertificateFile { get; set; } = "";

    /// <summary>PEM file with the certificate's private key (PKCS#8, PKCS#1 RSA or SEC1 EC; not encrypted).</summary>
    public string KeyFile { get; set; } = "";

    /// <summary>"none" (default), "optional" (a certificate, when sent, must chain to clientCaFile) or "require".</summary>
    public string ClientCertificates { get; set; } = "none";

    /// <summary>PEM file of the CA certificates client certificates must chain to (required unless clientCertificates is none).</summary>
    public string ClientCaFile { get; set; } = "";

    /// <summary>Lowest TLS version accepted: "1.2" (default) or "1.3". Older versions are never offered.</summary>
    public string MinVersion { get; set; } = "1.2";
}

/// <summary>TLS toward an https:// upstream. Certificate validation is always on; there is no switch to turn it off.</summary>
public sealed class UpstreamTlsOptions
{
    /// <summary>PEM file of the CA certificates the upstream's certificate must chain to. Empty: the system CA bundle.</summary>
    public string CaFile { get; set; } = "";

    /// <summary>PEM client certificate presented to the upstream (with keyFile), for upstreams that require one.</summary>
    public string CertificateFile { get; set; } = "";

    /// <summary>PEM private key of certificateFile.</summary>
    public string KeyFile { get; set; } = "";

    /// <summary>Name sent as SNI and checked against the upstream's certificate. Empty: the host of upstream.url.</summary>
    public string ServerName { get; set; } = "";

    /// <summary>Lowest TLS version accepted: "1.2" (default) or "1.3".</summary>
    public string MinVersion { get; set; } = "1.2";
}
