using System.Globalization;
using System.Text;
using System.Text.Json;
using FastMcp.Audit.Cli;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Replay;
using FastMcp.Text;

namespace FastMcp.Audit;

/// <summary>
/// `fastmcp replay LOCATION [--key PUB.pem] [--session S] [--user SUBJECT] [--tool NAME] [--type TYPE]
/// [--since TIME] [--until TIME] [--chain ID] [--format text|jsonl] [--payloads]`: the ordered timeline of
/// what happened, with identities, decisions and masked payloads. With --key the log is verified while
/// read and the exit code is 1 if it is not intact.
/// </summary>
public static class ReplayCommand
{
    public const string Usage = """
        usage: replay LOCATION [--key PUBLIC.pem [--show-unverified]] [--session ID] [--user SUBJECT] [--tool NAME] [--type EVENT]
                              [--since TIME] [--until TIME] [--chain ID] [--format text|jsonl] [--payloads]
        TIME is ISO 8601 UTC (2026-11-23T10:00:00Z); --format jsonl writes one record per line for SIEM ingestion.
        With --key the log is verified before anything is printed: if it does not verify, no record is shown
        (exit 1) unless --show-unverified, which prints every record marked verified or UNVERIFIED.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (Array.IndexOf(args, "--help") >= 0 || (args.Length == 1 && args[0] == "help"))
        {
            stdout.WriteLine(Usage);
            return 0;
        }
        try
        {
            var a = CliArguments.Parse(args,
                StoreArguments.Concat(["key", "session", "user", "tool", "type", "since", "until", "chain", "format"], StoreArguments.Valued),
                StoreArguments.Concat(["payloads", "show-unverified"], StoreArguments.Flags));
            if (a.Positional.Count != 1) throw new UsageException("exactly one LOCATION expected");
            string format = a.Get("format") ?? "text";
            if (format is not ("text" or "jsonl")) throw new UsageException("--format must be text or jsonl");
            var filter = new ReplayFilter
            {
                Session = a.Get("session"),
                User = a.Get("user"),
                Tool = a.Get("tool"),
                Type = a.Get("type"),
                SinceMicros = ParseTime(a.Get("since"), "since"),
                UntilMicros = ParseTime(a.Get("until"), "until"),
            };
            using var key = a.Get("key") is { } keyPath ? AuditPublicKey.FromPemFile(keyPath) : null;
            using var store = StoreArguments.Open(a.Positional[0], a);
            if (a.Has("show-unverified") && key is null) throw new UsageException("--show-unverified needs --key");
            var (entries, report) = await TimelineReader.ReadAsync(store, a.Positional[0], key, filter, a.Get("chain")).ConfigureAwait(false);
            // Verified first, printed after: a forged record must never reach a SIEM looking like any other.
            if (report is not null && !report.Valid && !a.Has("show-unverified"))
            {
                stderr.WriteLine(PrintableText.Escape($"replay: the log does not verify: {(report.FirstError is { } first ? Verification.ReportWriter.Describe(first) : "no segments")}"));
                stderr.WriteLine(PrintableText.Escape($"replay: no records shown ({entries.Count} matched); run fastmcp-verify for the full report, or pass --show-unverified to print them marked"));
                return 1;
            }
            foreach (var e in entries)
            {
                if (format == "jsonl") WriteJsonLine(e, stdout);
                else WriteText(e, stdout, a.Has("payloads"));
            }
            if (report is null)
            {
                stderr.WriteLine(PrintableText.Escape($"replay: {entries.Count} records (not verified: pass --key to verify while replaying)"));
                return 0;
            }
            if (!report.Valid)
            {
                stderr.WriteLine(PrintableText.Escape($"replay: WARNING: the log does not verify: {(report.FirstError is { } f ? Verification.ReportWriter.Describe(f) : "no segments")}"));
                return 1;
            }
            stderr.WriteLine(PrintableText.Escape($"replay: {entries.Count} records; log verified"));
            return 0;
        }
        catch (UsageException e)
        {
            stderr.WriteLine(PrintableText.Escape("replay: " + e.Message));
            stderr.WriteLine(Usage);
            return 2;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            stderr.WriteLine(PrintableText.Escape("replay: error: " + (Shipping.StoreProblem.IsRefusedHandshake(e) ? Shipping.StoreProblem.UntrustedCertificateCli : FastMcp.Http.PlainError.Describe(e))));
            return 2;
        }
    }

    private static long? ParseTime(string? value, string name)
    {
        if (value is null) return null;
        if (!DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t))
            throw new UsageException($"--{name} is not an ISO 8601 time");
        return NoteValues.ToUnixMicros(t);
    }

    private static void WriteJsonLine(ReplayEntry e, TextWriter output)
    {
        var line = new System.Buffers.ArrayBufferWriter<byte>(e.Json.Length + 64);
        ReplayJsonLine.Write(line, e.Chain, segment: null, e.Verified, e.Json);
        output.WriteLine(Encoding.UTF8.GetString(line.WrittenSpan));
    }

    private static void WriteText(ReplayEntry e, TextWriter output, bool payloads)
    {
        using var doc = JsonDocument.Parse(e.Json);
        var r = doc.RootElement;
        var line = new StringBuilder();
        if (e.Verified == false) line.Append("[UNVERIFIED] ");
        line.Append(NoteValues.Time(e.TimeMicros)).Append(' ').Append(e.Chain).Append('#').Append(e.Sequence).Append(' ');
        line.Append(Str(r, "type")).Append(r.TryGetProperty("success", out var ok) && ok.ValueKind == JsonValueKind.True ? " ok" : " FAILED");
        // A request the upstream sent the client (on an event stream) says so first: every other record is the client's.
        if (Str(r, "direction") is { } direction) line.Append(direction == "serverToClient" ? " server->client" : " direction=" + direction);
        if (r.TryGetProperty("user", out var user))
        {
            line.Append(" user=").Append(Str(user, "subject") ?? "-");
            if (user.TryGetProperty("groups", out var groups)) line.Append(" groups=").Append(groups.GetRawText());
            if (Str(user, "client") is { } client) line.Append(" client=").Append(client);
        }
        if (r.TryGetProperty("origin", out var origin))
        {
            if (Str(origin, "address") is { } addr) line.Append(" from=").Append(addr);
            if (Str(origin, "hop") is { } hop) line.Append(" via=").Append(hop);
            if (origin.TryGetProperty("certificate", out var cert) && Str(cert, "subject") is { } certSubject) line.Append(" cert=\"").Append(certSubject).Append('"');
            if (origin.TryGetProperty("mcpClient", out var mc)) line.Append(" mcp-client=").Append(Str(mc, "name")).Append('/').Append(Str(mc, "version"));
        }
        if (r.TryGetProperty("component", out var comp))
        {
            if (Str(comp, "upstream") is { } up) line.Append(" upstream=").Append(up);
            if (Str(comp, "upstreamName") is { } upName) line.Append(" upstream-name=").Append(upName);
            if (Str(comp, "method") is { } m) line.Append(" method=").Append(m);
            if (Str(comp, "target") is { } t) line.Append(" target=").Append(t);
            if (Str(comp, "query") is { } q) line.Append(" query=?").Append(q);
            // What else the upstream got: quoted, since a forwarded value may hold spaces (its ',' and '%' are escaped).
            if (Str(comp, "headers") is { } h) line.Append(" headers=\"").Append(h).Append('"');
            if (Str(comp, "cookies") is { } c) line.Append(" cookies=\"").Append(c).Append('"');
        }
        if (Str(r, "session") is { } session) line.Append(" session=").Append(session);
        if (r.TryGetProperty("jsonrpcId", out var id)) line.Append(" id=").Append(id.GetRawText());
        if (Str(r, "decision") is { } d) line.Append(" decision=").Append(d);
        if (Str(r, "rule") is { } rule) line.Append(" rule=").Append(rule);
        if (Str(r, "approver") is { } ap) line.Append(" approver=").Append(ap);
        if (r.TryGetProperty("httpStatus", out var hs)) line.Append(" http=").Append(hs.GetRawText());
        if (r.TryGetProperty("latencyUs", out var lat)) line.Append(" latency=").Append(lat.GetRawText()).Append("us");
        if (r.TryGetProperty("cardFingerprints", out var cards)) line.Append(" cards=").Append(cards.GetArrayLength());
        if (Str(r, "detail") is { } detail) line.Append(" detail=\"").Append(detail).Append('"');
        // Record fields hold what peers chose (a tool name, a subject): escaped, so none ends the line or drives the terminal.
        output.WriteLine(PrintableText.Escape(line.ToString()));
        if (payloads)
        {
            if (r.TryGetProperty("request", out var req)) output.WriteLine(PrintableText.Escape("    request:  " + req.GetRawText()));
            else if (r.TryGetProperty("requestTruncated", out var reqCut)) output.WriteLine(PrintableText.Escape("    request:  " + Truncated(reqCut)));
            else if (Str(r, "requestNotJsonBase64") is { } reqRaw) output.WriteLine(PrintableText.Escape("    request:  (not JSON, base64) " + reqRaw));
            if (r.TryGetProperty("response", out var resp)) output.WriteLine(PrintableText.Escape("    response: " + resp.GetRawText()));
            else if (r.TryGetProperty("responseTruncated", out var respCut)) output.WriteLine(PrintableText.Escape("    response: " + Truncated(respCut)));
            else if (Str(r, "responseNotJsonBase64") is { } respRaw) output.WriteLine(PrintableText.Escape("    response: (not JSON, base64) " + respRaw));
        }
    }

    /// <summary>A payload the record holds only in part (over the record limit): says so, with its size and hash, not the head.</summary>
    private static string Truncated(JsonElement cut)
    {
        string length = cut.TryGetProperty("length", out var l) ? l.GetRawText() : "?";
        string sha256 = Str(cut, "sha256") ?? "?";
        int head = Str(cut, "head") is { } h ? h.Length / 4 * 3 : 0;
        return $"(truncated: {length} bytes, sha256 {sha256}; the record holds about the first {head} bytes, base64 in \"head\")";
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
}
