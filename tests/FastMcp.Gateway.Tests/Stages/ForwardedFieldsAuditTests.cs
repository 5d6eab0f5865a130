using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FastMcp.Audit.Reading;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// An ordinary call's records say which header fields (forwardHeaders) and cookies (forwardCookies) the upstream got,
/// as they say its query: an auditor can tell which tenant, toolset or read-only switch the upstream acted on. Cookies
/// and redacted fields (audit.redactHeaders) are recorded by keyed MAC, never by value.
/// </summary>
public sealed partial class ForwardedFieldsAuditTests
{
    private const string EchoCall = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{}}}""";
    private const string OtherCall = """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"other","arguments":{}}}""";

    private static readonly List<RuleOptions> AllowEcho = [new RuleOptions { Name = "allow-echo", Action = "allow", Methods = ["tools/call"], Names = ["echo"] }];

    // Answers without echoing the head: what the upstream got must show in the record fields alone.
    private static Task Answer(UpstreamExchange x) => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[]}}");

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Mac();

    private static List<JsonElement> OfType(string[] records, string type) =>
        [.. AuditRecordFields.Parse(records).Where(r => AuditRecordFields.Field(r, "type") == type)];

    private static string? Component(JsonElement r, string name) =>
        r.GetProperty("component").TryGetProperty(name, out JsonElement v) ? v.GetString() : null;

    /// <summary>Every record body in the audit folder, decompressed, as Latin-1 text: what a value must not be found in.</summary>
    private static string RawRecords(string auditDirectory)
    {
        var text = new StringBuilder();
        using var frames = new FrameReader();
        foreach (string file in Directory.EnumerateFiles(auditDirectory, "*", SearchOption.AllDirectories))
        {
            frames.Reset(File.ReadAllBytes(file), zeroTailIsEnd: true);
            for (int i = 0; i < 100_000 && frames.Next(out Frame frame, out _) == FrameReadStatus.Ok; i++) text.Append(Encoding.Latin1.GetString(frame.Payload.Span)).Append('\n');
        }
        return text.ToString();
    }

    [Fact]
    public async Task The_request_and_response_records_name_the_forwarded_fields_with_their_values()
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(Answer, AllowEcho, o => o.Upstream.ForwardHeaders = ["X-Tenant", "X-MCP-*"]);
        RawResponse answer = await gw.PostAsync(EchoCall, gw.Token("alice"),
            "X-Tenant: prod\r\nX-MCP-Note: card 4111111111111111, 100%\r\nX-Not-Forwarded: secret\r\n");
        Assert.Equal(200, answer.Status);

        string[] records = await gw.StopAndReadAuditAsync();
        List<JsonElement> exchanges = OfType(records, "McpExchange");
        Assert.True(exchanges.Count == 2, string.Join('\n', records));
        foreach (JsonElement r in exchanges)
        {
            Assert.Equal("x-mcp-note:card 411111******1111%2C 100%25,x-tenant:prod", Component(r, "headers"));
            Assert.Null(Component(r, "cookies"));
        }
        Assert.DoesNotContain("4111111111111111", string.Join('\n', records), StringComparison.Ordinal);
        Assert.DoesNotContain("secret", string.Join('\n', records), StringComparison.Ordinal);
        // The card number in the field is fingerprinted like one in the body.
        Assert.Single(exchanges[0].GetProperty("cardFingerprints").EnumerateArray());
    }

    [Fact]
    public async Task A_refused_calls_record_names_the_fields_it_would_have_forwarded()
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(Answer, AllowEcho, o =>
        {
            o.Upstream.ForwardHeaders = ["X-Tenant"];
            o.Upstream.ForwardCookies = true;
        });
        RawResponse answer = await gw.PostAsync(OtherCall, gw.Token("alice"), "X-Tenant: staging\r\nCookie: sid=session-value-7\r\n");
        Assert.NotEqual(0, answer.Status);

        string[] records = await gw.StopAndReadAuditAsync();
        JsonElement denied = Assert.Single(OfType(records, "Denied"));
        Assert.Equal("x-tenant:staging", Component(denied, "headers"));
        string cookies = Component(denied, "cookies")!;
        Assert.StartsWith("sid=", cookies, StringComparison.Ordinal);
        Assert.Matches(Mac(), cookies["sid=".Length..]);
        Assert.DoesNotContain("session-value-7", RawRecords(gw.AuditDirectory), StringComparison.Ordinal);

        // fastmcp audit replay shows them where it shows the query.
        var text = new StringWriter();
        Assert.Equal(0, await FastMcp.Audit.ReplayCommand.RunAsync([gw.AuditDirectory], text, new StringWriter()));
        string deniedLine = text.ToString().Split('\n').Single(l => l.Contains("Denied", StringComparison.Ordinal));
        Assert.Contains(" headers=\"x-tenant:staging\"", deniedLine, StringComparison.Ordinal);
        Assert.Contains($" cookies=\"{cookies}\"", deniedLine, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approvals_records_name_its_fields_and_cookies_and_a_redacted_field_only_by_mac()
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(Answer,
            [new RuleOptions { Name = "echo-grant", Action = "require_approval", Methods = ["tools/call"], Names = ["echo"], Approvers = ["release"], ApprovalMode = "grant" }],
            o =>
            {
                o.Upstream.ForwardHeaders = ["X-Api-Key", "X-Tenant"];
                o.Upstream.ForwardCookies = true;
                o.Audit!.RedactHeaders = ["x-api-key"];
            });
        const string Fields = "X-Api-Key: per-user-key-9\r\nX-Tenant: prod\r\nCookie: sid=session-9\r\n";
        JsonElement pending = JsonDocument.Parse((await gw.PostAsync(EchoCall, gw.Token("alice", "dev"), Fields)).Body).RootElement;
        string id = pending.GetProperty("error").GetProperty("data").GetProperty("approvalId").GetString()!;
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
        using (var approve = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{gw.Gateway.AdminEndpoint.Port}/approvals/{id}/approve")))
        {
            approve.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", gw.Token("bob", "release"));
            approve.Content = new StringContent("{}", Encoding.UTF8, "application/json");
            using HttpResponseMessage approved = await http.SendAsync(approve);
            Assert.Equal(System.Net.HttpStatusCode.OK, approved.StatusCode);
        }
        Assert.Equal(200, (await gw.PostAsync(EchoCall, gw.Token("alice", "dev"), Fields)).Status);

        string[] records = await gw.StopAndReadAuditAsync();
        JsonElement requested = Assert.Single(OfType(records, "ApprovalRequested"));
        JsonElement granted = Assert.Single(OfType(records, "ApprovalGranted"));
        JsonElement request = OfType(records, "McpExchange").First();
        string headers = Component(request, "headers")!;
        Assert.Matches("^x-api-key=[0-9a-f]{64},x-tenant:prod$", headers);
        Assert.Matches("^sid=[0-9a-f]{64}$", Component(request, "cookies")!);
        foreach (JsonElement r in new[] { requested, granted })
        {
            Assert.Equal(headers, Component(r, "headers"));
            Assert.Equal(Component(request, "cookies"), Component(r, "cookies"));
        }
        Assert.Contains("; headers " + headers, AuditRecordFields.Field(requested, "detail"), StringComparison.Ordinal);
        string raw = RawRecords(gw.AuditDirectory);
        Assert.DoesNotContain("per-user-key-9", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("session-9", raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cookies_are_recorded_by_name_and_keyed_mac_never_by_value()
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(Answer, AllowEcho, o => o.Upstream.ForwardCookies = true);
        Assert.Equal(200, (await gw.PostAsync(EchoCall, gw.Token("alice"), "Cookie: sid=first-session; env=prod\r\n")).Status);
        Assert.Equal(200, (await gw.PostAsync(EchoCall, gw.Token("alice"), "Cookie: sid=first-session; env=staging\r\n")).Status);

        string[] records = await gw.StopAndReadAuditAsync();
        List<JsonElement> exchanges = OfType(records, "McpExchange");
        Assert.Equal(4, exchanges.Count);
        var lines = exchanges.Select(r => Component(r, "cookies")!).ToList();
        Assert.Null(Component(exchanges[0], "headers"));
        Dictionary<string, string> first = Entries(lines[0]), second = Entries(lines[2]);
        Assert.Equal(["env", "sid"], first.Keys.ToArray());
        Assert.All(first.Values.Concat(second.Values), mac => Assert.Matches(Mac(), mac));
        Assert.Equal(first["sid"], second["sid"]); // equal values correlate
        Assert.NotEqual(first["env"], second["env"]);
        Assert.Equal(lines[0], lines[1]); // the response record repeats the request's
        string raw = RawRecords(gw.AuditDirectory);
        foreach (string value in new[] { "first-session", "=prod", "staging" }) Assert.DoesNotContain(value, raw, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> Entries(string line) =>
        line.Split(',').Select(e => e.Split('=')).ToDictionary(p => p[0], p => p[1]);

    [Fact]
    public async Task A_redacted_field_is_recorded_as_its_keyed_mac()
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(Answer, AllowEcho, o =>
        {
            o.Upstream.ForwardHeaders = ["X-Api-Key", "X-Tenant"];
            o.Audit!.RedactHeaders = ["X-API-KEY"];
        });
        Assert.Equal(200, (await gw.PostAsync(EchoCall, gw.Token("alice"), "X-Api-Key: per-user-key-1\r\nX-Tenant: prod\r\n")).Status);
        Assert.Equal(200, (await gw.PostAsync(EchoCall, gw.Token("alice"), "x-api-key: per-user-key-1\r\nX-Tenant: prod\r\n")).Status);
        Assert.Equal(200, (await gw.PostAsync(EchoCall, gw.Token("alice"), "X-Api-Key: per-user-key-2\r\nX-Tenant: prod\r\n")).Status);

        string[] records = await gw.StopAndReadAuditAsync();
        List<string> lines = [.. OfType(records, "McpExchange").Select(r => Component(r, "headers")!)];
        Assert.Equal(6, lines.Count);
        string[] first = lines[0].Split(',');
        Assert.Equal("x-tenant:prod", first[1]);
        Assert.StartsWith("x-api-key=", first[0], StringComparison.Ordinal);
        Assert.Matches(Mac(), first[0]["x-api-key=".Length..]);
        Assert.Equal(lines[0], lines[2]); // equal values, equal MACs
        Assert.NotEqual(lines[0], lines[4]);
        Assert.DoesNotContain("per-user-key", RawRecords(gw.AuditDirectory), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nothing_forwarded_records_no_member()
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(Answer, AllowEcho);
        Assert.Equal(200, (await gw.PostAsync(EchoCall, gw.Token("alice"), "X-Tenant: prod\r\nCookie: sid=x\r\n")).Status);

        string[] records = await gw.StopAndReadAuditAsync();
        List<JsonElement> exchanges = OfType(records, "McpExchange");
        Assert.Equal(2, exchanges.Count);
        Assert.All(exchanges, r =>
        {
            Assert.Null(Component(r, "headers"));
            Assert.Null(Component(r, "cookies"));
        });
    }
}
