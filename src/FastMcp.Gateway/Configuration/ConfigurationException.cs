namespace FastMcp.Gateway.Configuration;

/// <summary>A configuration value that cannot be used; the message names the field.</summary>
public sealed class ConfigurationException(string field, string problem)
    : Exception($"configuration error at '{field}': {problem}")
{
    public string Field { get; } = field;

    /// <summary>The problem without the field (to re-raise with more context).</summary>
    public string Problem { get; } = problem;
}
