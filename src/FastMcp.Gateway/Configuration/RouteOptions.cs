namespace FastMcp.Gateway.Configuration;

/// <summary>
/// One MCP endpoint path of the gateway and the named upstream it forwards to, or the upstreams it federates
/// (docs/configuration.md, "Routes and federation"). Exactly one of Upstream and Federate is set.
/// </summary>
public sealed class RouteOptions
{
    /// <summary>Path clients use, e.g. "/mcp/github"; compared byte for byte with the request path (no query).</summary>
    public string Path { get; set; } = "";

    /// <summary>Name of the upstream (a key of "upstreams") the path forwards to.</summary>
    public string Upstream { get; set; } = "";

    /// <summary>Names of upstreams merged behind this one path: the gateway holds the session and prefixes tool and prompt names.</summary>
    public List<string>? Federate { get; set; }

    /// <summary>Between an upstream's name and its tool or prompt names on a federated path ("github__create_issue").</summary>
    public string Separator { get; set; } = "__";
}
