using System.Buffers;
using System.Text;
using System.Text.Json;
using FastMcp.Text;

namespace FastMcp.Gateway.Cli;

/// <summary>
/// `tools diff` for a reader: a line per upstream, a line per tool that differs, a line per member that changed, and a
/// last line saying drift or none. Everything the upstream or a file chose (tool and member names, descriptions, schema
/// values) is written through <see cref="PrintableText"/>, string values quoted; a name that is not ASCII or looks like
/// another carries ToolNameSkeleton's flag.
/// </summary>
internal static class ToolsDiffText
{
    public static void Write(ToolsDiffReport report, string? definitionsPath, TextWriter stdout)
    {
        int differing = 0, drifting = 0;
        foreach (UpstreamDrift u in report.Upstreams)
        {
            var sb = new StringBuilder();
            sb.Append("upstream ");
            Quoted(sb, u.Name);
            if (u.NotPinnedByGateway == true)
            {
                sb.Append(": named in ");
                PrintableText.Append(sb, report.Pins);
                sb.Append(", but the gateway does not pin it (its toolPins mode is off, or there is no such upstream): nothing compared");
                stdout.WriteLine(sb.ToString());
                drifting++;
                continue;
            }
            if (u.Mode is not null)
            {
                sb.Append(" (");
                PrintableText.Append(sb, u.Mode);
                sb.Append(')');
            }
            sb.Append(": ").Append(u.New.Count).Append(" new, ").Append(u.Gone.Count).Append(" gone, ").Append(u.Changed.Count).Append(" changed, ")
                .Append(u.Unchanged).Append(" unchanged");
            stdout.WriteLine(sb.ToString());
            if (u.NotInPinsFile == true && u.Seen > 0)
                stdout.WriteLine(PrintableText.Escape($"  not named in {report.Pins}: every tool of it is new (enforce withholds them all)"));
            if (u.Seen == 0 && u.Gone.Count > 0)
                stdout.WriteLine("  no tools seen on it since the gateway started (list its tools through the gateway first)");
            if (u.NotKept > 0)
                stdout.WriteLine($"  {u.NotKept} tool definition(s) seen were not kept by the gateway (past its bound): those tools are not compared");

            foreach (NewTool t in u.New)
            {
                sb.Clear().Append("  new      ");
                Quoted(sb, t.Name);
                sb.Append("  ").Append(t.Digest);
                Flags(sb, t);
                if (t.DefinitionOmitted == true) sb.Append("  (the gateway did not keep its definition: it cannot be reviewed from /tools/observed)");
                stdout.WriteLine(sb.ToString());
            }
            foreach (GoneTool t in u.Gone)
            {
                sb.Clear().Append("  gone     ");
                Quoted(sb, t.Name);
                sb.Append("  pinned ").Append(t.Pin);
                stdout.WriteLine(sb.ToString());
            }
            foreach (ChangedTool t in u.Changed)
            {
                sb.Clear().Append("  changed  ");
                Quoted(sb, t.Name);
                sb.Append("  pinned ").Append(t.Pinned).Append(", seen ").Append(t.Seen);
                stdout.WriteLine(sb.ToString());
                if (t.NotShown is { } why)
                {
                    sb.Clear().Append("      what changed is not shown: ");
                    PrintableText.Append(sb, why);
                    stdout.WriteLine(sb.ToString());
                }
                foreach (MemberChange c in t.Changes ?? [])
                {
                    sb.Clear().Append("      ");
                    Path(sb, c.Path);
                    sb.Append(": ");
                    if (c.Old is null) sb.Append("added ");
                    else if (c.New is null) sb.Append("removed ");
                    if (c.Old is { } old) Value(sb, old);
                    if (c.Old is not null && c.New is not null) sb.Append(" → ");
                    if (c.New is { } now) Value(sb, now);
                    stdout.WriteLine(sb.ToString());
                }
                if (t.ChangesNotListed is { } more) stdout.WriteLine($"      and {more} more change(s)");
            }
            differing += u.New.Count + u.Gone.Count + u.Changed.Count;
            if (u.Drift) drifting++;
        }
        string pins = PrintableText.Escape(report.Pins);
        if (report.Drift)
        {
            string hint = definitionsPath is null && HasChanged(report) ? " (--definitions FILE shows what changed in each changed tool)" : "";
            stdout.WriteLine($"drift: {differing} tool(s) differ from {pins} on {drifting} of {report.Upstreams.Count} upstream(s){hint}");
        }
        else
        {
            stdout.WriteLine($"no drift: every tool of {report.Upstreams.Count} upstream(s) is as pinned in {pins}");
        }
    }

    private static bool HasChanged(ToolsDiffReport report)
    {
        foreach (UpstreamDrift u in report.Upstreams)
            if (u.Changed.Count > 0) return true;
        return false;
    }

    private static void Quoted(StringBuilder sb, string name)
    {
        sb.Append('\'');
        PrintableText.Append(sb, name);
        sb.Append('\'');
    }

    // The skeleton flag of a name that is not ASCII, and every pinned or seen name it looks like that the flag does not name already.
    private static void Flags(StringBuilder sb, NewTool t)
    {
        var said = new StringBuilder();
        if (t.NotAscii is { } flag) said.Append(flag);
        foreach (string other in t.LooksLike ?? [])
        {
            string likeThis = $"looks like '{other}'";
            if (t.NotAscii is { } f && f.Contains(likeThis, StringComparison.Ordinal)) continue;
            if (said.Length > 0) said.Append("; ");
            said.Append(likeThis);
        }
        if (said.Length == 0) return;
        sb.Append("  [");
        PrintableText.Append(sb, said.ToString());
        sb.Append(']');
    }

    // inputSchema.properties.bcc; a member name that is not a plain identifier is quoted: ["a.b"].
    private static void Path(StringBuilder sb, List<string> path)
    {
        for (int i = 0; i < path.Count; i++)
        {
            string member = path[i];
            if (IsPlain(member))
            {
                if (i > 0) sb.Append('.');
                sb.Append(member);
            }
            else
            {
                sb.Append("[\"");
                PrintableText.Append(sb, member, quote: true);
                sb.Append("\"]");
            }
        }
    }

    private static bool IsPlain(string member)
    {
        if (member.Length == 0 || char.IsAsciiDigit(member[0])) return false;
        foreach (char c in member)
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '$' or '-')) return false;
        return true;
    }

    // A string as a quoted string; anything else as its compact JSON text.
    private static void Value(StringBuilder sb, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.String)
        {
            sb.Append('"');
            PrintableText.Append(sb, value.GetString(), quote: true);
            sb.Append('"');
            return;
        }
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer)) value.WriteTo(writer);
        PrintableText.Append(sb, Encoding.UTF8.GetString(buffer.WrittenSpan));
    }
}
