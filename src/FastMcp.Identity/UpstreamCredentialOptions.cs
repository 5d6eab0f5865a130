namespace FastMcp.Identity;

/// <summary>
/// The upstream's own credential, injected instead of the client's token (no token passthrough).
/// The value comes from a file (re-read when it changes, e.g. a rotated Kubernetes secret) or an environment variable.
/// </summary>
public sealed class UpstreamCredentialOptions
{
    /// <summary>Header to send; default <c>Authorization</c>.</summary>
    public string HeaderName { get; set; } = "Authorization";
    /// <summary>File holding the value (surrounding whitespace trimmed).</summary>
    public string? ValueFile { get; set; }
    /// <summary>Environment variable holding the value (read once at start).</summary>
    public string? ValueEnv { get; set; }
    /// <summary>Prefix such as <c>Bearer</c>; the header becomes "Scheme value". Empty for a raw header value.</summary>
    public string? Scheme { get; set; } = "Bearer";
    /// <summary>How often the file's timestamp and size are checked.</summary>
    public int FileCheckIntervalMilliseconds { get; set; } = 1000;

    /// <summary>True when a value source is configured.</summary>
    public bool IsConfigured => !string.IsNullOrEmpty(ValueFile) || !string.IsNullOrEmpty(ValueEnv);
}
