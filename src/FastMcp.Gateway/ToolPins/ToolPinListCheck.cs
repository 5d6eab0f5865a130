using System.Buffers;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Stages;
using FastMcp.Mcp;

namespace FastMcp.Gateway.ToolPins;

/// <summary>
/// Compares each tool of a tools/list answer from a pinned upstream with its pin (a response transform, before policy
/// list filtering). Record: mismatches are logged, counted and noted in the exchange's audit record; the answer is
/// relayed unchanged. Enforce: the mismatched tools are withheld the way policy filtering withholds (the rest of the
/// answer, nextCursor included, byte for byte), and an answer that cannot be read is refused. Costs a parse per list answer
/// (rare); answers to other calls are passed on at the price of a method compare.
/// </summary>
internal sealed class ToolPinListCheck(ToolPinning pinning) : IResponseTransform
{
    public bool Apply(Exchange exchange, PooledBufferWriter message, bool isEvent, TransformBuffers buffers)
    {
        if (exchange.Route is not { } route || pinning.For(route.Name) is not { } pins) return true;
        ReadOnlyMemory<byte> json = MessageJson.Of(message, isEvent, buffers);
        if (json.IsEmpty) return true;
        // What comes back for a call that is not tools/list may still carry a list answer under another id (a client routes
        // answers by id, whatever stream or body they come in): looked at only when it names a "tools" member at all.
        if (exchange.HasCall && exchange.Batch is null && exchange.Call.Method != McpMethod.ToolsList && json.Span.IndexOf("\"tools\""u8) < 0) return true;
        bool enforce = pins.Mode == ToolPinMode.Enforce;
        bool expected = exchange.HasCall && exchange.Batch is null && exchange.Call.Method == McpMethod.ToolsList;
        bool success = exchange.ResponseStatus is >= 200 and < 300;

        List<ObservedTool>? tools;
        try
        {
            using JsonDocument document = JsonDocument.Parse(json);
            JsonElement root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                // A batch's answers are not rewritten member by member here: one carrying a tools list is refused when enforcing.
                bool carriesList = false;
                foreach (JsonElement member in root.EnumerateArray())
                    if (ToolsOf(member) is { } memberTools)
                    {
                        carriesList = true;
                        Report(exchange, pins, pins.Observe(memberTools), withheld: false);
                    }
                return !(enforce && carriesList);
            }
            tools = ToolsOf(root);
            if (tools is null)
            {
                // The answer to tools/list that is neither a list nor an error: nothing says which tools a client would take from it.
                bool unreadable = expected && success && root.ValueKind == JsonValueKind.Object && !root.TryGetProperty("error"u8, out _);
                if (unreadable) Unreadable(exchange, pins);
                return !(enforce && unreadable);
            }
        }
        catch (JsonException)
        {
            if (!expected || !success) return true;
            Unreadable(exchange, pins);
            return !enforce;
        }

        List<ToolMismatch> mismatches = pins.Observe(tools);
        if (mismatches.Count == 0) return true;
        Report(exchange, pins, mismatches, withheld: enforce);
        if (!enforce) return true;

