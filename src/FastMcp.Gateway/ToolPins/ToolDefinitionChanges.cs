using System.Text.Json;

namespace FastMcp.Gateway.ToolPins;

/// <summary>One member of a tool definition that differs between the reviewed and the seen definition.</summary>
/// <param name="Path">the member names from the tool object down (["inputSchema", "properties", "bcc"])</param>
/// <param name="Old">the reviewed value; null when the member was added</param>
/// <param name="New">the seen value; null when the member was removed</param>
internal sealed record ToolMemberChange(List<string> Path, JsonElement? Old, JsonElement? New)
{
    public string Kind => Old is null ? "added" : New is null ? "removed" : "changed";
}

/// <summary>
/// What changed between two definitions of a tool, member by member: objects are walked into (so a schema property
/// added, removed or changed is named by its path), anything else (strings, numbers, arrays such as "required") is
/// compared as a whole value. Members of each object in ordinal order of their names, so the same two definitions
/// always give the same list.
/// </summary>
internal static class ToolDefinitionChanges
{
    /// <summary>Objects nested deeper than this are compared whole (a hostile schema cannot make the walk deep).</summary>
    public const int MaxDepth = 32;

    public static List<ToolMemberChange> Between(JsonElement reviewed, JsonElement seen)
    {
        var changes = new List<ToolMemberChange>();
        Walk([], reviewed, seen, changes);
        return changes;
    }

    private static void Walk(List<string> path, JsonElement old, JsonElement now, List<ToolMemberChange> changes)
    {
        if (old.ValueKind != JsonValueKind.Object || now.ValueKind != JsonValueKind.Object || path.Count >= MaxDepth)
        {
            if (!JsonElement.DeepEquals(old, now)) changes.Add(new ToolMemberChange(path, old, now));
            return;
        }
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty p in old.EnumerateObject()) names.Add(p.Name);
        foreach (JsonProperty p in now.EnumerateObject()) names.Add(p.Name);
        foreach (string name in names)
        {
            List<string> at = [.. path, name];
            bool had = old.TryGetProperty(name, out JsonElement before);
            bool has = now.TryGetProperty(name, out JsonElement after);
            if (!had) changes.Add(new ToolMemberChange(at, null, after));
            else if (!has) changes.Add(new ToolMemberChange(at, before, null));
            else Walk(at, before, after, changes);
        }
    }
}
