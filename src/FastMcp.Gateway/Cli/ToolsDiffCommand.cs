using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.ToolPins;
using FastMcp.Text;

namespace FastMcp.Gateway.Cli;

/// <summary>
/// <c>fastmcp tools diff</c>: compares the tool definitions a running gateway observed (GET /tools/observed) with a pins
/// file, per upstream: new (seen, not pinned), gone (pinned, not seen), changed (another digest; with the reviewed
/// definitions, which members), unchanged (counted). What cannot be compared (definitions the gateway did not keep, an
/// upstream it does not pin) is drift too: the command never says "no drift" about what it could not see.
/// Exit 0 no drift, 1 drift or refused by the gateway, 2 usage, file or connection error.
/// </summary>
internal static class ToolsDiffCommand
{
    /// <summary>Member changes listed per tool; the rest are counted.</summary>
    public const int MaxChangesShown = 100;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        CommandLine cl = CommandLine.Parse(args, ["--pins", "--definitions", "--admin", "--token-file", "--upstream", "--format"], []);
        string pinsPath = cl.Get("--pins") is { Length: > 0 } p ? p : throw new UsageException("tools diff: --pins FILE is required");
        string format = cl.Get("--format") ?? "text";
        if (format is not ("text" or "json")) throw new UsageException($"--format: '{format}' is not text or json");
        string admin = ObservedToolsRequest.AdminUrl(cl);
        IReadOnlyList<string> only = cl.GetAll("--upstream");
        string? token = AdminToken.From(cl);

        // The files first: a typo in a path is said before anything is asked of the gateway.
        Dictionary<string, Dictionary<string, string>> pins;
        try
        {
            pins = ToolPinsFile.Load(pinsPath, upstreams: null);
        }
        catch (ConfigurationException e)
        {
            stderr.WriteLine(PrintableText.Escape($"fastmcp tools diff: --pins: {e.Problem}"));
            return 2;
        }
        string? definitionsPath = cl.Get("--definitions") is { Length: > 0 } d ? d : null;
        ReviewedDefinitions? reviewed = null;
        if (definitionsPath is not null)
        {
            reviewed = ReviewedDefinitions.Load(definitionsPath, out string? problem);
            if (reviewed is null)
            {
                stderr.WriteLine(PrintableText.Escape($"fastmcp tools diff: --definitions: {problem}"));
                return 2;
            }
        }

