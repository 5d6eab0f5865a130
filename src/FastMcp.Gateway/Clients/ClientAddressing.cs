using FastMcp.Gateway.Configuration;
using FastMcp.Http;

namespace FastMcp.Gateway.Clients;

/// <summary>The clientAddress settings, parsed once: which peers are believed, through which header, and PROXY protocol.</summary>
internal sealed class ClientAddressing
{
    public ClientAddressing(ClientAddressOptions options)
    {
        TrustedProxies = TrustedProxies.Parse(options.TrustedProxies, "clientAddress.trustedProxies");
        Header = Parse(options.ForwardedHeader);
        ProxyProtocol = options.ProxyProtocol;
        ProxyProtocolTimeoutMs = options.ProxyProtocolTimeoutMs;
    }

    public TrustedProxies TrustedProxies { get; }
    public KnownHeader Header { get; }
    public bool ProxyProtocol { get; }
    public int ProxyProtocolTimeoutMs { get; }

    public static KnownHeader Parse(string? header) => header?.ToLowerInvariant() switch
    {
        "x-forwarded-for" => KnownHeader.XForwardedFor,
        "forwarded" => KnownHeader.Forwarded,
        _ => throw new ConfigurationException("clientAddress.forwardedHeader", "must be \"x-forwarded-for\" or \"forwarded\""),
    };

    public static void Validate(ClientAddressOptions? o)
    {
        if (o is null) throw new ConfigurationException("clientAddress", "must be an object");
        if (o.TrustedProxies is null) throw new ConfigurationException("clientAddress.trustedProxies", "must be a list");
        TrustedProxies.Parse(o.TrustedProxies, "clientAddress.trustedProxies");
        Parse(o.ForwardedHeader);
        if (o.ProxyProtocolTimeoutMs is < 100 or > 60_000)
            throw new ConfigurationException("clientAddress.proxyProtocolTimeoutMs", "must be between 100 and 60000");
    }
}
