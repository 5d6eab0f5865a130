namespace FastMcp.Gateway.Configuration;

/// <summary>
/// Start-time checks of the TLS settings: every file is read and parsed now (a missing file, an unreadable key or a
/// key that does not match its certificate stops the start with the field named), not at the first connection.
/// </summary>
public static class TlsValidation
{
    public static void ValidateListener(ListenerTlsOptions? tls, ClientAddressOptions? clientAddress)
    {
        if (tls is null) return;
        PemFiles.LoadCertificateWithKey(tls.CertificateFile, tls.KeyFile, "tls.certificateFile", "tls.keyFile").Leaf.Dispose();
        PemFiles.Protocols(tls.MinVersion, "tls.minVersion");
        switch (tls.ClientCertificates)
        {
            case "none":
                if (!string.IsNullOrEmpty(tls.ClientCaFile))
                    throw new ConfigurationException("tls.clientCaFile", "set, but tls.clientCertificates is \"none\": say \"optional\" or \"require\", or remove it");
                break;
            case "optional" or "require":
                if (string.IsNullOrEmpty(tls.ClientCaFile))
                    throw new ConfigurationException("tls.clientCaFile", $"required when tls.clientCertificates is \"{tls.ClientCertificates}\": the CA client certificates must chain to");
                PemFiles.LoadCertificates(tls.ClientCaFile, "tls.clientCaFile");
                break;
            default:
                throw new ConfigurationException("tls.clientCertificates", $"'{tls.ClientCertificates}' is not none, optional or require");
        }
        // The PROXY protocol header comes before the TLS handshake on the wire, and the listener does not read it there.
        if (clientAddress is { ProxyProtocol: true })
            throw new ConfigurationException("tls", "cannot be combined with clientAddress.proxyProtocol: terminate TLS at the proxy, or pass TLS through without the PROXY header");
    }

    public static void ValidateUpstream(UpstreamOptions upstream, string prefix)
    {
        UpstreamTlsOptions? tls = upstream.Tls;
        if (tls is null) throw new ConfigurationException($"{prefix}.tls", "must be an object");
        bool configured = !string.IsNullOrEmpty(tls.CaFile) || !string.IsNullOrEmpty(tls.CertificateFile) || !string.IsNullOrEmpty(tls.KeyFile)
            || !string.IsNullOrEmpty(tls.ServerName) || tls.MinVersion != "1.2";
        if (configured && !string.IsNullOrEmpty(upstream.Url) && !upstream.Url.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
            throw new ConfigurationException($"{prefix}.tls", $"set, but {prefix}.url is not https://: the settings would not be used");
        PemFiles.Protocols(tls.MinVersion, $"{prefix}.tls.minVersion");
        if (!string.IsNullOrEmpty(tls.CaFile)) PemFiles.LoadCertificates(tls.CaFile, $"{prefix}.tls.caFile");
        bool hasCertificate = !string.IsNullOrEmpty(tls.CertificateFile), hasKey = !string.IsNullOrEmpty(tls.KeyFile);
        if (hasCertificate != hasKey)
            throw new ConfigurationException(hasCertificate ? $"{prefix}.tls.keyFile" : $"{prefix}.tls.certificateFile", "a client certificate needs both certificateFile and keyFile");
        if (hasCertificate)
            PemFiles.LoadCertificateWithKey(tls.CertificateFile, tls.KeyFile, $"{prefix}.tls.certificateFile", $"{prefix}.tls.keyFile").Leaf.Dispose();
        if (tls.ServerName.Length > 0 && Uri.CheckHostName(tls.ServerName) != UriHostNameType.Dns)
            throw new ConfigurationException($"{prefix}.tls.serverName", $"'{tls.ServerName}' is not a DNS name");
    }
}
