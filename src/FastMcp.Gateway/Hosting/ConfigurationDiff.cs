using System.Text.Json;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Hosting;

/// <summary>
/// What a reload changed, field by field, and which of those changes the running gateway can take.
/// The comparison is of the two files as loaded (command-line overrides are not in either), by the
/// fields' JSON paths, so every field is covered, including ones added later (which default to
/// "restart required": only fields listed here as live are applied without a restart).
/// </summary>
internal static class ConfigurationDiff
{
    /// <summary>Fields read at each use from the options in force, so copying the new value applies it.</summary>
    private static readonly string[] LiveFields =
    [
        "timeouts.requestHeadersMs", "timeouts.requestBodyMs", "timeouts.keepAliveMs", "timeouts.firstRequestMs",
        "timeouts.clientWriteMs", "timeouts.shutdownMs",
        // Not maxHeaderCount (each connection's header table is sized at its start) nor maxResponseMessageBytes
        // (the upstream pipes' thresholds are set at start): those need a restart.
        "limits.maxHeadBytes", "limits.maxTargetLength", "limits.maxChunkLineBytes", "limits.maxTrailerBytes",
        "log.level", "log.format",
    ];

    /// <summary>The paths of the fields that differ ("upstream.url", "listen", "policy"); arrays count as one field.</summary>
    public static List<string> ChangedFields(GatewayOptions before, GatewayOptions after)
    {
        using JsonDocument a = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(before, GatewayJsonContext.Default.GatewayOptions));
        using JsonDocument b = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(after, GatewayJsonContext.Default.GatewayOptions));
        var changed = new List<string>();
        Compare(a.RootElement, b.RootElement, "", changed);
        return changed;
    }

    /// <summary>Fields of every upstream ("upstream.X", "upstreams.NAME.X") read at each use, so copying applies them.</summary>
    private static readonly string[] LiveUpstreamFields = ["connectTimeoutMs", "responseTimeoutMs", "maxIdleConnections", "forwardCookies", "forwardHeaders"];

    /// <summary>True for the policy (swapped by the reloader) and the fields applied by <see cref="ApplyLive"/>.</summary>
    public static bool IsLive(string field) =>
        field == "policy" || field.StartsWith("policy.", StringComparison.Ordinal) || Array.IndexOf(LiveFields, field) >= 0
        || (UpstreamField(field, out _, out string? rest) && Array.IndexOf(LiveUpstreamFields, rest) >= 0);

    /// <summary>
    /// Splits "upstream.url" into ("default", "url") and "upstreams.github.url" into ("github", "url"): the upstream's
    /// name as routes, rules and metrics call it, and the field within it.
    /// </summary>
    public static bool UpstreamField(string field, out string name, out string rest)
    {
        name = rest = "";
        if (field.StartsWith("upstream.", StringComparison.Ordinal))
        {
            name = Configuration.RouteValidation.DefaultUpstreamName;
            rest = field["upstream.".Length..];
            return true;
        }
        if (!field.StartsWith("upstreams.", StringComparison.Ordinal)) return false;
        int dot = field.IndexOf('.', "upstreams.".Length);
        if (dot < 0) return false;
        name = field["upstreams.".Length..dot];
        rest = field[(dot + 1)..];
        return true;
    }

    /// <summary>The options of the upstream named <paramref name="name"/> in <paramref name="o"/>, or null.</summary>
    public static UpstreamOptions? UpstreamNamed(GatewayOptions o, string name) =>
        name == Configuration.RouteValidation.DefaultUpstreamName ? o.Upstream
        : o.Upstreams is { } named && named.TryGetValue(name, out UpstreamOptions? u) ? u : null;

    /// <summary>Copies the live fields' new values into the options in force (each an atomic int/long/reference write).</summary>
    public static void ApplyLive(GatewayOptions inForce, GatewayOptions loaded)
    {
        TimeoutOptions t = inForce.Timeouts, n = loaded.Timeouts;
        t.RequestHeadersMs = n.RequestHeadersMs;
        t.RequestBodyMs = n.RequestBodyMs;
        t.KeepAliveMs = n.KeepAliveMs;
        t.FirstRequestMs = n.FirstRequestMs;
        t.ClientWriteMs = n.ClientWriteMs;
        t.ShutdownMs = n.ShutdownMs;
        FastMcp.Http.HttpLimits l = inForce.Limits, m = loaded.Limits;
        l.MaxHeadBytes = m.MaxHeadBytes;
        l.MaxTargetLength = m.MaxTargetLength;
        l.MaxChunkLineBytes = m.MaxChunkLineBytes;
        l.MaxTrailerBytes = m.MaxTrailerBytes;
        CopyUpstreamSettings(inForce.Upstream, loaded.Upstream);
        if (inForce.Upstreams is { } running && loaded.Upstreams is { } reloaded)
        {
            foreach ((string name, UpstreamOptions u) in running)
            {
                if (reloaded.TryGetValue(name, out UpstreamOptions? next) && next is not null) CopyUpstreamSettings(u, next);
            }
        }
        inForce.Log.Level = loaded.Log.Level;
        inForce.Log.Format = loaded.Log.Format;
        Log.Apply(inForce.Log);
    }

    private static void CopyUpstreamSettings(UpstreamOptions inForce, UpstreamOptions loaded)
    {
        inForce.ConnectTimeoutMs = loaded.ConnectTimeoutMs;
        inForce.ResponseTimeoutMs = loaded.ResponseTimeoutMs;
        inForce.MaxIdleConnections = loaded.MaxIdleConnections;
        // Read at each request and answer (UpstreamPool.ForwardsCookies, ResponseRelay): the next exchange follows it.
        inForce.ForwardCookies = loaded.ForwardCookies;
        // A new list (a reference write): the pool compiles it at the next request (UpstreamPool.ForwardedHeaders).
        inForce.ForwardHeaders = loaded.ForwardHeaders;
    }

    private static void Compare(JsonElement a, JsonElement b, string path, List<string> changed)
    {
        if (a.ValueKind == JsonValueKind.Object && b.ValueKind == JsonValueKind.Object)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty p in a.EnumerateObject())
            {
                seen.Add(p.Name);
                string child = path.Length == 0 ? p.Name : path + "." + p.Name;
                if (b.TryGetProperty(p.Name, out JsonElement other)) Compare(p.Value, other, child, changed);
                else changed.Add(child);
            }
            foreach (JsonProperty p in b.EnumerateObject())
                if (!seen.Contains(p.Name)) changed.Add(path.Length == 0 ? p.Name : path + "." + p.Name);
            return;
        }
        if (a.ValueKind != b.ValueKind || a.GetRawText() != b.GetRawText()) changed.Add(path);
    }
}
