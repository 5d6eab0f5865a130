using System.Diagnostics;
using System.Text.Json;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// A session the gateway forgets past a bound (sessions.maxPerCaller, sessions.maxPerUpstream) can never be used through
/// it again, so the gateway ends it at the upstream itself: a DELETE with its id and the gateway's own credential, sent
/// in the background so that the caller opening a new session never waits for it (docs/configuration.md, "sessions").
/// </summary>
[Collection(LogOutputCollection.Name)]
public sealed class ForgottenSessionEndTests
{
    private static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow" }];

    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    private const string Ping = """{"jsonrpc":"2.0","id":2,"method":"ping"}""";

    private static Task<RawResponse> PostAsync(PolicyGateway gw, string token, string json, string? session = null) =>
        gw.PostAsync(json, token, session is null ? "" : $"Mcp-Session-Id: {session}\r\n");

    private static async Task<string> OpenAsync(PolicyGateway gw, string token)
    {
        RawResponse r = await PostAsync(gw, token, Initialize);
        Assert.Equal(200, r.Status);
        return r.Header("Mcp-Session-Id")!;
    }

    private static async Task<RawResponse> DeleteAsync(PolicyGateway gw, string token, string session)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync($"DELETE /mcp HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {token}\r\nMcp-Session-Id: {session}\r\n\r\n");
        return await client.ReadResponseAsync();
    }

    private static UpstreamRequest[] Deletes(ScriptedUpstream upstream, string session) =>
        [.. upstream.Requests.Where(r => r.Method == "DELETE" && r.Header("Mcp-Session-Id") == session)];

    /// <summary>Waits (at most 15 s, 300 looks) for what the background ending does; false when it never happened.</summary>
    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        for (int look = 0; look < 300 && clock.Elapsed < TimeSpan.FromSeconds(15); look++)
        {
            if (await condition()) return true;
            await Task.Delay(50);
        }
        return false;
    }

    private static Task<bool> MetricShowsAsync(PolicyGateway gw, string line) =>
        EventuallyAsync(async () => (await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics")).Contains(line + "\n", StringComparison.Ordinal));

    [Fact]
    public async Task A_session_forgotten_past_the_callers_bound_is_ended_at_the_upstream_with_the_gateways_credential()
    {
        string dir = Path.Combine(Path.GetTempPath(), "fastmcp-ends-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "credential"), "gateway-secret");
            await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.IssuingSessions(), AllowAll, o =>
            {
                o.Sessions.MaxPerCaller = 2;
                o.Identity!.UpstreamCredential = new UpstreamCredentialOptions { ValueFile = Path.Combine(dir, "credential") };
            });
            string alice = gw.Token("alice");
            string first = await OpenAsync(gw, alice);
            await OpenAsync(gw, alice);
            Assert.DoesNotContain(gw.Upstream.Requests, r => r.Method == "DELETE");

            await OpenAsync(gw, alice);
            Assert.True(await EventuallyAsync(() => Task.FromResult(Deletes(gw.Upstream, first).Length > 0)), "the forgotten session was never ended at the upstream");
            UpstreamRequest delete = Assert.Single(Deletes(gw.Upstream, first));
            Assert.Equal("/mcp", delete.Target);
            Assert.Equal("Bearer gateway-secret", delete.Header("Authorization"));
            Assert.DoesNotContain(alice, delete.Head.Raw, StringComparison.Ordinal);
            // A plain route's binding does not know the version the session negotiated (it is in the initialize body): none is sent.
            Assert.Null(delete.Header("MCP-Protocol-Version"));
            Assert.Single(gw.Upstream.Requests, r => r.Method == "DELETE");

            // Forgotten at the gateway: refused, never forwarded.
            Assert.Equal(404, (await PostAsync(gw, alice, Ping, first)).Status);
            Assert.DoesNotContain(gw.Upstream.Requests, r => r.Method == "POST" && r.Header("Mcp-Session-Id") == first);
            Assert.True(await MetricShowsAsync(gw, "fastmcp_upstream_sessions_ended_total{upstream=\"default\",result=\"ended\"} 1"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task An_upstream_that_never_answers_the_end_does_not_hold_up_the_callers_new_session_and_the_end_counts_as_failed()
    {
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.IssuingSessions(x => x.HangAsync()), AllowAll, o =>
        {
            o.Sessions.MaxPerCaller = 2;
            o.Upstream.ResponseTimeoutMs = 1_000;
        });
        string alice = gw.Token("alice");
        string first = await OpenAsync(gw, alice);
        await OpenAsync(gw, alice);

        // The third session opens while the first one's DELETE hangs at the upstream.
        string third = await OpenAsync(gw, alice);
        Assert.True(await EventuallyAsync(() => Task.FromResult(Deletes(gw.Upstream, first).Length > 0)), "the forgotten session was never ended at the upstream");
        Assert.Equal(200, (await PostAsync(gw, alice, Ping, third)).Status);
        Assert.True(await MetricShowsAsync(gw, "fastmcp_upstream_sessions_ended_total{upstream=\"default\",result=\"failed\"} 1"));
        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_upstream_sessions_ended_total{upstream=\"default\",result=\"ended\"} 0\n", metrics);
    }

    [Fact]
    public async Task A_session_its_owner_ended_is_not_ended_again_by_the_gateway()
    {
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.IssuingSessions(), AllowAll, o => o.Sessions.MaxPerCaller = 2);
        string alice = gw.Token("alice");
        string ownedAndEnded = await OpenAsync(gw, alice);
        Assert.Equal(200, (await DeleteAsync(gw, alice, ownedAndEnded)).Status);
        string second = await OpenAsync(gw, alice);
        await OpenAsync(gw, alice);
        await OpenAsync(gw, alice);    // the second goes past the bound

        // Ends go out one after another per upstream: once the second's is there, any for the first would be too.
        Assert.True(await EventuallyAsync(() => Task.FromResult(Deletes(gw.Upstream, second).Length > 0)), "the forgotten session was never ended at the upstream");
        Assert.Single(Deletes(gw.Upstream, ownedAndEnded));
        Assert.Single(Deletes(gw.Upstream, second));
        Assert.True(await MetricShowsAsync(gw, "fastmcp_upstream_sessions_ended_total{upstream=\"default\",result=\"ended\"} 1"));
    }

    [Fact]
    public async Task An_upstream_that_no_longer_knows_the_session_is_counted_not_found()
    {
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.IssuingSessions(x => x.RespondAsync(404, "", "")), AllowAll, o => o.Sessions.MaxPerCaller = 1);
        string alice = gw.Token("alice");
        string first = await OpenAsync(gw, alice);
        await OpenAsync(gw, alice);
        Assert.True(await MetricShowsAsync(gw, "fastmcp_upstream_sessions_ended_total{upstream=\"default\",result=\"not_found\"} 1"));
        Assert.Single(Deletes(gw.Upstream, first));
    }

    [Fact]
    public async Task Failed_ends_are_logged_once_per_upstream_per_minute_without_the_session_ids()
    {
        var lines = new StringWriter();
        TextWriter previous = Log.Output;
        Log.Output = TextWriter.Synchronized(lines);
        try
        {
            await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.IssuingSessions(x => x.RespondAsync(500, "", "")), AllowAll, o => o.Sessions.MaxPerCaller = 1);
            string alice = gw.Token("alice");
            var opened = new List<string>();
            for (int i = 0; i < 4; i++) opened.Add(await OpenAsync(gw, alice));
            Assert.True(await MetricShowsAsync(gw, "fastmcp_upstream_sessions_ended_total{upstream=\"default\",result=\"failed\"} 3"));
            string[] warnings = [.. lines.ToString().Split('\n').Where(l => l.Contains("could not be ended", StringComparison.Ordinal))];
            string warning = Assert.Single(warnings);
            Assert.Contains("upstream 'default'", warning, StringComparison.Ordinal);
            Assert.Contains("HTTP 500", warning, StringComparison.Ordinal);
            // The id is a bearer for the session: never logged.
            foreach (string session in opened) Assert.DoesNotContain(session, warning, StringComparison.Ordinal);
        }
        finally
        {
            Log.Output = previous;
        }
    }

    /// <summary>A minimal stdio MCP server: answers initialize and every other request with a result; notifications with nothing.</summary>
    private const string StdioServer = """
        const lines = require('readline').createInterface({ input: process.stdin });
        lines.on('line', line => {
          const m = JSON.parse(line);
          if (m.id === undefined) return;
          const result = m.method === 'initialize'
            ? { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'stdio-test', version: '1' } }
            : {};
          process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) + '\n');
        });
        """;

    [Fact]
    public async Task A_forgotten_session_of_a_stdio_upstream_has_its_server_process_stopped_at_once()
    {
        using var server = new StdioServerFolder(StdioServer);
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o =>
        {
            // Idle sessions would only be stopped after ten minutes: what stops this one is the gateway's DELETE.
            server.AddTo(o, sessionIdleMs: 600_000);
            o.Sessions.MaxPerCaller = 1;
        });
        Upstream.Stdio.StdioBridge bridge = gw.Gateway.StdioBridges["tool"];
        string alice = gw.Token("alice");
        RawResponse opened = await gw.PostAsync(Initialize, alice, "", StdioServerFolder.Route);
        Assert.Equal(200, opened.Status);
        string first = opened.Header("Mcp-Session-Id")!;
        Assert.Equal(1, bridge.SessionCount);

        Assert.Equal(200, (await gw.PostAsync(Initialize, alice, "", StdioServerFolder.Route)).Status);
        Assert.True(await EventuallyAsync(() => Task.FromResult(bridge.SessionCount == 1)), $"the bridge still runs {bridge.SessionCount} sessions");
        Assert.True(await MetricShowsAsync(gw, "fastmcp_upstream_sessions_ended_total{upstream=\"tool\",result=\"ended\"} 1"));
        Assert.Equal(404, (await gw.PostAsync(Ping, alice, $"Mcp-Session-Id: {first}\r\n", StdioServerFolder.Route)).Status);
    }
}
