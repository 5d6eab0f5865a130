using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Approvals;
using FastMcp.Text;

namespace FastMcp.Gateway.Cli;

/// <summary>
/// <c>fastmcp approvals list|show|approve|deny|revoke</c>: a client of the admin listener's approvals API.
/// An approval lives in the replica that holds the call, so several admin URLs can be given (one
/// per replica): list asks every one, and show, approve, deny and revoke go to the one that knows the id.
/// Exit 0 done, 1 refused by the gateway (the reason is printed), 2 usage or connection error.
/// </summary>
internal static class ApprovalsCommand
{
    public const string Usage = """
        usage: fastmcp approvals list [--all]
               fastmcp approvals show ID
               fastmcp approvals approve ID [--comment TEXT]
               fastmcp approvals deny ID --reason TEXT
               fastmcp approvals revoke ID --reason TEXT   (an open grant: the identical call needs a new approval)
        options: --admin URL, repeatable: one per replica (default $FASTMCP_ADMIN_URL, comma-separated,
                 or http://127.0.0.1:9090)
                 --token-file FILE, or $FASTMCP_TOKEN (an approver's bearer token; never on the command line)
                 --json (print the API's JSON instead of text)
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            stdout.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        string verb = args[0];
        int positional = verb is "show" or "approve" or "deny" or "revoke" ? 1 : 0;
        if (args.Length < 1 + positional || (positional == 1 && args[1].StartsWith("--", StringComparison.Ordinal)))
            throw new UsageException($"approvals {verb}: the approval id is missing\n{Usage}");
        string? id = positional == 1 ? args[1] : null;
        CommandLine cl = CommandLine.Parse(args.AsSpan(1 + positional), ["--admin", "--token-file", "--comment", "--reason"], ["--all", "--json"]);

        List<string> admins = AdminUrls(cl);
        string? token = AdminToken.From(cl);
        if (string.IsNullOrWhiteSpace(token)) throw new UsageException("no token: pass --token-file FILE or set FASTMCP_TOKEN (an approver's bearer token)");
        if (id is not null && (id.Length > 100 || id.IndexOfAny(['/', '?', '#', ' ']) >= 0)) throw new UsageException($"'{id}' is not an approval id");

        HttpMethod method;
        string path;
        byte[]? body = null;
        switch (verb)
        {
            case "list":
                method = HttpMethod.Get;
                path = cl.Has("--all") ? "/approvals?state=all" : "/approvals";
                break;
            case "show":
                method = HttpMethod.Get;
                path = $"/approvals/{id}";
                break;
            case "approve":
                method = HttpMethod.Post;
                path = $"/approvals/{id}/approve";
                body = JsonSerializer.SerializeToUtf8Bytes(new DecisionRequest { Comment = cl.Get("--comment") }, ApprovalJsonContext.Default.DecisionRequest);
                break;
            case "deny":
                if (string.IsNullOrWhiteSpace(cl.Get("--reason"))) throw new UsageException("approvals deny: --reason TEXT is required");
                method = HttpMethod.Post;
                path = $"/approvals/{id}/deny";
                body = JsonSerializer.SerializeToUtf8Bytes(new DecisionRequest { Reason = cl.Get("--reason") }, ApprovalJsonContext.Default.DecisionRequest);
                break;
            case "revoke":
                if (string.IsNullOrWhiteSpace(cl.Get("--reason"))) throw new UsageException("approvals revoke: --reason TEXT is required");
                method = HttpMethod.Post;
                path = $"/approvals/{id}/revoke";
                body = JsonSerializer.SerializeToUtf8Bytes(new DecisionRequest { Reason = cl.Get("--reason") }, ApprovalJsonContext.Default.DecisionRequest);
                break;
            default:
                throw new UsageException($"unknown approvals command '{verb}'\n{Usage}");
        }

        // A redirect would carry the approver's token, or a decision, to wherever it points: none is followed.
        using var http = new HttpClient(FastMcp.Http.RedirectRefusal.Handler()) { Timeout = TimeSpan.FromSeconds(30) };
        if (verb == "list") return await ListAsync(http, admins, path, token, cl.Has("--json"), stdout, stderr).ConfigureAwait(false);

        // The replica that holds the approval answers; the others do not know the id (404).
        int unreachable = 0;
        foreach (string admin in admins)
        {
            var (status, answer, failure) = await SendAsync(http, method, admin + path, token, body).ConfigureAwait(false);
            if (failure is not null)
            {
                stderr.WriteLine(PrintableText.Escape($"fastmcp approvals: cannot reach {admin}: {failure}"));
                unreachable++;
                continue;
            }
            if (status == 404 && admins.Count > 1) continue;
            if (status is < 200 or > 299)
            {
                stderr.WriteLine(PrintableText.Escape($"fastmcp approvals: {status}: {ErrorText(answer)}"));
                return 1;
            }
            if (cl.Has("--json"))
            {
                stdout.WriteLine(Encoding.UTF8.GetString(answer));
                return 0;
            }
            ApprovalView? view = TryRead(answer, ApprovalJsonContext.Default.ApprovalView);
            if (view is null)
            {
                stderr.WriteLine("fastmcp approvals: the gateway answered something that is not an approval");
                return 2;
            }
            if (admins.Count > 1) stdout.WriteLine(PrintableText.Escape($"replica    {admin}"));
            Print(stdout, view);
            return 0;
        }
        if (unreachable == admins.Count) return 2;
        stderr.WriteLine(PrintableText.Escape($"fastmcp approvals: 404: approval {id} is not known to any of the {admins.Count - unreachable} replicas asked (unknown, or lost in a restart)"));
        return 1;
    }

    /// <summary>Every replica's approvals, each replica's oldest first; one that cannot be asked is named on stderr and skipped.</summary>
    private static async Task<int> ListAsync(HttpClient http, List<string> admins, string path, string token, bool json, TextWriter stdout, TextWriter stderr)
    {
        var merged = new ApprovalListView();
        var from = new List<string>();
        var listed = new HashSet<string>(StringComparer.Ordinal);
        int unreachable = 0, refused = 0;
        foreach (string admin in admins)
        {
            var (status, answer, failure) = await SendAsync(http, HttpMethod.Get, admin + path, token, null).ConfigureAwait(false);
            if (failure is not null)
            {
                stderr.WriteLine(PrintableText.Escape($"fastmcp approvals: cannot reach {admin}: {failure}"));
                unreachable++;
                continue;
            }
            if (status is < 200 or > 299)
            {
                stderr.WriteLine(PrintableText.Escape($"fastmcp approvals: {(admins.Count > 1 ? admin + ": " : "")}{status}: {ErrorText(answer)}"));
                refused++;
                continue;
            }
            ApprovalListView list = TryRead(answer, ApprovalJsonContext.Default.ApprovalListView) ?? new ApprovalListView();
            foreach (ApprovalView a in list.Approvals)
            {
                // Replicas with approvals.peers list each other's approvals too: each is shown once, on its holder.
                if (!listed.Add(a.Id)) continue;
                merged.Approvals.Add(a);
                from.Add(a.HeldBy ?? admin);
            }
            if (list.Unreachable is { } missing)
                foreach (string peer in missing) stderr.WriteLine(PrintableText.Escape($"fastmcp approvals: {admin} could not ask its peer {peer}: its approvals may be missing"));
        }
        if (unreachable + refused == admins.Count) return unreachable > 0 ? 2 : 1;
        if (json)
        {
            stdout.WriteLine(JsonSerializer.Serialize(merged, ApprovalJsonContext.Default.ApprovalListView));
        }
        else
        {
            if (merged.Approvals.Count == 0) stdout.WriteLine("no approvals");
            for (int i = 0; i < merged.Approvals.Count; i++)
            {
                ApprovalView a = merged.Approvals[i];
                string replica = admins.Count > 1 ? $"  on {from[i]}" : "";
                stdout.WriteLine(PrintableText.Escape($"{a.Id}  {a.State,-9} {a.Requester.Subject,-16} {a.Method} {a.Target}{(ToolNameSkeleton.Flag(a.Target) is { } flag ? $" [{flag}]" : "")}  rule {a.Rule}  {a.Approvals.Count}/{a.RequiredApprovals}  expires {a.ExpiresAt}{replica}"));
            }
        }
        // A listing that misses a replica is printed, but it is not a clean success.
        return unreachable + refused > 0 ? 1 : 0;
    }

    private static async Task<(int Status, byte[] Answer, string? Failure)> SendAsync(HttpClient http, HttpMethod method, string url, string token, byte[]? body)
    {
        using var request = new HttpRequestMessage(method, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Trim());
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        try
        {
            using HttpResponseMessage response = await http.SendAsync(request).ConfigureAwait(false);
            if (FastMcp.Http.RedirectRefusal.IsRedirect(response.StatusCode)) return (0, [], FastMcp.Http.RedirectRefusal.Describe(url, response.StatusCode));
            byte[] answer = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            return ((int)response.StatusCode, answer, null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return (0, [], FastMcp.Http.PlainError.Describe(e));
        }
    }

    private static string ErrorText(byte[] answer) => TryRead(answer, ApprovalJsonContext.Default.ApiError)?.Error ?? Encoding.UTF8.GetString(answer);

    /// <summary>The admin URLs from --admin (repeatable), else $FASTMCP_ADMIN_URL (comma-separated), else the local default.</summary>
    private static List<string> AdminUrls(CommandLine cl)
    {
        List<string> given = cl.GetAll("--admin") is { Count: > 0 } flags ? [.. flags]
            : Environment.GetEnvironmentVariable("FASTMCP_ADMIN_URL") is { Length: > 0 } env ? [.. env.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]
            : ["http://127.0.0.1:9090"];
        var urls = new List<string>(given.Count);
        foreach (string raw in given)
        {
            string admin = raw.TrimEnd('/');
            if (!Uri.TryCreate(admin, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https"))
                throw new UsageException($"--admin: '{raw}' is not an http(s) URL");
            if (!urls.Contains(admin)) urls.Add(admin);
        }
        return urls;
    }

    private static void Print(TextWriter o, ApprovalView a)
    {
        o.WriteLine(PrintableText.Escape($"approval   {a.Id}"));
        o.WriteLine(PrintableText.Escape($"state      {a.State} ({a.Approvals.Count} of {a.RequiredApprovals} approvals, mode {a.Mode})"));
        o.WriteLine(PrintableText.Escape($"requester  {a.Requester.Subject} [{string.Join(", ", a.Requester.Groups)}] from {a.Requester.Address}"));
        o.WriteLine(PrintableText.Escape($"call       {a.Method} {a.Target}{(a.Upstream is null ? "" : $" on upstream {a.Upstream}")}"));
        // A name that only looks like another (dеploy with a Cyrillic е) is said before anyone approves it.
        if (ToolNameSkeleton.Flag(a.Target) is { } flag) o.WriteLine(PrintableText.Escape($"warning    the target is {flag}"));
        o.WriteLine(PrintableText.Escape($"arguments  {a.Arguments}"));
        o.WriteLine(PrintableText.Escape($"params     {a.Params}"));
        if (a.Query.Length > 0) o.WriteLine(PrintableText.Escape($"query      {a.Query}"));
        if (a.Headers.Length > 0) o.WriteLine(PrintableText.Escape($"headers    {a.Headers}"));
        if (a.Cookies.Length > 0) o.WriteLine(PrintableText.Escape($"cookies    {a.Cookies} (values bound, not shown)"));
        o.WriteLine(PrintableText.Escape($"digest     {a.Digest}"));
        o.WriteLine(PrintableText.Escape($"rule       {a.Rule}{(a.Message is null ? "" : $": {a.Message}")}"));
        o.WriteLine(PrintableText.Escape($"approvers  [{string.Join(", ", a.ApproverGroups)}]"));
        o.WriteLine(PrintableText.Escape($"created    {a.CreatedAt}, expires {a.ExpiresAt}"));
        foreach (VoteView v in a.Approvals) o.WriteLine(PrintableText.Escape($"approved   by {v.Approver} at {v.At}{(v.Comment is null ? "" : $": {v.Comment}")}"));
        // A revoked grant's reason is the revocation's, printed on its own line.
        if (a.DecidedBy is not null || (a.Reason is not null && a.RevokedBy is null)) o.WriteLine(PrintableText.Escape($"decided    {a.DecidedBy} {a.DecidedAt}{(a.RevokedBy is null ? $" {a.Reason}" : "")}"));
        if (a.RevokedBy is not null) o.WriteLine(PrintableText.Escape($"revoked    by {a.RevokedBy} at {a.RevokedAt}: {a.Reason}; {a.Executions} execution(s) before (the window was to close {a.GrantUntil})"));
        else if (a.GrantUntil is not null) o.WriteLine(PrintableText.Escape($"grant      identical call allowed until {a.GrantUntil}"));
    }

    private static T? TryRead<T>(byte[] json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : class
    {
        try { return JsonSerializer.Deserialize(json, type); }
        catch (JsonException) { return null; }
    }
}
