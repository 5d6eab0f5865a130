using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Support.AuditRecordFields;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// On a federated path the merged GET and the fanned-out DELETE are decided per member, as the caller's initialize on that
/// member would be now (rules see the member's name): a member the caller may no longer initialize on gets no GET or DELETE
/// on their behalf, and when none may, the client gets 403.
/// </summary>
public sealed class FederatedSessionRequestPolicyTests
{
    private static string Logged(string member, string dataSuffix = "") =>
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"log-from-" + member + dataSuffix + "\"}}";

    /// <summary>
    /// A member that opens sessions, sends one log message on its GET stream and accepts DELETE; with <paramref name="resume"/>,
    /// its GET stream then waits for it and sends a "late" message. Each message's data ends with <paramref name="dataSuffix"/>.
    /// </summary>
    internal static Func<UpstreamExchange, Task> Member(string name, TaskCompletionSource? resume = null, string dataSuffix = "") => async x =>
    {
        string session = $"Mcp-Session-Id: s-{name}\r\n";
        if (x.Request.Method == "DELETE")
        {
            await x.RespondAsync(200, "", "");
            return;
        }
        if (x.Request.Method == "GET")
        {
            await x.StartEventStreamAsync(session);
            await x.SendEventAsync("id: 1\nevent: message\ndata: " + Logged(name, dataSuffix) + "\n\n");
            if (resume is not null)
            {
                await resume.Task.WaitAsync(TimeSpan.FromSeconds(20), x.Stopping);
                await x.SendEventAsync("id: 2\nevent: message\ndata: " + Logged("late-" + name, dataSuffix) + "\n\n");
            }
            await x.EndChunkedAsync();
            return;
        }
        using JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes);
        if (!doc.RootElement.TryGetProperty("id", out JsonElement id))
        {
            await x.RespondAsync(202, "", "");
            return;
        }
        string result = doc.RootElement.GetProperty("method").GetString() == "initialize"
            ? """{"protocolVersion":"2025-06-18","capabilities":{"logging":{}},"serverInfo":{"name":"NAME","version":"1"}}""".Replace("NAME", name, StringComparison.Ordinal)
            : "{}";
        await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":" + result + "}", session);
    };

    private static List<RuleOptions> Open =>
    [
        new RuleOptions { Name = "sessions", Action = "allow", Methods = ["initialize", "logging/setLevel", "notifications/*"] },
    ];

    /// <summary>The gateway with members a and b federated at /mcp/all (<paramref name="configure"/>: anything else).</summary>
    internal static Task<PolicyGateway> FederatedAsync(ScriptedUpstream a, ScriptedUpstream b, List<RuleOptions>? rules = null, TimeProvider? policyClock = null,
        Action<GatewayOptions>? configure = null) =>
        PolicyGateway.StartAsync(UpstreamScripts.Echo, rules ?? Open, o =>
        {
            configure?.Invoke(o);
            o.Upstreams["a"] = new UpstreamOptions { Url = a.Url, ConnectTimeoutMs = 1_000 };
            o.Upstreams["b"] = new UpstreamOptions { Url = b.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
        }, policyClock);

    internal static async Task<string> InitializeAsync(PolicyGateway gw, string token)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
            $"Authorization: Bearer {token}\r\n", "/mcp/all"));
        return (await client.ReadResponseAsync()).Header("Mcp-Session-Id")!;
    }

    private static async Task<RawResponse> SendAsync(PolicyGateway gw, string method, string token, string session)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync($"{method} /mcp/all HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\n\r\n");
        return await client.ReadResponseAsync();
    }

    /// <summary>The caller's merged GET stream, read until both members' first messages came (the client stays open).</summary>
    internal static async Task<(RawClient Client, System.Text.StringBuilder Merged)> OpenMergedStreamAsync(PolicyGateway gw, string token, string session)
    {
        RawClient client = await gw.Gateway.ConnectAsync();
        try
        {
            await client.SendAsync($"GET /mcp/all HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\n\r\n");
            Assert.Equal(200, (await client.ReadHeadAsync()).Status);
            var merged = new System.Text.StringBuilder();
            for (int i = 0; i < 10 && !(merged.ToString().Contains("log-from-a", StringComparison.Ordinal) && merged.ToString().Contains("log-from-b", StringComparison.Ordinal)); i++)
                merged.Append(await client.ReadChunkAsync("both members' first messages"));
            return (client, merged);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    internal static void Reload(PolicyGateway g, List<RuleOptions> rules) =>
        g.Gateway.Stages.Authorization!.Swap(GatewayStages.CompilePolicy(new PolicyOptions { Rules = rules }));

    [Fact]
    public async Task A_member_the_caller_may_no_longer_initialize_on_gets_no_get_or_delete()
    {
        await using var a = new ScriptedUpstream(Member("a"));
        await using var b = new ScriptedUpstream(Member("b"));
        await using PolicyGateway gw = await FederatedAsync(a, b);
        string token = gw.Token("alice");
        string session = await InitializeAsync(gw, token);
        Reload(gw, [new RuleOptions { Name = "alice-off-b", Action = "deny", Subjects = ["alice"], Upstreams = ["b"] }, .. Open]);

        RawResponse merged = await SendAsync(gw, "GET", token, session);
        RawResponse ended = await SendAsync(gw, "DELETE", token, session);

        Assert.Equal(200, merged.Status);
        Assert.Contains("log-from-a", merged.Body);
        Assert.DoesNotContain("log-from-b", merged.Body);
        Assert.Equal(200, ended.Status);
        Assert.Equal(["POST", "GET", "DELETE"], a.Requests.Select(r => r.Method));
        Assert.Equal(["POST"], b.Requests.Select(r => r.Method));
        List<JsonElement> denials = [.. Parse(await gw.StopAndReadAuditAsync()).Where(r => Field(r, "type") == "Denied")];
        Assert.Equal(["GET stream", "DELETE session"], denials.Select(Method));
        Assert.All(denials, d => Assert.Equal("b", d.GetProperty("component").GetProperty("upstreamName").GetString()));
        Assert.All(denials, d => Assert.Equal("alice-off-b", Field(d, "rule")));
    }

    [Fact]
    public async Task When_no_member_may_be_initialized_on_the_get_and_the_delete_are_refused_with_403()
    {
        await using var a = new ScriptedUpstream(Member("a"));
        await using var b = new ScriptedUpstream(Member("b"));
        await using PolicyGateway gw = await FederatedAsync(a, b);
        string token = gw.Token("alice");
        string session = await InitializeAsync(gw, token);
        Reload(gw, [new RuleOptions { Name = "alice-off", Action = "deny", Subjects = ["alice"] }, .. Open]);

        RawResponse merged = await SendAsync(gw, "GET", token, session);
        RawResponse ended = await SendAsync(gw, "DELETE", token, session);

        Assert.Equal(403, merged.Status);
        Assert.Equal(403, ended.Status);
        using (JsonDocument body = JsonDocument.Parse(ended.Body))
            Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(["POST"], a.Requests.Select(r => r.Method));
        Assert.Equal(["POST"], b.Requests.Select(r => r.Method));
        // The refused DELETE ended nothing: once allowed again, the session is still there.
        Reload(gw, Open);
        Assert.Equal(200, (await SendAsync(gw, "DELETE", token, session)).Status);
        Assert.Equal(["POST", "DELETE"], a.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task A_reload_that_revokes_the_caller_on_one_member_ends_the_merged_stream_at_its_next_event()
    {
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var a = new ScriptedUpstream(Member("a", resume));
        await using var b = new ScriptedUpstream(Member("b", resume));
        await using PolicyGateway gw = await FederatedAsync(a, b);
        string token = gw.Token("alice");
        string session = await InitializeAsync(gw, token);
        long endedBefore = gw.Gateway.Host.Runtime.Counters.StreamsEnded[(int)FastMcp.Gateway.Proxy.StreamEndReason.PolicyRevoked - 1];

        (RawClient client, System.Text.StringBuilder merged) = await OpenMergedStreamAsync(gw, token, session);
        using RawClient _ = client;
        Reload(gw, [new RuleOptions { Name = "alice-off-b", Action = "deny", Subjects = ["alice"], Upstreams = ["b"] }, .. Open]);
        resume.SetResult();
        string? chunk;
        for (int i = 0; i < 10 && (chunk = await client.ReadChunkAsync("the rest of the merged stream")) is not null; i++) merged.Append(chunk);

        Assert.DoesNotContain("late-", merged.ToString());
        Assert.Equal(endedBefore + 1, gw.Gateway.Host.Runtime.Counters.StreamsEnded[(int)FastMcp.Gateway.Proxy.StreamEndReason.PolicyRevoked - 1]);
    }

    [Fact]
    public async Task A_window_that_closes_on_one_member_ends_the_quiet_merged_stream_without_any_event()
    {
        var start = new DateTimeOffset(2030, 3, 4, 17, 0, 0, TimeSpan.Zero);
        var clock = new ManualPolicyClock(start);
        List<RuleOptions> bUntilFreeze =
        [
            new RuleOptions { Name = "b-until-freeze", Action = "allow", Methods = ["initialize"], Upstreams = ["b"],
                Time = new TimeConditionOptions { NotAfter = "2030-03-04T18:00:00Z" } },
            new RuleOptions { Name = "sessions-on-a", Action = "allow", Methods = ["initialize"], Upstreams = ["a"] },
            new RuleOptions { Name = "members", Action = "allow", Methods = ["logging/setLevel", "notifications/*"] },
        ];
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var a = new ScriptedUpstream(Member("a", resume));
        await using var b = new ScriptedUpstream(Member("b", resume));
        await using PolicyGateway gw = await FederatedAsync(a, b, bUntilFreeze, clock);
        string token = gw.Token("alice");
        string session = await InitializeAsync(gw, token);

        (RawClient client, System.Text.StringBuilder merged) = await OpenMergedStreamAsync(gw, token, session);
        using RawClient _ = client;
        // The members send nothing more (never resumed): only the heartbeat can end the merged stream.
        clock.Advance(TimeSpan.FromHours(2));
        string? chunk;
        for (int i = 0; i < 10 && (chunk = await client.ReadChunkAsync("the end of the merged stream")) is not null; i++) merged.Append(chunk);

        Assert.DoesNotContain("late-", merged.ToString());
        Assert.Equal(1, gw.Gateway.Host.Runtime.Counters.StreamsEnded[(int)FastMcp.Gateway.Proxy.StreamEndReason.PolicyWindowClosed - 1]);
    }
}
