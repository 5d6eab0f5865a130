using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// On a plain route the gateway calls the upstream with its own credential, so the upstream cannot tell callers apart:
/// the gateway binds each Mcp-Session-Id the upstream issues to the caller it was issued to, and answers anyone else
/// naming it 404 without forwarding (docs/mcp-handling.md, "Sessions").
/// </summary>
public sealed class SessionOwnershipTests
{
    private static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow" }];

    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    private static string Ping(int id) => "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"ping\"}";

    private static async Task<RawResponse> SendAsync(PolicyGateway gw, string request)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(request);
        return await client.ReadResponseAsync();
    }

    private static Task<RawResponse> PostAsync(PolicyGateway gw, string token, string json, string? session = null) =>
        gw.PostAsync(json, token, session is null ? "" : $"Mcp-Session-Id: {session}\r\n");

    private static Task<RawResponse> WithoutBodyAsync(PolicyGateway gw, string method, string token, string session) =>
        SendAsync(gw, $"{method} /mcp HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\n\r\n");

    private static int Naming(ScriptedUpstream upstream, string session) => upstream.Requests.Count(r => r.Header("Mcp-Session-Id") == session);

    /// <summary>Client POSTs forwarded naming the session (a forgotten one is also ended by the gateway's own DELETE: not counted here).</summary>
    private static int Posted(ScriptedUpstream upstream, string session) => upstream.Requests.Count(r => r.Method == "POST" && r.Header("Mcp-Session-Id") == session);

    [Fact]
    public async Task Another_caller_naming_a_session_is_answered_404_and_nothing_reaches_the_upstream()
    {
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.IssuingSessions(), AllowAll);
        string alice = gw.Token("alice"), bob = gw.Token("bob");
        string session = (await PostAsync(gw, alice, Initialize)).Header("Mcp-Session-Id")!;
        Assert.Equal("s-1", session);

        RawResponse post = await PostAsync(gw, bob, Ping(2), session);
        Assert.Equal(404, post.Status);
        Assert.Equal(JsonRpcErrorCodes.InvalidRequest, post.JsonRpcError().Code);
        Assert.Equal(404, (await WithoutBodyAsync(gw, "GET", bob, session)).Status);
        Assert.Equal(404, (await WithoutBodyAsync(gw, "DELETE", bob, session)).Status);
        // An answer to a server request of alice's session (sampling, elicitation) from bob goes nowhere either.
        Assert.Equal(404, (await PostAsync(gw, bob, """{"jsonrpc":"2.0","id":0,"result":{}}""", session)).Status);
        Assert.Equal(0, Naming(gw.Upstream, session));

        // The owner keeps working.
        Assert.Equal(200, (await PostAsync(gw, alice, Ping(3), session)).Status);
        Assert.Equal(405, (await WithoutBodyAsync(gw, "GET", alice, session)).Status);
        Assert.Equal(2, Naming(gw.Upstream, session));

        // The owner's DELETE ends it: from then on it is nobody's.
        Assert.Equal(200, (await WithoutBodyAsync(gw, "DELETE", alice, session)).Status);
        Assert.Equal(3, Naming(gw.Upstream, session));
        Assert.Equal(404, (await PostAsync(gw, alice, Ping(4), session)).Status);
        Assert.Equal(404, (await PostAsync(gw, bob, Ping(5), session)).Status);
        Assert.Equal(3, Naming(gw.Upstream, session));
    }

    [Fact]
    public async Task A_session_belongs_to_the_subject_at_its_issuer_not_to_a_token_or_its_groups()
    {
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.IssuingSessions(), AllowAll);
        string session = (await PostAsync(gw, gw.Token("alice", "dev"), Initialize)).Header("Mcp-Session-Id")!;
        Assert.Equal(200, (await PostAsync(gw, gw.Token("alice"), Ping(2), session)).Status);   // a new token of the same caller
        Assert.Equal(404, (await PostAsync(gw, gw.Token("mallory", "dev"), Ping(3), session)).Status);
    }

    [Fact]
    public async Task A_session_id_the_gateway_did_not_see_issued_is_refused_by_default_and_bound_to_its_first_caller_with_forward()
    {
        await using (var gw = await PolicyGateway.StartAsync(UpstreamScripts.IssuingSessions(), AllowAll))
        {
            Assert.Equal(404, (await PostAsync(gw, gw.Token("alice"), Ping(1), "issued-elsewhere")).Status);
            Assert.Empty(gw.Upstream.Requests);
        }

        await using var forwarding = await PolicyGateway.StartAsync(UpstreamScripts.IssuingSessions(), AllowAll, o => o.Sessions.Unknown = "forward");
        string alice = forwarding.Token("alice"), bob = forwarding.Token("bob");
        Assert.Equal(200, (await PostAsync(forwarding, alice, Ping(1), "issued-elsewhere")).Status);
        Assert.Equal(404, (await PostAsync(forwarding, bob, Ping(2), "issued-elsewhere")).Status);
        Assert.Equal(200, (await PostAsync(forwarding, alice, Ping(3), "issued-elsewhere")).Status);
        Assert.Equal(2, Naming(forwarding.Upstream, "issued-elsewhere"));
    }

    [Fact]
    public async Task Past_the_bound_the_least_recently_used_sessions_are_forgotten_and_refused()
    {
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.IssuingSessions(), AllowAll, o => o.Sessions.MaxPerUpstream = 100);
        string alice = gw.Token("alice");
        var sessions = new List<string>();
        for (int i = 0; i < 101; i++) sessions.Add((await PostAsync(gw, alice, Initialize)).Header("Mcp-Session-Id")!);

        // The oldest is forgotten: refused, even to its owner (it initializes again), never handed to whoever asks first.
        Assert.Equal(404, (await PostAsync(gw, alice, Ping(2), sessions[0])).Status);
        Assert.Equal(0, Posted(gw.Upstream, sessions[0]));
        Assert.Equal(200, (await PostAsync(gw, alice, Ping(3), sessions[^1])).Status);
    }

    [Fact]
    public async Task A_caller_past_its_own_bound_loses_its_own_oldest_sessions_not_anyone_elses()
    {
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.IssuingSessions(), AllowAll, o =>
        {
            o.Sessions.MaxPerUpstream = 100;
            o.Sessions.MaxPerCaller = 10;
        });
        string alice = gw.Token("alice"), mallory = gw.Token("mallory");
        string alices = (await PostAsync(gw, alice, Initialize)).Header("Mcp-Session-Id")!;

        // Mallory opens more sessions than the whole table holds: before the per-caller bound, alice's went first.
        var mallorys = new List<string>();
        for (int i = 0; i < 120; i++) mallorys.Add((await PostAsync(gw, mallory, Initialize)).Header("Mcp-Session-Id")!);

        Assert.Equal(200, (await PostAsync(gw, alice, Ping(2), alices)).Status);
        Assert.Equal(1, Naming(gw.Upstream, alices));
        // Mallory keeps her 10 most recent; her oldest are forgotten and refused, never forwarded.
        Assert.Equal(404, (await PostAsync(gw, mallory, Ping(3), mallorys[0])).Status);
        Assert.Equal(404, (await PostAsync(gw, mallory, Ping(4), mallorys[^11])).Status);
        Assert.Equal(0, Posted(gw.Upstream, mallorys[0]) + Posted(gw.Upstream, mallorys[^11]));
        Assert.Equal(200, (await PostAsync(gw, mallory, Ping(5), mallorys[^10])).Status);
        Assert.Equal(200, (await PostAsync(gw, mallory, Ping(6), mallorys[^1])).Status);
    }

    [Fact]
    public async Task Heavy_callers_filling_the_table_push_out_their_own_sessions_and_a_quiet_callers_keeps_working()
    {
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.IssuingSessions(), AllowAll, o =>
        {
            o.Sessions.MaxPerUpstream = 100;
            o.Sessions.MaxPerCaller = 10;
        });
        string alice = gw.Token("alice");
        string alices = (await PostAsync(gw, alice, Initialize)).Header("Mcp-Session-Id")!;

        // Twelve callers at their own bound hold 120 sessions together: 21 more than the table keeps beside alice's one.
        var firsts = new List<(string Token, string Session)>();
        for (int c = 0; c < 12; c++)
        {
            string heavy = gw.Token($"ci-{c}");
            for (int i = 0; i < 10; i++)
            {
                string session = (await PostAsync(gw, heavy, Initialize)).Header("Mcp-Session-Id")!;
                if (i == 0) firsts.Add((heavy, session));
            }
        }

        // Alice's session is the least recently used of all, and still hers: forwarded, not refused.
        Assert.Equal(200, (await PostAsync(gw, alice, Ping(2), alices)).Status);
        Assert.Equal(1, Naming(gw.Upstream, alices));
        // What went were the heavy callers' own oldest: the first caller's first session is forgotten.
        Assert.Equal(404, (await PostAsync(gw, firsts[0].Token, Ping(3), firsts[0].Session)).Status);
        Assert.Equal(0, Posted(gw.Upstream, firsts[0].Session));
        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_session_bindings_evicted_total{bound=\"max_per_upstream\"} 21\n", metrics);
        Assert.Contains("fastmcp_session_bindings_evicted_total{bound=\"max_per_caller\"} 0\n", metrics);
    }

    [Fact]
    public void The_sessions_section_is_checked_at_load()
    {
        var options = new GatewayOptions();
        options.Sessions.Unknown = "trust";
        Assert.Equal("sessions.unknown", Assert.Throws<ConfigurationException>(() => Configuration.ConfigurationLoader.Validate(options)).Field);
        options.Sessions.Unknown = "refuse";
        options.Sessions.MaxPerUpstream = 0;
        Assert.Equal("sessions.maxPerUpstream", Assert.Throws<ConfigurationException>(() => Configuration.ConfigurationLoader.Validate(options)).Field);
        options.Sessions.MaxPerUpstream = 100_000;
        options.Sessions.MaxPerCaller = 0;
        Assert.Equal("sessions.maxPerCaller", Assert.Throws<ConfigurationException>(() => Configuration.ConfigurationLoader.Validate(options)).Field);
        options.Sessions.MaxPerCaller = 1_000;
        options.Sessions.RecordIntervalSeconds = 0;
        Assert.Equal("sessions.recordIntervalSeconds", Assert.Throws<ConfigurationException>(() => Configuration.ConfigurationLoader.Validate(options)).Field);
        options.Sessions.RecordIntervalSeconds = 10;
        Configuration.ConfigurationLoader.Validate(options);
    }
}