        using (reviewed)
        {
            (JsonDocument? view, int exit) = await ObservedToolsRequest.GetAsync(admin, token, stderr).ConfigureAwait(false);
            if (view is null) return exit;
            using (view)
            {
                JsonElement upstreams = view.RootElement.GetProperty("upstreams"u8);
                foreach (string name in only)
                    if (!upstreams.TryGetProperty(name, out _) && !pins.ContainsKey(name))
                        throw new UsageException($"--upstream: '{name}' is neither pinned by the gateway nor named in {pinsPath}");
                ToolsDiffReport report;
                try
                {
                    report = Compare(upstreams, pins, pinsPath, reviewed, definitionsPath, only);
                }
                catch (MalformedViewException e)
                {
                    stderr.WriteLine(PrintableText.Escape($"fastmcp tools: {e.Message}"));
                    return 2;
                }
                if (format == "json") stdout.WriteLine(JsonSerializer.Serialize(report, ToolsDiffJsonContext.Default.ToolsDiffReport));
                else ToolsDiffText.Write(report, definitionsPath, stdout);
                return report.Drift ? 1 : 0;
            }
        }
    }

    private static ToolsDiffReport Compare(JsonElement upstreams, Dictionary<string, Dictionary<string, string>> pins, string pinsPath,
        ReviewedDefinitions? reviewed, string? definitionsPath, IReadOnlyList<string> only)
    {
        var report = new ToolsDiffReport { Pins = pinsPath };
        foreach (JsonProperty upstream in upstreams.EnumerateObject())
        {
            if (only.Count > 0 && !only.Contains(upstream.Name)) continue;
            pins.TryGetValue(upstream.Name, out Dictionary<string, string>? pinned);
            report.Upstreams.Add(CompareUpstream(upstream.Name, upstream.Value, pinned, reviewed, definitionsPath));
        }
        var names = new List<string>(pins.Keys);
        names.Sort(StringComparer.Ordinal);
        foreach (string name in names)
        {
            if (upstreams.TryGetProperty(name, out _) || (only.Count > 0 && !only.Contains(name))) continue;
            // Pinned in the file, not by the gateway: nothing of it was compared, so nothing can be said to match.
            report.Upstreams.Add(new UpstreamDrift { Name = name, NotPinnedByGateway = true, Drift = true });
        }
        foreach (UpstreamDrift u in report.Upstreams) report.Drift |= u.Drift;
        return report;
    }

    private static UpstreamDrift CompareUpstream(string name, JsonElement observed, Dictionary<string, string>? pinned, ReviewedDefinitions? reviewed, string? definitionsPath)
    {
        var drift = new UpstreamDrift
        {
            Name = name,
            Mode = observed.ValueKind == JsonValueKind.Object && observed.TryGetProperty("mode"u8, out JsonElement mode) && mode.ValueKind == JsonValueKind.String ? mode.GetString() : null,
            NotInPinsFile = pinned is null ? true : null,
        };
        pinned ??= new Dictionary<string, string>(StringComparer.Ordinal);
        if (observed.ValueKind != JsonValueKind.Object) throw new MalformedViewException($"upstream '{name}' is not an object in the gateway's answer");
        if (observed.TryGetProperty("notKept"u8, out JsonElement notKept) && notKept.TryGetInt64(out long dropped) && dropped > 0) drift.NotKept = dropped;

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var lookAlikes = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        if (observed.TryGetProperty("tools"u8, out JsonElement tools) && tools.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty tool in tools.EnumerateObject()) seen.Add(tool.Name);
            foreach (string n in seen) AddSkeleton(lookAlikes, n);
            foreach (string n in pinned.Keys) if (!seen.Contains(n)) AddSkeleton(lookAlikes, n);

            foreach (JsonProperty tool in tools.EnumerateObject())
            {
                string? digest = tool.Value.ValueKind == JsonValueKind.Object && tool.Value.TryGetProperty("digest"u8, out JsonElement dg) && dg.ValueKind == JsonValueKind.String ? dg.GetString() : null;
                if (!ToolDefinitionDigest.IsWellFormed(digest)) throw new MalformedViewException($"upstream '{name}' tool '{tool.Name}' has no well-formed digest");
                bool omitted = tool.Value.TryGetProperty("definitionOmitted"u8, out JsonElement o) && o.ValueKind == JsonValueKind.True;
                if (!pinned.TryGetValue(tool.Name, out string? pin))
                {
                    var added = new NewTool { Name = tool.Name, Digest = digest!, NotAscii = ToolNameSkeleton.Flag(tool.Name), DefinitionOmitted = omitted ? true : null };
                    foreach (string other in lookAlikes[ToolNameSkeleton.Of(tool.Name)])
                        if (other != tool.Name) (added.LooksLike ??= []).Add(other);
                    drift.New.Add(added);
                }
                else if (pin != digest)
                {
                    var changed = new ChangedTool { Name = tool.Name, Pinned = pin, Seen = digest! };
                    if (reviewed is not null) Explain(changed, name, tool.Value, omitted, reviewed, definitionsPath!);
                    drift.Changed.Add(changed);
                }
                else
                {
                    drift.Unchanged++;
                }
            }
        }
        drift.Seen = seen.Count;
        var gone = new List<string>();
        foreach (string n in pinned.Keys) if (!seen.Contains(n)) gone.Add(n);
        gone.Sort(StringComparer.Ordinal);
        foreach (string n in gone) drift.Gone.Add(new GoneTool { Name = n, Pin = pinned[n] });
        drift.Drift = drift.New.Count + drift.Gone.Count + drift.Changed.Count > 0 || drift.NotKept > 0;
        return drift;
    }

    private static void AddSkeleton(Dictionary<string, List<string>> bySkeleton, string name)
    {
        string skeleton = ToolNameSkeleton.Of(name);
        if (!bySkeleton.TryGetValue(skeleton, out List<string>? names)) bySkeleton[skeleton] = names = [];
        names.Add(name);
    }

    // What changed, member by member; when it cannot be shown, why (never an empty list that would read as "nothing changed").
    private static void Explain(ChangedTool changed, string upstream, JsonElement tool, bool omitted, ReviewedDefinitions reviewed, string definitionsPath)
    {
        if (omitted || !tool.TryGetProperty("definition"u8, out JsonElement now) || now.ValueKind != JsonValueKind.Object)
        {
            changed.NotShown = "the gateway did not keep the definition it saw (past its bound on kept definitions)";
            return;
        }
        if (reviewed.Find(upstream, changed.Name) is not { } before)
        {
            changed.NotShown = $"{definitionsPath} holds no reviewed definition of it";
            return;
        }
        List<ToolMemberChange> changes = ToolDefinitionChanges.Between(before, now);
        if (changes.Count == 0)
        {
            changed.NotShown = $"its definition in {definitionsPath} is the one seen ({definitionsPath} is not the review of these pins, or the difference is in a card number both show masked)";
            return;
        }
        changed.Changes = [];
        for (int i = 0; i < changes.Count && i < MaxChangesShown; i++)
        {
            ToolMemberChange c = changes[i];
            changed.Changes.Add(new MemberChange { Path = c.Path, Change = c.Kind, Old = c.Old, New = c.New });
        }
        if (changes.Count > MaxChangesShown) changed.ChangesNotListed = changes.Count - MaxChangesShown;
    }

    /// <summary>An answer of the gateway that is not the /tools/observed view: a connection-level error (exit 2), not drift.</summary>
    private sealed class MalformedViewException(string message) : Exception(message);
}
