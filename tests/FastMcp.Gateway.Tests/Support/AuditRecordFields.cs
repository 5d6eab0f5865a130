using System.Text.Json;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>Reading audit records (as StopAndReadAuditAsync returns them) in assertions.</summary>
internal static class AuditRecordFields
{
    public static List<JsonElement> Parse(string[] records) => [.. records.Select(r => JsonDocument.Parse(r).RootElement.Clone())];

    /// <summary>The record's component.method, if any.</summary>
    public static string? Method(JsonElement r) => r.TryGetProperty("component", out var c) && c.TryGetProperty("method", out var m) ? m.GetString() : null;

    /// <summary>A top-level string field of the record, if any.</summary>
    public static string? Field(JsonElement r, string name) => r.TryGetProperty(name, out var v) ? v.GetString() : null;
}
