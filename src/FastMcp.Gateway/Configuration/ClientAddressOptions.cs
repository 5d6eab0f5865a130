namespace FastMcp.Gateway.Configuration;

/// <summary>How the real client address is found when the gateway sits behind proxies or load balancers.</summary>
public sealed class ClientAddressOptions
{
    /// <summary>
    /// Proxies (CIDRs or single addresses) whose forwarding header is believed. A request from any other peer is
    /// taken as coming from the peer itself, whatever its headers say. Empty: no header is ever believed.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>The header the trusted proxies set: "x-forwarded-for" or "forwarded" (RFC 7239). Only that one is read.</summary>
    public string ForwardedHeader { get; set; } = "x-forwarded-for";

    /// <summary>
    /// Every MCP listener expects a PROXY protocol header (v1 text or v2 binary) at the start of each connection; a
    /// connection without a valid one is closed. Only for listeners that a load balancer alone can reach.
    /// </summary>
    public bool ProxyProtocol { get; set; }

    /// <summary>Time a new connection has to send its whole PROXY header.</summary>
    public int ProxyProtocolTimeoutMs { get; set; } = 5_000;
}
