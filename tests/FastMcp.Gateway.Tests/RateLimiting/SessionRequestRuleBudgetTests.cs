using FastMcp.Gateway.Tests.Routing;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.RateLimiting;

/// <summary>
/// A GET (the session's event stream) and a DELETE are requests the rule that allowed them lets reach the upstream: each
/// takes one token from that rule's rateLimitPerMinute budget, per subject, and past it gets 429 (-32007, id null) with
/// nothing sent upstream. Otherwise a caller held to N calls a minute could reopen its stream without bound. On a federated
/// path the merged GET is charged once, not once per member.
/// </summary>
public sealed class SessionRequestRuleBudgetTests
{
    /// <summary>Sessions and log messages, three requests a minute per subject (initialize included).</summary>
    private static List<RuleOptions> ThreeAMinute =>
    [
        new RuleOptions { Name = "sessions", Action = "allow", Methods = ["initialize", "logging/setLevel", "notifications/*"], RateLimitPerMinute = 3 },
    ];

    private int _sessions;

    /// <summary>An upstream that issues a session of its own to each initialize, streams one event on a GET and ends a session on DELETE.</summary>
    private async Task Upstream(UpstreamExchange x)
    {
        if (x.Request.Method == "GET")
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"up\"}}\n\n");
            await x.EndChunkedAsync();
            return;
        }
        if (x.Request.Method == "DELETE")
        {
            await x.RespondAsync(200, "", "");
            return;
        }
        await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson()
            + ",\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"logging\":{}},\"serverInfo\":{\"name\":\"s\",\"version\":\"1\"}}}",
            $"Mcp-Session-Id: s-{Interlocked.Increment(ref _sessions)}\r\n");
    }

    private static async Task<string> InitializeAsync(PolicyGateway g, string token)
    {
        RawResponse opened = await g.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
            + "\"capabilities\":{},\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}", token);
        Assert.Equal(200, opened.Status);
        return opened.Header("Mcp-Session-Id")!;
    }

    private static async Task<RawResponse> SendAsync(PolicyGateway g, string method, string token, string session, string path = "/mcp")
    {
        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync($"{method} {path} HTTP/1.1\r\nHost: {g.Gateway.Authority}\r\nAccept: text/event-stream\r\nAuthorization: Bearer {token}\r\n"
            + $"Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-06-18\r\n\r\n");
        return await client.ReadResponseAsync();
    }

    private static void AssertRateLimited(RawResponse refused)
    {
        Assert.Equal(429, refused.Status);
        Assert.NotNull(refused.Header("Retry-After"));
        Assert.Equal((-32007, "null"), refused.JsonRpcError());
    }

    [Fact]
    public async Task Gets_and_deletes_past_the_allowing_rules_budget_get_429_and_another_subject_keeps_its_own()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(Upstream, ThreeAMinute);
        string alice = g.Token("alice"), bob = g.Token("bob");
        string session = await InitializeAsync(g, alice);

        Assert.Equal(200, (await SendAsync(g, "GET", alice, session)).Status);
        Assert.Equal(200, (await SendAsync(g, "GET", alice, session)).Status);
        RawResponse get = await SendAsync(g, "GET", alice, session);
        RawResponse delete = await SendAsync(g, "DELETE", alice, session);
        string bobs = await InitializeAsync(g, bob);
        RawResponse bobsGet = await SendAsync(g, "GET", bob, bobs);

        AssertRateLimited(get);
        AssertRateLimited(delete);
        Assert.Equal(200, bobsGet.Status);
        Assert.Equal(["POST", "GET", "GET", "POST", "GET"], g.Upstream.Requests.Select(r => r.Method));
        Assert.Equal(2, g.Gateway.Host.Runtime.RateLimits.Refused[(int)FastMcp.Gateway.RateLimiting.RateLimitScope.Rule]);
    }

    [Fact]
    public async Task A_merged_get_and_a_fanned_out_delete_are_charged_once_whatever_the_number_of_members()
    {
        await using var a = new ScriptedUpstream(FederatedSessionRequestPolicyTests.Member("a"));
        await using var b = new ScriptedUpstream(FederatedSessionRequestPolicyTests.Member("b"));
        await using PolicyGateway gw = await FederatedSessionRequestPolicyTests.FederatedAsync(a, b, ThreeAMinute);
        string token = gw.Token("alice");
        string session = await FederatedSessionRequestPolicyTests.InitializeAsync(gw, token);

        RawResponse first = await SendAsync(gw, "GET", token, session, "/mcp/all");
        RawResponse second = await SendAsync(gw, "GET", token, session, "/mcp/all");
        RawResponse third = await SendAsync(gw, "GET", token, session, "/mcp/all");
        RawResponse delete = await SendAsync(gw, "DELETE", token, session, "/mcp/all");

        Assert.Equal(200, first.Status);
        Assert.Equal(200, second.Status);
        AssertRateLimited(third);
        // Refused before any member was sent it: the session stays.
        AssertRateLimited(delete);
        Assert.Equal(1, gw.Gateway.Host.Runtime.Routes.MatchFederated("/mcp/all"u8)!.Sessions.Count);
        Assert.Equal(["POST", "GET", "GET"], a.Requests.Select(r => r.Method));
        Assert.Equal(["POST", "GET", "GET"], b.Requests.Select(r => r.Method));
    }
}
