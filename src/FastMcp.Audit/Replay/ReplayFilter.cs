using System.Text.Json;

namespace FastMcp.Audit.Replay;

/// <summary>Which records a replay keeps: any combination of session, user, tool, type and time range.</summary>
public sealed class ReplayFilter
{
    public string? Session { get; init; }
    public string? User { get; init; }
    /// <summary>Matches the affected tool, prompt or resource (component.target).</summary>
    public string? Tool { get; init; }
    public string? Type { get; init; }
    public long? SinceMicros { get; init; }
    public long? UntilMicros { get; init; }

    public bool Matches(long timeMicros, JsonElement record)
    {
        if (SinceMicros is { } since && timeMicros < since) return false;
        if (UntilMicros is { } until && timeMicros >= until) return false;
        // A record that is not JSON (default element) only matches a filter on time.
        if (record.ValueKind == JsonValueKind.Undefined) return Type is null && Session is null && User is null && Tool is null;
        if (Type is not null && !Equal(record, "type", Type)) return false;
        if (Session is not null && !Equal(record, "session", Session)) return false;
        if (User is not null && !(record.TryGetProperty("user", out var u) && Equal(u, "subject", User))) return false;
        if (Tool is not null && !(record.TryGetProperty("component", out var c) && Equal(c, "target", Tool))) return false;
        return true;
    }

    private static bool Equal(JsonElement obj, string name, string value) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String && p.ValueEquals(value);
}
