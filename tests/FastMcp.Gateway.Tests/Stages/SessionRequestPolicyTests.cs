using System.Globalization;
using System.Text.Json;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Support.AuditRecordFields;
using static FastMcp.Gateway.Tests.Support.NotifyingUpstream;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A GET (the session's event stream) and a DELETE (the end of the session) are decided by the client rules as the
/// session's initialize would be now: same caller, upstream, address, time and query. A caller the policy no longer lets
/// initialize gets 403 and the upstream never sees the request; an open GET stream of theirs ends at its next event after
/// the reload that revoked them.
/// </summary>
public sealed class SessionRequestPolicyTests
{
    private const string StreamEvent = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"EVENT-MARK\"}}";

    /// <summary>Everyone may open sessions and call tools and receive log messages.</summary>
    private static List<RuleOptions> Open =>
    [
        new RuleOptions { Name = "sessions", Action = "allow", Methods = ["initialize", "tools/call", "logging/setLevel"] },
    ];

    /// <summary>As <see cref="Open"/>, with mallory revoked by a subject deny rule ahead of it.</summary>
    private static List<RuleOptions> MalloryRevoked =>
    [
        new RuleOptions { Name = "revoked-mallory", Action = "deny", Subjects = ["mallory"], Message = "mallory is revoked" },
        .. Open,
    ];

    private static NotifyingUpstream Streaming(bool pauseAfterFirst) => new("{\"logging\":{}}", pauseAfterFirst, StreamEvent, StreamEvent.Replace("EVENT-MARK", "SECOND-MARK", StringComparison.Ordinal));

    private static void Reload(PolicyGateway g, List<RuleOptions> rules) =>
        g.Gateway.Stages.Authorization!.Swap(GatewayStages.CompilePolicy(new PolicyOptions { Rules = rules }));

    /// <summary>One GET or DELETE of the session, read to its end (the upstream's GET stream ends after its events).</summary>
    private static async Task<RawResponse> SendAsync(PolicyGateway g, string method, string token, string extraHeaders = "", string path = "/mcp")
    {
        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync($"{method} {path} HTTP/1.1\r\nHost: {g.Gateway.Authority}\r\nAccept: text/event-stream\r\nAuthorization: Bearer {token}\r\n{SessionHeaders}{extraHeaders}\r\n");
        return await client.ReadResponseAsync();
    }

    private static void AssertForbidden(RawResponse refused, string message)
    {
        Assert.Equal(403, refused.Status);
        using JsonDocument body = JsonDocument.Parse(refused.Body);
        Assert.Equal(JsonValueKind.Null, body.RootElement.GetProperty("id").ValueKind);
        Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(message, body.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_revoked_caller_gets_403_on_get_and_delete_and_the_upstream_sees_neither()
    {
        var upstream = Streaming(false);
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, Open);
        string token = g.Token("mallory");
        await InitializeAsync(g, token);
        Reload(g, MalloryRevoked);
        long deniedBefore = g.Gateway.Host.Runtime.Counters.PolicyDenied;

        RawResponse get = await SendAsync(g, "GET", token);
        RawResponse delete = await SendAsync(g, "DELETE", token);

        AssertForbidden(get, "mallory is revoked");
        AssertForbidden(delete, "mallory is revoked");
        Assert.Equal(["POST"], g.Upstream.Requests.Select(r => r.Method));
        Assert.Equal(deniedBefore + 2, g.Gateway.Host.Runtime.Counters.PolicyDenied);
        List<JsonElement> denials = [.. Parse(await g.StopAndReadAuditAsync()).Where(r => Field(r, "type") == "Denied")];
        Assert.Equal(["GET stream", "DELETE session"], denials.Select(Method));
        foreach (JsonElement denial in denials)
        {
            Assert.Equal("Deny", Field(denial, "decision"));
            Assert.Equal("revoked-mallory", Field(denial, "rule"));
            Assert.Equal("mallory", denial.GetProperty("user").GetProperty("subject").GetString());
            Assert.Equal("default", denial.GetProperty("component").GetProperty("upstreamName").GetString());
            Assert.Equal("denied by revoked-mallory", Field(denial, "detail"));
            Assert.False(denial.GetProperty("success").GetBoolean());
            Assert.False(denial.TryGetProperty("request", out _));
        }
    }

    [Fact]
    public async Task An_allowed_caller_opens_the_stream_and_ends_the_session_as_before()
    {
        var upstream = Streaming(false);
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, MalloryRevoked);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        using (RawClient stream = await OpenGetStreamAsync(g, token))
            Assert.Contains("SECOND-MARK", await ReadStreamAsync(stream));
        RawResponse delete = await SendAsync(g, "DELETE", token);

        Assert.Equal(200, delete.Status);
        Assert.Equal(["POST", "GET", "DELETE"], g.Upstream.Requests.Select(r => r.Method));
        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        Assert.DoesNotContain(records, r => Field(r, "type") == "Denied");
        // Each request record names the decision that let it through.
        foreach (string method in new[] { "GET stream", "DELETE session" })
        {
            JsonElement request = records.First(r => Method(r) == method);
            Assert.Equal("Allow", Field(request, "decision"));
            Assert.Equal("sessions", Field(request, "rule"));
        }
    }

    [Fact]
    public async Task An_address_condition_on_initialize_decides_the_get()
    {
        List<RuleOptions> fromOps =
        [
            new RuleOptions { Name = "sessions-from-ops", Action = "allow", Methods = ["initialize"], Addresses = ["10.20.0.0/16"] },
            new RuleOptions { Name = "calls", Action = "allow", Methods = ["tools/call", "logging/setLevel"] },
        ];
        var upstream = Streaming(false);
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, fromOps, o => o.ClientAddress.TrustedProxies = ["127.0.0.1"]);
        string token = g.Token("alice");
        RawResponse opened = await g.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"" + ProtocolVersion
            + "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}", token, "X-Forwarded-For: 10.20.3.4\r\n");
        Assert.Equal(SessionId, opened.Header("Mcp-Session-Id"));

        RawResponse outside = await SendAsync(g, "GET", token, "X-Forwarded-For: 203.0.113.9\r\n");
        RawResponse inside = await SendAsync(g, "GET", token, "X-Forwarded-For: 10.20.3.4\r\n");

        Assert.Equal(403, outside.Status);
        Assert.Equal(200, inside.Status);
        Assert.Contains("SECOND-MARK", inside.Body);
        Assert.Equal(["POST", "GET"], g.Upstream.Requests.Select(r => r.Method));
        JsonElement denial = Assert.Single(Parse(await g.StopAndReadAuditAsync()), r => Field(r, "type") == "Denied");
        Assert.Equal("(default)", Field(denial, "rule"));
        Assert.Equal("203.0.113.9", denial.GetProperty("origin").GetProperty("address").GetString());
    }

    [Fact]
    public async Task A_query_condition_on_initialize_decides_the_get_on_its_own_query()
    {
        List<RuleOptions> euOnly =
        [
            new RuleOptions { Name = "eu-sessions", Action = "allow", Methods = ["initialize"], Query = new() { ["tenant"] = new ArgumentConditionOptions { EqualsValue = "eu" } } },
            new RuleOptions { Name = "calls", Action = "allow", Methods = ["tools/call", "logging/setLevel"] },
        ];
        var upstream = Streaming(false);
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, Open);
        string token = g.Token("alice");
        await InitializeAsync(g, token);
        Reload(g, euOnly);

        RawResponse us = await SendAsync(g, "GET", token, path: "/mcp?tenant=us");
        RawResponse eu = await SendAsync(g, "GET", token, path: "/mcp?tenant=eu");

        Assert.Equal(403, us.Status);
        Assert.Equal(200, eu.Status);
        Assert.Equal(["POST", "GET"], g.Upstream.Requests.Select(r => r.Method));
        Assert.Equal("/mcp?tenant=eu", g.Upstream.Requests.Last().Target);
    }

    [Fact]
    public async Task A_time_window_on_initialize_that_has_not_begun_refuses_the_get()
    {
        string tomorrow = DateTimeOffset.UtcNow.AddDays(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var upstream = Streaming(false);
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, Open);
        string token = g.Token("alice");
        await InitializeAsync(g, token);
        Reload(g, [new RuleOptions { Name = "sessions-from-tomorrow", Action = "allow", Methods = ["initialize"], Time = new TimeConditionOptions { NotBefore = tomorrow } }]);

        RawResponse get = await SendAsync(g, "GET", token);

        Assert.Equal(403, get.Status);
        Assert.Equal(["POST"], g.Upstream.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task A_require_approval_rule_on_initialize_refuses_the_get_which_cannot_be_held()
    {
        var upstream = Streaming(false);
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, Open, o => o.Approvals.ApproverGroups = ["release"]);
        string token = g.Token("alice");
        await InitializeAsync(g, token);
        Reload(g, [new RuleOptions { Name = "sessions-need-approval", Action = "require_approval", Methods = ["initialize"] }, .. Open]);

        RawResponse get = await SendAsync(g, "GET", token);

        Assert.Equal(403, get.Status);
        Assert.Equal(["POST"], g.Upstream.Requests.Select(r => r.Method));
        Assert.Empty(g.Gateway.Stages.Approvals!.List(includeDecided: true));
        JsonElement denial = Assert.Single(Parse(await g.StopAndReadAuditAsync()), r => Field(r, "type") == "Denied");
        Assert.Equal("sessions-need-approval", Field(denial, "rule"));
        Assert.Equal("GET stream", Method(denial));
    }

    [Fact]
    public async Task A_reload_that_revokes_the_caller_ends_their_open_stream_at_its_next_event_and_refuses_their_next_get()
    {
        var upstream = Streaming(true);
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, Open);
        long endedBefore = g.Gateway.Host.Runtime.Counters.StreamsEnded[(int)StreamEndReason.PolicyRevoked - 1];

        string rest = await upstream.ReloadMidStreamAsync(g, "EVENT-MARK",
            [new RuleOptions { Name = "revoked-alice", Action = "deny", Subjects = ["alice"] }, .. Open]);
        RawResponse again = await SendAsync(g, "GET", g.Token("alice"));

        Assert.DoesNotContain("SECOND-MARK", rest);
        Assert.Equal(endedBefore + 1, g.Gateway.Host.Runtime.Counters.StreamsEnded[(int)StreamEndReason.PolicyRevoked - 1]);
        Assert.Equal(403, again.Status);
        Assert.Equal(["POST", "GET"], g.Upstream.Requests.Select(r => r.Method));
        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        Assert.Contains(records, r => Field(r, "detail") == StreamEndReasons.Detail(StreamEndReason.PolicyRevoked));
        JsonElement denial = Assert.Single(records, r => Field(r, "type") == "Denied");
        Assert.Equal("revoked-alice", Field(denial, "rule"));
    }

    [Fact]
    public async Task A_reload_that_still_allows_the_caller_leaves_their_open_stream_running()
    {
        var upstream = Streaming(true);
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, Open);

        string rest = await upstream.ReloadMidStreamAsync(g, "EVENT-MARK", MalloryRevoked);

        Assert.Contains("SECOND-MARK", rest);
    }
}
