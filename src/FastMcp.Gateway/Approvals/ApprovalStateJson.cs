using System.Buffers;
using System.Text.Json;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Approvals;

/// <summary>
/// A verified state file body: its approvals, the generation it was written as, and the audit chain that recorded it; a
/// body written before generations has neither (generation 0, chain null).
/// </summary>
internal sealed record ApprovalStateBody(List<PendingApproval> Approvals, long Generation, string? Chain)
{
    public bool BeforeGenerations => Chain is null;
}

/// <summary>
/// The JSON body of approvals.stateFile (docs/approvals.md, "The state file"): every grant-mode approval still pending and
/// every open grant, with what approvers were asked to decide and what has been decided. Parsing trusts nothing it does
/// not find: a member missing or of the wrong kind fails the whole file.
/// </summary>
internal static class ApprovalStateJson
{
    /// <summary>
    /// <paramref name="generation"/>: this write's place in the sequence of writes, bound into the audit chain before the
    /// file is written; <paramref name="chain"/>: the audit chain that recorded it (a file is trusted only against its own).
    /// </summary>
    public static byte[] Write(IReadOnlyList<PendingApproval> approvals, DateTime savedUtc, long generation, string chain)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("savedAtMs", UnixMs(savedUtc));
            w.WriteNumber("generation", generation);
            w.WriteString("chain", chain);
            w.WriteStartArray("approvals");
            foreach (PendingApproval a in approvals) WriteOne(w, a);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteOne(Utf8JsonWriter w, PendingApproval a)
    {
        w.WriteStartObject();
        w.WriteString("id", a.Id);
        w.WriteString("state", a.State == ApprovalState.Approved ? "approved" : "pending");
        w.WriteString("rule", a.RuleName);
        if (a.Message is not null) w.WriteString("message", a.Message);
        w.WriteNumber("requiredApprovals", a.RequiredApprovals);
        w.WriteNumber("grantWindowMs", (long)a.GrantWindow.TotalMilliseconds);
        WriteStrings(w, "approverGroups", a.ApproverGroups);
        w.WriteStartObject("requester");
        w.WriteString("subject", a.Requester.Subject);
        if (a.Requester.Issuer is not null) w.WriteString("issuer", a.Requester.Issuer);
        WriteStrings(w, "groups", a.Requester.Groups);
        if (a.Requester.ClientId is not null) w.WriteString("clientId", a.Requester.ClientId);
        w.WriteEndObject();
        w.WriteString("method", a.Method);
        if (a.Target is not null) w.WriteString("target", a.Target);
        w.WriteString("arguments", a.MaskedArguments);
        w.WriteString("params", a.MaskedParams);
        w.WriteString("digest", a.Digest);
        w.WriteNumber("createdMs", UnixMs(a.CreatedUtc));
        w.WriteNumber("expiresMs", UnixMs(a.ExpiresUtc));
        w.WriteString("clientAddress", a.ClientAddress);
        if (a.Upstream is not null) w.WriteString("upstream", a.Upstream);
        if (a.UpstreamUrl is not null) w.WriteString("upstreamUrl", a.UpstreamUrl);
        w.WriteString("query", a.Query);
        w.WriteString("headers", a.Headers);
        w.WriteString("cookies", a.Cookies);
        if (a.RecordedHeaders is not null) w.WriteString("recordedHeaders", a.RecordedHeaders);
        w.WriteStartArray("votes");
        foreach (ApprovalVote v in a.Votes)
        {
            w.WriteStartObject();
            w.WriteString("approver", v.Approver);
            w.WriteNumber("atMs", UnixMs(v.AtUtc));
            if (v.Comment is not null) w.WriteString("comment", v.Comment);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (a.DecidedBy is not null) w.WriteString("decidedBy", a.DecidedBy);
        if (a.DecidedUtc is { } decided) w.WriteNumber("decidedMs", UnixMs(decided));
        if (a.GrantUntilUtc is { } until) w.WriteNumber("grantUntilMs", UnixMs(until));
        w.WriteNumber("executions", a.Executions);
        w.WriteEndObject();
    }

    /// <summary>The approvals of a verified body; throws <see cref="FormatException"/> when any part is not as written above.</summary>
    public static ApprovalStateBody Read(ReadOnlyMemory<byte> body)
    {
        var list = new List<PendingApproval>();
        try
        {
            using JsonDocument document = JsonDocument.Parse(body);
            // A body written before generations has neither member; one with only one of them was not written by any version.
            bool dated = document.RootElement.TryGetProperty("generation", out _), chained = document.RootElement.TryGetProperty("chain", out _);
            long generation = 0;
            string? chain = null;
            if (dated || chained)
            {
                generation = Member(document.RootElement, "generation", JsonValueKind.Number).GetInt64();
                if (generation < 1) throw new FormatException($"'generation' {generation} is not a positive number");
                chain = Text(document.RootElement, "chain");
            }
            foreach (JsonElement e in Member(document.RootElement, "approvals", JsonValueKind.Array).EnumerateArray()) list.Add(ReadOne(e));
            return new ApprovalStateBody(list, generation, chain);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or ArgumentException or OverflowException)
        {
            throw new FormatException($"not a state file body: {FastMcp.Http.PlainError.Describe(e)}", e);
        }
    }

    private static PendingApproval ReadOne(JsonElement e)
    {
        JsonElement r = Member(e, "requester", JsonValueKind.Object);
        var requester = new Principal(Text(r, "subject"), Strings(r, "groups"), [], OptionalText(r, "clientId"), OptionalText(r, "issuer"), DateTimeOffset.UtcNow);
        var a = new PendingApproval(Text(e, "id"), requester, Text(e, "rule"), OptionalText(e, "message"), ApprovalMode.Grant,
            Member(e, "requiredApprovals", JsonValueKind.Number).GetInt32(), TimeSpan.FromMilliseconds(Member(e, "grantWindowMs", JsonValueKind.Number).GetInt64()),
            Strings(e, "approverGroups"), Text(e, "method"), OptionalText(e, "target"), Text(e, "arguments"), Text(e, "params"), Text(e, "digest"),
            FromUnixMs(Member(e, "createdMs", JsonValueKind.Number).GetInt64()), Text(e, "clientAddress"))
        {
            ExpiresUtc = FromUnixMs(Member(e, "expiresMs", JsonValueKind.Number).GetInt64()),
            Upstream = OptionalText(e, "upstream"),
            UpstreamUrl = OptionalText(e, "upstreamUrl"),
            Query = Text(e, "query"),
            Headers = Text(e, "headers"),
            Cookies = Text(e, "cookies"),
        };
        a.RecordedHeaders = OptionalText(e, "recordedHeaders");
        foreach (JsonElement v in Member(e, "votes", JsonValueKind.Array).EnumerateArray())
            a.AddVote(new ApprovalVote(Text(v, "approver"), FromUnixMs(Member(v, "atMs", JsonValueKind.Number).GetInt64()), OptionalText(v, "comment")));
        a.DecidedBy = OptionalText(e, "decidedBy");
        a.DecidedUtc = e.TryGetProperty("decidedMs", out JsonElement decided) ? FromUnixMs(decided.GetInt64()) : null;
        a.GrantUntilUtc = e.TryGetProperty("grantUntilMs", out JsonElement until) ? FromUnixMs(until.GetInt64()) : null;
        a.Executions = Member(e, "executions", JsonValueKind.Number).GetInt32();
        a.State = Text(e, "state") switch
        {
            "pending" => ApprovalState.Pending,
            // An approval is a grant only with its window and its decision: anything less is not one.
            "approved" when a.GrantUntilUtc is not null && a.DecidedUtc is not null && a.VoteCount >= a.RequiredApprovals => ApprovalState.Approved,
            string other => throw new FormatException($"approval {a.Id}: state '{other}' is not restorable"),
        };
        return a;
    }

    private static JsonElement Member(JsonElement e, string name, JsonValueKind kind)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out JsonElement v) || v.ValueKind != kind)
            throw new FormatException($"'{name}' is missing or not a {kind}");
        return v;
    }

    private static string Text(JsonElement e, string name) => Member(e, name, JsonValueKind.String).GetString()!;

    private static string? OptionalText(JsonElement e, string name) => e.TryGetProperty(name, out _) ? Text(e, name) : null;

    private static string[] Strings(JsonElement e, string name)
    {
        JsonElement array = Member(e, name, JsonValueKind.Array);
        var values = new string[array.GetArrayLength()];
        int i = 0;
        foreach (JsonElement v in array.EnumerateArray())
            values[i++] = v.ValueKind == JsonValueKind.String ? v.GetString()! : throw new FormatException($"'{name}' holds a non-string");
        return values;
    }

    private static void WriteStrings(Utf8JsonWriter w, string name, string[] values)
    {
        w.WriteStartArray(name);
        foreach (string v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static long UnixMs(DateTime utc) => (long)(utc - DateTime.UnixEpoch).TotalMilliseconds;

    private static DateTime FromUnixMs(long ms) => DateTime.UnixEpoch.AddMilliseconds(ms);
}
