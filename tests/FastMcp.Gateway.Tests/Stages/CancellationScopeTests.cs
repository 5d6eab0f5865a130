using System.Collections.Concurrent;
using System.Text.Json;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Routing;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A caller cancels only its own calls: a client's notifications/cancelled reaches a sessionless upstream (every caller on
/// the gateway's one credential and its pooled connections) only when it names a request the same caller has in flight
/// there. Another caller's cancellation of the same numeric id, or one after the answer, is not forwarded (202, recorded
/// denied by (cancel-not-yours)); the caller's own cancellation of a call held for approval withdraws it.
/// </summary>
public sealed class CancellationScopeTests
{
    private static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow" }];

    internal static string Call(string idJson, string tool = "pay") =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":{\"amount\":5}}}";

    internal static string Cancel(string idJson) =>
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":" + idJson + ",\"reason\":\"user\"}}";

    internal const string Stateless = "MCP-Protocol-Version: 2025-06-18\r\n";

    /// <summary>A sessionless server whose calls wait until the test releases them; notifications get 202.</summary>
    internal sealed class SlowServer
    {
        public readonly ConcurrentQueue<string> Arrived = new();
        private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>What the calls arriving now wait for.</summary>
        public TaskCompletionSource Release => Volatile.Read(ref _release);

        /// <summary>Holds the calls arriving from now on again, once an earlier <see cref="Release"/> let the others go.</summary>
        public void Rearm() => Volatile.Write(ref _release, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        private readonly SemaphoreSlim _calls = new(0);

        public async Task Script(UpstreamExchange x)
        {
            using (JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes))
            {
                if (!doc.RootElement.TryGetProperty("id", out JsonElement id))
                {
                    await x.RespondAsync(202, "", "");
                    return;
                }
                Arrived.Enqueue(id.GetRawText());
            }
            _calls.Release();
            await Release.Task.WaitAsync(TimeSpan.FromSeconds(20), x.Stopping);
            await x.RespondJsonAsync(ScriptedMember.Result(x.Request.IdJson(), "{\"content\":[{\"type\":\"text\",\"text\":\"paid\"}]}"));
        }

        public Task CallArrivedAsync() => _calls.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(t =>
        {
            if (!t.Result) throw new TimeoutException("the call did not reach the upstream");
        });
    }

    internal static int CancellationsAt(ScriptedUpstream upstream) => upstream.Requests.Count(r => r.Body.Contains("notifications/cancelled", StringComparison.Ordinal));

