using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Gateway.Upstream;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// A federated path's sessions are bounded as plain routes' are: one caller keeps at most sessions.maxPerCaller (its own
/// oldest goes past it), and a full path (limits.maxConnections sessions) loses a heaviest holder's oldest, so a caller
/// initializing in a loop cannot push out other callers' sessions.
/// </summary>
public sealed class FederatedSessionBoundsTests
{
    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    private const string ToolsList = """{"jsonrpc":"2.0","id":2,"method":"tools/list"}""";

    private static Func<UpstreamExchange, Task> Member(string name) =>
        ScriptedMember.Serve(name, (x, id) => x.RespondJsonAsync(PolicyGateway.ToolsListResult(id, "echo"), $"Mcp-Session-Id: s-{name}\r\n"));

    private static Task<RawResponse> PostAsync(PolicyGateway gw, string token, string json, string? session = null) =>
        gw.PostAsync(json, token, session is null ? "" : $"Mcp-Session-Id: {session}\r\n", "/mcp/all");

    private static async Task<string> OpenAsync(PolicyGateway gw, string token)
    {
        RawResponse r = await PostAsync(gw, token, Initialize);
        Assert.Equal(200, r.Status);
        return r.Header("Mcp-Session-Id")!;
    }

    /// <summary>The gateway with the federated path /mcp/all over members a and b, and the bounds a test sets.</summary>
    private static Task<PolicyGateway> StartPathAsync(ScriptedUpstream a, ScriptedUpstream b, Action<GatewayOptions> bounds) =>
        PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }], o =>
        {
            o.Upstreams["a"] = new UpstreamOptions { Url = a.Url, ConnectTimeoutMs = 1_000 };
            o.Upstreams["b"] = new UpstreamOptions { Url = b.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
            bounds(o);
        });

    [Fact]
    public async Task A_heavy_caller_loses_its_own_oldest_federated_sessions_and_a_quiet_callers_keeps_working()
    {
        await using var a = new ScriptedUpstream(Member("a"));
        await using var b = new ScriptedUpstream(Member("b"));
        // The path keeps 32 sessions (limits.maxConnections), each caller 8.
        await using var gw = await StartPathAsync(a, b, o =>
        {
            o.Limits.MaxConnections = 32;
            o.Sessions.MaxPerCaller = 8;
        });
        string alice = gw.Token("alice"), mallory = gw.Token("mallory");
        string alices = await OpenAsync(gw, alice);

        // Mallory opens more sessions than the path holds: before the per-caller bound, alice's went first.
        var mallorys = new List<string>();
        for (int i = 0; i < 40; i++) mallorys.Add(await OpenAsync(gw, mallory));

        RawResponse listed = await PostAsync(gw, alice, ToolsList, alices);
        Assert.Equal(200, listed.Status);
        Assert.Contains("a__echo", listed.Body, StringComparison.Ordinal);
        // Mallory keeps her 8 most recent; her oldest are gone.
        Assert.Equal(404, (await PostAsync(gw, mallory, ToolsList, mallorys[0])).Status);
        Assert.Equal(404, (await PostAsync(gw, mallory, ToolsList, mallorys[^9])).Status);
        Assert.Equal(200, (await PostAsync(gw, mallory, ToolsList, mallorys[^8])).Status);
        Assert.Equal(200, (await PostAsync(gw, mallory, ToolsList, mallorys[^1])).Status);

        // Five more callers at their own bound: 1 + 8 + 40 sessions, 17 more than the path keeps. The heavy holders
        // lose their own oldest; alice's one session, the least recently used of all, stays.
        for (int c = 0; c < 5; c++)
        {
            string heavy = gw.Token($"ci-{c}");
            for (int i = 0; i < 8; i++) await OpenAsync(gw, heavy);
        }
        Assert.Equal(200, (await PostAsync(gw, alice, ToolsList, alices)).Status);

        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint!, "/metrics");
        Assert.Contains("fastmcp_federation_sessions 32\n", metrics);
        Assert.Contains("fastmcp_federation_sessions_evicted_total{bound=\"max_per_caller\"} 32\n", metrics);
        Assert.Contains("fastmcp_federation_sessions_evicted_total{bound=\"max_per_path\"} 17\n", metrics);
    }

    [Fact]
    public async Task A_federated_session_forgotten_past_the_bound_is_ended_at_every_member()
    {
        await using var a = new ScriptedUpstream(Member("a"));
        await using var b = new ScriptedUpstream(Member("b"));
        await using var gw = await StartPathAsync(a, b, o => o.Sessions.MaxPerCaller = 2);
        string alice = gw.Token("alice");
        string first = await OpenAsync(gw, alice);
        await OpenAsync(gw, alice);
        Assert.DoesNotContain(a.Requests, r => r.Method == "DELETE");

        await OpenAsync(gw, alice);
        // Ended in the background: counted once each member answered (at most 300 looks, 15 s).
        string metrics = "";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int look = 0; look < 300 && clock.Elapsed < TimeSpan.FromSeconds(15); look++)
        {
            metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint!, "/metrics");
            if (metrics.Contains("upstream=\"a\",result=\"ended\"} 1\n", StringComparison.Ordinal)
                && metrics.Contains("upstream=\"b\",result=\"ended\"} 1\n", StringComparison.Ordinal)) break;
            await Task.Delay(50);
        }
        Assert.Contains("fastmcp_upstream_sessions_ended_total{upstream=\"a\",result=\"ended\"} 1\n", metrics);
        Assert.Contains("fastmcp_upstream_sessions_ended_total{upstream=\"b\",result=\"ended\"} 1\n", metrics);
        foreach ((ScriptedUpstream member, string name) in new[] { (a, "a"), (b, "b") })
        {
            UpstreamRequest delete = Assert.Single(member.Requests, r => r.Method == "DELETE");
            Assert.Equal($"s-{name}", delete.Header("Mcp-Session-Id"));
            // The version the member agreed to in its initialize answer, as every request of that session carries.
            Assert.Equal("2025-06-18", delete.Header("MCP-Protocol-Version"));
            Assert.DoesNotContain(alice, delete.Head.Raw, StringComparison.Ordinal);
        }
        Assert.Equal(404, (await PostAsync(gw, alice, ToolsList, first)).Status);
    }

    [Theory]
    [InlineData(IdentityModes.Anonymous, 6)]
    [InlineData(IdentityModes.Dev, 2)]
    public void Anonymous_callers_are_one_principal_so_only_the_paths_bound_applies(string mode, int kept)
    {
        var options = new GatewayOptions { Identity = new IdentityOptions { Mode = mode } };
        options.Upstreams["a"] = new UpstreamOptions { Url = "http://127.0.0.1:9/mcp" };
        options.Upstreams["b"] = new UpstreamOptions { Url = "http://127.0.0.1:9/mcp" };
        options.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
        options.Limits.MaxConnections = 8;
        options.Sessions.MaxPerCaller = 2;
        using RouteTable routes = RouteTable.Build(options, null, null, injectCredentials: false);

        Federation.FederationSessions sessions = routes.Federated[0].Sessions;
        for (int i = 0; i < 6; i++) sessions.Open(Principal.Anonymous.Subject, Principal.Anonymous.Issuer);
        Assert.Equal(kept, sessions.CountOf(Principal.Anonymous.Subject, Principal.Anonymous.Issuer));
    }
}
