using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Approvals;

namespace FastMcp.Gateway.Cli;

/// <summary>
/// <c>fastmcp approvals list|show|approve|deny</c>: a client of the admin listener's approvals API.
/// Exit 0 done, 1 refused by the gateway (the reason is printed), 2 usage or connection error.
/// </summary>
internal static class ApprovalsCommand
{
    public const string Usage = """
        usage: fastmcp approvals list [--all]
               fastmcp approvals show ID
               fastmcp approvals approve ID [--comment TEXT]
               fastmcp approvals deny ID --reason TEXT
        options: --admin URL (default $FASTMCP_ADMIN_URL or http://127.0.0.1:9090)
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
        int positional = verb is "show" or "approve" or "deny" ? 1 : 0;
        if (args.Length < 1 + positional || (positional == 1 && args[1].StartsWith("--", StringComparison.Ordinal)))
            throw new UsageException($"approvals {verb}: the approval id is missing\n{Usage}");
        string? id = positional == 1 ? args[1] : null;
        CommandLine cl = CommandLine.Parse(args.AsSpan(1 + positional), ["--admin", "--token-file", "--comment", "--reason"], ["--all", "--json"]);

        string admin = (cl.Get("--admin") ?? Environment.GetEnvironmentVariable("FASTMCP_ADMIN_URL") ?? "http://127.0.0.1:9090").TrimEnd('/');
        if (!Uri.TryCreate(admin, UriKind.Absolute, out Uri? adminUri) || adminUri.Scheme is not ("http" or "https"))
            throw new UsageException($"--admin: '{admin}' is not an http(s) URL");
        string? token = cl.Get("--token-file") is { } file ? ReadToken(file) : Environment.GetEnvironmentVariable("FASTMCP_TOKEN");
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
            default:
                throw new UsageException($"unknown approvals command '{verb}'\n{Usage}");
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(method, admin + path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Trim());
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        HttpResponseMessage response;
        byte[] answer;
        try
        {
            response = await http.SendAsync(request).ConfigureAwait(false);
            answer = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            stderr.WriteLine($"fastmcp approvals: cannot reach {admin}: {e.Message}");
            return 2;
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                string error = TryRead(answer, ApprovalJsonContext.Default.ApiError)?.Error ?? Encoding.UTF8.GetString(answer);
                stderr.WriteLine($"fastmcp approvals: {(int)response.StatusCode}: {error}");
                return 1;
            }
            if (cl.Has("--json"))
            {
                stdout.WriteLine(Encoding.UTF8.GetString(answer));
                return 0;
            }
            if (verb == "list")
            {
                ApprovalListView list = TryRead(answer, ApprovalJsonContext.Default.ApprovalListView) ?? new ApprovalListView();
                if (list.Approvals.Count == 0) stdout.WriteLine("no approvals");
                foreach (ApprovalView a in list.Approvals)
                    stdout.WriteLine($"{a.Id}  {a.State,-9} {a.Requester.Subject,-16} {a.Method} {a.Target}  rule {a.Rule}  {a.Approvals.Count}/{a.RequiredApprovals}  expires {a.ExpiresAt}");
                return 0;
            }
            ApprovalView? view = TryRead(answer, ApprovalJsonContext.Default.ApprovalView);
            if (view is null)
            {
                stderr.WriteLine("fastmcp approvals: the gateway answered something that is not an approval");
                return 2;
            }
            Print(stdout, view);
            return 0;
        }
    }

    private static void Print(TextWriter o, ApprovalView a)
    {
        o.WriteLine($"approval   {a.Id}");
        o.WriteLine($"state      {a.State} ({a.Approvals.Count} of {a.RequiredApprovals} approvals, mode {a.Mode})");
        o.WriteLine($"requester  {a.Requester.Subject} [{string.Join(", ", a.Requester.Groups)}] from {a.Requester.Address}");
        o.WriteLine($"call       {a.Method} {a.Target}");
        o.WriteLine($"arguments  {a.Arguments}");
        o.WriteLine($"digest     {a.Digest}");
        o.WriteLine($"rule       {a.Rule}{(a.Message is null ? "" : $": {a.Message}")}");
        o.WriteLine($"approvers  [{string.Join(", ", a.ApproverGroups)}]");
        o.WriteLine($"created    {a.CreatedAt}, expires {a.ExpiresAt}");
        foreach (VoteView v in a.Approvals) o.WriteLine($"approved   by {v.Approver} at {v.At}{(v.Comment is null ? "" : $": {v.Comment}")}");
        if (a.DecidedBy is not null || a.Reason is not null) o.WriteLine($"decided    {a.DecidedBy} {a.DecidedAt} {a.Reason}");
        if (a.GrantUntil is not null) o.WriteLine($"grant      identical call allowed until {a.GrantUntil}");
    }

    private static T? TryRead<T>(byte[] json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : class
    {
        try { return JsonSerializer.Deserialize(json, type); }
        catch (JsonException) { return null; }
    }

    private static string ReadToken(string file)
    {
        try { return File.ReadAllText(file).Trim(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UsageException($"--token-file: cannot read '{file}': {e.Message}"); }
    }
}