        var withheld = new HashSet<string>(StringComparer.Ordinal);
        foreach (ToolMismatch m in mismatches) withheld.Add(m.Name);
        var filter = new WithheldNames(withheld);
        buffers.Output.Clear();
        if (!ListResultFilter.TryFilter(new ReadOnlySequence<byte>(json), McpMethod.ToolsList, ref filter, buffers.Output, out int removed, out ListFilterRefusal refusal))
        {
            exchange.ListRefusal = refusal;
            return false;
        }
        exchange.ListEntriesRemoved += removed;
        MessageJson.Replace(message, isEvent, buffers);
        return true;
    }

    /// <summary>The tools of a success answer carrying result.tools (null when it carries none); entries without a string name are left to the list filter.</summary>
    private static List<ObservedTool>? ToolsOf(JsonElement message)
    {
        if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("result"u8, out JsonElement result) || result.ValueKind != JsonValueKind.Object
            || !result.TryGetProperty("tools"u8, out JsonElement array) || array.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        var tools = new List<ObservedTool>(array.GetArrayLength());
        foreach (JsonElement tool in array.EnumerateArray())
        {
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("name"u8, out JsonElement name) || name.ValueKind != JsonValueKind.String) continue;
            byte[] canonical = ToolDefinitionDigest.Canonical(tool);
            tools.Add(new ObservedTool(name.GetString()!, ToolDefinitionDigest.Of(canonical), canonical));
        }
        return tools;
    }

    /// <summary>Tools a finding names one by one; the rest are counted ("and N more"), so a list of 100,000 tools makes no huge record.</summary>
    public const int MaxNamedInNote = 100;

    /// <summary>What every finding in an exchange's ToolPinNote starts with.</summary>
    public const string NotePrefix = "tool pins: ";

    /// <summary>
    /// A member's findings as the merged answer of a federated path records them: each one naming the member
    /// ("tool pins: upstream 'mail': withheld …"), since that record's upstream is the federated path.
    /// </summary>
    public static string MemberNote(string note, string member) => note.Replace(NotePrefix, $"{NotePrefix}upstream '{member}': ", StringComparison.Ordinal);

    private void Report(Exchange exchange, UpstreamToolPins pins, List<ToolMismatch> mismatches, bool withheld)
    {
        if (mismatches.Count == 0) return;
        var note = new StringBuilder(exchange.ToolPinNote);
        if (note.Length > 0) note.Append("; ");
        // Names come from the upstream: in the record, masked and escaped as the CLIs print them (PrintableText: a control
        // or bidi character shows as its escape); the log line takes them masked only, since the log escapes each line itself.
        AppendFinding(note, mismatches, withheld, escape: true);
        exchange.ToolPinNote = note.ToString();
        if (pinning.LogLimit.TryTake("tool pin mismatch", pins.Name, withheld ? 1 : 0, out int held))
        {
            var line = new StringBuilder();
            AppendFinding(line, mismatches, withheld, escape: false);
            Hosting.Log.Warn($"upstream '{pins.Name}': {line}{Hosting.LogRateLimit.Held(held)}");
        }
    }

    // "tool pins: withheld NAME (tool-definition-changed; pinned D, seen D), …", only so many names (a record or a line of bounded size).
    private static void AppendFinding(StringBuilder sb, List<ToolMismatch> mismatches, bool withheld, bool escape)
    {
        sb.Append(NotePrefix).Append(withheld ? "withheld " : "differ ");
        int named = Math.Min(mismatches.Count, MaxNamedInNote);
        for (int i = 0; i < named; i++)
        {
            ToolMismatch m = mismatches[i];
            if (i > 0) sb.Append(", ");
            // Masked before escaping, so an escape never splits a card number out of the masker's sight.
            string name = CardText.Mask(m.Name);
            if (escape) FastMcp.Text.PrintableText.Append(sb, name);
            else sb.Append(name);
            sb.Append(m.Pinned is null ? " (tool-not-pinned; seen " : " (tool-definition-changed; pinned ").Append(m.Pinned is null ? "" : m.Pinned + ", seen ")
                .Append(m.Seen).Append(')');
        }
        if (named < mismatches.Count) sb.Append(" and ").Append(mismatches.Count - named).Append(" more");
    }

    private void Unreadable(Exchange exchange, UpstreamToolPins pins)
    {
        // Recorded with the answer too: on a federated path the member is left out of the merged list, not the exchange refused.
        string finding = NotePrefix + (pins.Mode == ToolPinMode.Enforce ? "list answer unreadable, withheld" : "list answer unreadable, relayed");
        exchange.ToolPinNote = exchange.ToolPinNote is { } earlier ? $"{earlier}; {finding}" : finding;
        if (pinning.LogLimit.TryTake("tool pin unreadable", pins.Name, 0, out int held))
            Hosting.Log.Warn($"upstream '{pins.Name}': a tools/list answer could not be read to compare with the pins"
                + (pins.Mode == ToolPinMode.Enforce ? "; refused" : "; relayed (record mode)") + Hosting.LogRateLimit.Held(held));
    }

    private readonly struct WithheldNames(HashSet<string> withheld) : IListEntryFilter
    {
        public bool Keep(McpMethod listMethod, scoped ReadOnlySpan<byte> nameUtf8) => !withheld.Contains(Encoding.UTF8.GetString(nameUtf8));
    }
}
