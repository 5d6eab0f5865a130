namespace FastMcp.Gateway.Configuration;

/// <summary>What /metrics labels by name (label values stay bounded: anything not listed is "other").</summary>
public sealed class MetricsOptions
{
    /// <summary>Tool names that get their own tool label in fastmcp_tool_calls_total; other tools count as "other".</summary>
    public List<string> Tools { get; set; } = [];
}