    internal static async Task<RawClient> SendAsync(PolicyGateway gw, string json, string token, string headers = Stateless)
    {
        RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(json, $"Authorization: Bearer {token}\r\n{headers}"));
        return client;
    }

    [Fact]
    public async Task Another_callers_cancellation_of_the_same_id_is_not_forwarded_and_is_recorded_the_owners_is()
    {
        var server = new SlowServer();
        await using PolicyGateway gw = await PolicyGateway.StartAsync(server.Script, AllowAll);
        string alice = gw.Token("alice"), bob = gw.Token("bob");
        using RawClient aliceCall = await SendAsync(gw, Call("1"), alice);
        await server.CallArrivedAsync();

        RawResponse bobs = await gw.PostAsync(Cancel("1"), bob, Stateless);
        Assert.Equal(202, bobs.Status);
        Assert.Equal("", bobs.Body);
        Assert.Equal(0, CancellationsAt(gw.Upstream));

        // The same id written otherwise (a string, another number spelling) is another request: not forwarded either.
        Assert.Equal(202, (await gw.PostAsync(Cancel("\"1\""), alice, Stateless)).Status);
        Assert.Equal(202, (await gw.PostAsync(Cancel("1.0"), alice, Stateless)).Status);
        Assert.Equal(0, CancellationsAt(gw.Upstream));

        RawResponse alices = await gw.PostAsync(Cancel("1"), alice, Stateless);
        Assert.Equal(202, alices.Status);
        Assert.Equal(1, CancellationsAt(gw.Upstream));

        server.Release.SetResult();
        RawResponse answer = await aliceCall.ReadResponseAsync();
        Assert.Equal(200, answer.Status);
        Assert.Contains("paid", answer.Body, StringComparison.Ordinal);
        Assert.Equal(3, Volatile.Read(ref gw.Gateway.Host.Runtime.Counters.PolicyDenied));

        string[] records = await gw.StopAndReadAuditAsync();
        List<JsonElement> denied = [.. AuditRecordFields.Parse(records).Where(r => AuditRecordFields.Field(r, "type") == "Denied")];
        Assert.Equal(3, denied.Count);
        Assert.All(denied, r =>
        {
            Assert.Equal("notifications/cancelled", AuditRecordFields.Method(r));
            Assert.Equal("(cancel-not-yours)", AuditRecordFields.Field(r, "rule"));
            Assert.Contains("not forwarded", AuditRecordFields.Field(r, "detail"), StringComparison.Ordinal);
        });
        Assert.Equal("bob", denied[0].GetProperty("user").GetProperty("subject").GetString());
    }

    [Fact]
    public async Task A_cancellation_is_not_forwarded_while_another_caller_has_a_call_under_the_same_id_at_a_sessionless_upstream()
    {
        var server = new SlowServer();
        await using PolicyGateway gw = await PolicyGateway.StartAsync(server.Script, AllowAll);
        string alice = gw.Token("alice"), bob = gw.Token("bob");
        using RawClient aliceCall = await SendAsync(gw, Call("1"), alice);
        await server.CallArrivedAsync();
        using RawClient bobCall = await SendAsync(gw, Call("1"), bob);
        await server.CallArrivedAsync();

        // Alice's own call, but the upstream has no session to tell it from Bob's: it could stop Bob's.
        RawResponse alices = await gw.PostAsync(Cancel("1"), alice, Stateless);
        Assert.Equal(202, alices.Status);
        Assert.Equal("", alices.Body);
        Assert.Equal(0, CancellationsAt(gw.Upstream));
        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_cancellations_ambiguous_total 1\n", metrics, StringComparison.Ordinal);

        server.Release.SetResult();
        Assert.Equal(200, (await aliceCall.ReadResponseAsync()).Status);
        Assert.Equal(200, (await bobCall.ReadResponseAsync()).Status);
        // A call leaves the in-flight table when its exchange ends, just after its answer is written: wait for that
        // (bounded), or Bob's entry could still make Alice's next cancellation ambiguous (CI saw it once).
        var left = System.Diagnostics.Stopwatch.StartNew();
        while (gw.Gateway.Host.Runtime.InFlightCalls.Count != 0 && left.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(10);
        Assert.Equal(0, gw.Gateway.Host.Runtime.InFlightCalls.Count);
        // Bob's call is over: Alice's next call under id 1 (held at the upstream, so in flight when she cancels it) is
        // hers alone, and its cancellation goes.
        server.Rearm();
        using RawClient again = await SendAsync(gw, Call("1"), alice);
        await server.CallArrivedAsync();
        Assert.Equal(202, (await gw.PostAsync(Cancel("1"), alice, Stateless)).Status);
        Assert.Equal(1, CancellationsAt(gw.Upstream));
        server.Release.SetResult();
        Assert.Equal(200, (await again.ReadResponseAsync()).Status);

        Assert.Equal(1, Volatile.Read(ref gw.Gateway.Host.Runtime.Counters.PolicyDenied));
        string[] records = await gw.StopAndReadAuditAsync();
        JsonElement denied = Assert.Single(AuditRecordFields.Parse(records), r => AuditRecordFields.Field(r, "type") == "Denied");
        Assert.Equal("(cancel-ambiguous)", AuditRecordFields.Field(denied, "rule"));
        Assert.Equal("notifications/cancelled", AuditRecordFields.Method(denied));
        Assert.Equal("alice", denied.GetProperty("user").GetProperty("subject").GetString());
        Assert.StartsWith("cancellation not forwarded: another caller has a request with this id in flight", AuditRecordFields.Field(denied, "detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_identity_the_anonymous_callers_cancellation_on_another_connection_finds_its_call()
    {
        var server = new SlowServer();
        await using PolicyGateway gw = await PolicyGateway.StartAsync(server.Script, AllowAll, o => o.Identity = new IdentityOptions { Mode = IdentityModes.Anonymous });
        var calls = new List<RawClient>();
        // Calls on several connections, each kept in its connection's stripe (anonymous callers share one subject).
        for (int i = 1; i <= 3; i++)
        {
            RawClient client = await gw.Gateway.ConnectAsync();
            calls.Add(client);
            await client.SendAsync(gw.Gateway.Post(Call(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), Stateless));
            await server.CallArrivedAsync();
        }

        Assert.Equal(202, (await PostAnonymousAsync(gw, Cancel("2"))).Status);
        Assert.Equal(202, (await PostAnonymousAsync(gw, Cancel("9"))).Status);
        server.Release.SetResult();
        foreach (RawClient client in calls)
        {
            Assert.Equal(200, (await client.ReadResponseAsync()).Status);
            client.Dispose();
        }

        UpstreamRequest cancelled = Assert.Single(gw.Upstream.Requests, r => r.Body.Contains("notifications/cancelled", StringComparison.Ordinal));
        Assert.Contains("\"requestId\":2", cancelled.Body, StringComparison.Ordinal);
        string[] records = await gw.StopAndReadAuditAsync();
        JsonElement denied = Assert.Single(AuditRecordFields.Parse(records), r => AuditRecordFields.Field(r, "type") == "Denied");
        Assert.Equal("(cancel-not-yours)", AuditRecordFields.Field(denied, "rule"));
    }

    private static async Task<RawResponse> PostAnonymousAsync(PolicyGateway gw, string json)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(json, Stateless));
        return await client.ReadResponseAsync();
    }

    [Fact]
    public async Task A_cancellation_after_the_answer_finished_is_not_forwarded()
    {
        var server = new SlowServer();
        server.Release.SetResult();
        await using PolicyGateway gw = await PolicyGateway.StartAsync(server.Script, AllowAll);
        string alice = gw.Token("alice");
        using RawClient client = await SendAsync(gw, Call("7"), alice);
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);

        // On the same connection: the exchange that answered id 7 has ended before this one is read.
        await client.SendAsync(gw.Gateway.Post(Cancel("7"), $"Authorization: Bearer {alice}\r\n{Stateless}"));
        RawResponse late = await client.ReadResponseAsync();

        Assert.Equal(202, late.Status);
        Assert.Equal(0, CancellationsAt(gw.Upstream));
    }

    /// <param name="code">-32602 for a missing or unusable requestId; -32600 for a case variant a lenient server would read as requestId.</param>
    [Theory]
    [InlineData("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"reason\":\"user\"}}", -32602)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":null}}", -32602)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":{\"id\":1}}}", -32602)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\"}", -32602)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":1,\"RequestId\":2}}", -32600)]
    public async Task A_cancellation_naming_no_request_is_refused_clearly(string json, int code)
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll);
        RawResponse refused = await gw.PostAsync(json, gw.Token("alice"), Stateless);

        Assert.Equal(400, refused.Status);
        Assert.Equal(code, refused.JsonRpcError().Code);
        if (code == -32602) Assert.Contains("requestId", refused.Body, StringComparison.Ordinal);
        Assert.Empty(gw.Upstream.Requests);
    }

    [Fact]
    public async Task A_held_call_is_withdrawn_by_its_callers_own_cancellation_and_never_reaches_the_upstream()
    {
        var server = new SlowServer();
        server.Release.SetResult();
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "pay-held", Action = "require_approval", Methods = ["tools/call"], Names = ["pay"], Approvers = ["finance"] },
            .. AllowAll,
        ];
        await using PolicyGateway gw = await PolicyGateway.StartAsync(server.Script, rules, o => o.Approvals.KeepAliveSeconds = 1);
        string alice = gw.Token("alice"), bob = gw.Token("bob");
        using RawClient held = await SendAsync(gw, Call("3"), alice);
        PendingApproval approval = await WaitForPendingAsync(gw);

        // Another caller's cancellation of the same id leaves it held.
        Assert.Equal(202, (await gw.PostAsync(Cancel("3"), bob, Stateless)).Status);
        Assert.Equal(ApprovalState.Pending, approval.State);

        Assert.Equal(202, (await gw.PostAsync(Cancel("3"), alice, Stateless)).Status);
        Assert.Equal(ApprovalState.Cancelled, approval.State);
        RawResponse stream = await held.ReadResponseAsync();

        // The held event stream ends without an answer to the cancelled request (keep-alive comments only).
        Assert.Equal(200, stream.Status);
        Assert.Contains("text/event-stream", stream.Header("Content-Type"), StringComparison.Ordinal);
        Assert.DoesNotContain("data:", stream.Body, StringComparison.Ordinal);
        Assert.Empty(gw.Upstream.Requests);

        string[] records = await gw.StopAndReadAuditAsync();
        List<JsonElement> parsed = AuditRecordFields.Parse(records);
        Assert.Single(parsed, r => AuditRecordFields.Field(r, "type") == "ApprovalExpired"
            && AuditRecordFields.Field(r, "detail")!.Contains("cancelled: withdrawn by the caller (notifications/cancelled)", StringComparison.Ordinal));
        JsonElement bobs = Assert.Single(parsed, r => AuditRecordFields.Field(r, "type") == "Denied");
        Assert.Equal("(cancel-not-yours)", AuditRecordFields.Field(bobs, "rule"));
        Assert.Single(parsed, r => AuditRecordFields.Field(r, "type") == "McpExchange" && AuditRecordFields.Method(r) == "notifications/cancelled");
    }

    [Fact]
    public async Task With_sessions_a_cancellation_reaches_only_the_session_of_the_call()
    {
        var server = new SlowServer();
        int issued = 0;
        await using PolicyGateway gw = await PolicyGateway.StartAsync(async x =>
        {
            if (x.Request.Body.Contains("\"initialize\"", StringComparison.Ordinal))
            {
                await x.RespondJsonAsync(ScriptedMember.Result(x.Request.IdJson(), "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"serverInfo\":{\"name\":\"s\",\"version\":\"1\"}}"),
                    $"Mcp-Session-Id: s-{Interlocked.Increment(ref issued)}\r\n");
                return;
            }
            await server.Script(x);
        }, AllowAll);
        string alice = gw.Token("alice");
        const string Initialize = """{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";
        string first = (await gw.PostAsync(Initialize, alice)).Header("Mcp-Session-Id")!;
        string second = (await gw.PostAsync(Initialize, alice)).Header("Mcp-Session-Id")!;
        using RawClient call = await SendAsync(gw, Call("1"), alice, $"Mcp-Session-Id: {first}\r\n");
        await server.CallArrivedAsync();

        Assert.Equal(202, (await gw.PostAsync(Cancel("1"), alice, $"Mcp-Session-Id: {second}\r\n")).Status);
        Assert.Equal(0, CancellationsAt(gw.Upstream));
        Assert.Equal(202, (await gw.PostAsync(Cancel("1"), alice, $"Mcp-Session-Id: {first}\r\n")).Status);
        server.Release.SetResult();
        Assert.Equal(200, (await call.ReadResponseAsync()).Status);

        UpstreamRequest cancelled = Assert.Single(gw.Upstream.Requests, r => r.Body.Contains("notifications/cancelled", StringComparison.Ordinal));
        Assert.Equal(first, cancelled.Header("Mcp-Session-Id"));
    }

    [Fact]
    public async Task A_batch_cancelling_another_callers_call_is_refused_whole()
    {
        var server = new SlowServer();
        await using PolicyGateway gw = await PolicyGateway.StartAsync(server.Script, AllowAll);
        string alice = gw.Token("alice"), bob = gw.Token("bob");
        using RawClient aliceCall = await SendAsync(gw, Call("1"), alice);
        await server.CallArrivedAsync();

        RawResponse batch = await gw.PostAsync("[" + Cancel("1") + ",{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}]", bob, "MCP-Protocol-Version: 2025-03-26\r\n");
        server.Release.SetResult();
        Assert.Equal(200, (await aliceCall.ReadResponseAsync()).Status);

        Assert.Contains("cancels a request that is not the caller's in flight", batch.Body, StringComparison.Ordinal);
        Assert.Single(gw.Upstream.Requests);
    }

    [Fact]
    public async Task On_a_federated_path_a_cancellation_goes_only_to_the_member_with_the_callers_call()
    {
        var slowA = new SlowServer();
        await using var a = new ScriptedUpstream(ScriptedMember.Serve("a", (x, _) => slowA.Script(x)));
        await using var b = new ScriptedUpstream(ScriptedMember.Serve("b", (x, id) => x.RespondJsonAsync(ScriptedMember.Result(id, "{}"))));
        await using PolicyGateway gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o =>
        {
            o.Upstreams["a"] = new UpstreamOptions { Url = a.Url };
            o.Upstreams["b"] = new UpstreamOptions { Url = b.Url };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
        });
        string alice = gw.Token("alice"), bob = gw.Token("bob");
        string aliceSession = await FederatedSessionRequestPolicyTests.InitializeAsync(gw, alice);
        string bobSession = await FederatedSessionRequestPolicyTests.InitializeAsync(gw, bob);
        using RawClient call = await gw.Gateway.ConnectAsync();
        await call.SendAsync(gw.Gateway.Post(Call("1", "a__pay"), $"Authorization: Bearer {alice}\r\nMcp-Session-Id: {aliceSession}\r\n", "/mcp/all"));
        await slowA.CallArrivedAsync();

        RawResponse bobs = await PostFederatedAsync(gw, Cancel("1"), bob, bobSession);
        RawResponse alices = await PostFederatedAsync(gw, Cancel("1"), alice, aliceSession);
        slowA.Release.SetResult();
        Assert.Equal(200, (await call.ReadResponseAsync()).Status);

        Assert.Equal(202, bobs.Status);
        Assert.Equal(202, alices.Status);
        UpstreamRequest cancelled = Assert.Single(a.Requests, r => r.Body.Contains("notifications/cancelled", StringComparison.Ordinal));
        Assert.Equal("s-a", cancelled.Header("Mcp-Session-Id"));
        Assert.Equal(0, CancellationsAt(b));
        string[] records = await gw.StopAndReadAuditAsync();
        JsonElement denied = Assert.Single(AuditRecordFields.Parse(records), r => AuditRecordFields.Field(r, "type") == "Denied");
        Assert.Equal("(cancel-not-yours)", AuditRecordFields.Field(denied, "rule"));
        Assert.Equal("bob", denied.GetProperty("user").GetProperty("subject").GetString());
    }

    private static async Task<RawResponse> PostFederatedAsync(PolicyGateway gw, string json, string token, string session)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(json, $"Authorization: Bearer {token}\r\nMcp-Session-Id: {session}\r\n", "/mcp/all"));
        return await client.ReadResponseAsync();
    }

    internal static async Task<PendingApproval> WaitForPendingAsync(PolicyGateway gw)
    {
        for (int i = 0; i < 300; i++)
        {
            List<PendingApproval> pending = gw.Gateway.Stages.Approvals!.List(includeDecided: false);
            if (pending.Count > 0) return pending[0];
            await Task.Delay(50);
        }
        throw new TimeoutException("no pending approval appeared");
    }
}
