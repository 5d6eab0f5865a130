namespace FastMcp.Gateway.Configuration;

/// <summary>
/// toolPins: tool definition pinning (docs/policy.md, "Tool definition pinning"). Each upstream's tools/list answers are
/// compared, tool by tool, with the digests in <see cref="File"/>; <see cref="Mode"/> (or the upstream's own entry in
/// <see cref="Upstreams"/>) says what a difference does: off (nothing is read), record (logged, counted, recorded; the list
/// is relayed unchanged) or enforce (the tool is withheld from the list and its calls are refused).
/// </summary>
public sealed class ToolPinOptions
{
    /// <summary>The pins file (JSON: upstream name → tool name → "sha256:…"); required when any upstream enforces.</summary>
    public string? File { get; set; }

    /// <summary>off, record or enforce: for every upstream not named in <see cref="Upstreams"/>.</summary>
    public string Mode { get; set; } = "off";

    /// <summary>Per upstream ("default" or a key of "upstreams"): off, record or enforce.</summary>
    public Dictionary<string, string> Upstreams { get; set; } = new(StringComparer.Ordinal);
}
