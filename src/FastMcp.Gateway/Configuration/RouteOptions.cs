namespace FastMcp.Gateway.Configuration;

/// <summary>One MCP endpoint path of the gateway and the named upstream it forwards to (docs/configuration.md, "Routes and federation").</summary>
public sealed class RouteOptions
{
    /// <summary>Path clients use, e.g. "/mcp/github"; compared byte for byte with the request path (no query).</summary>
    public string Path { get; set; } = "";

    /// <summary>Name of the upstream (a key of "upstreams") the path forwards to.</summary>
    public string Upstream { get; set; } = "";
}
