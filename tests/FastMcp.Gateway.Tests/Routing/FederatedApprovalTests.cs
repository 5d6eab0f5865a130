using System.Net;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using FastMcp.Mcp;
using static FastMcp.Gateway.Tests.Support.AuditRecordFields;
using static FastMcp.Gateway.Tests.Support.AdminRequests;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// Approvals composed with federation, through the real gateway: members a and b both expose "refund" (a name
/// collision), federated at /mcp/all, with b also on a plain route /mcp/b. A held call is decided again when it is
/// approved (a reload that now denies it refuses it), goes to the member that was approved with the rule's profile, a
/// grant for one member's tool does not admit the other member's, and approvers are told which upstream a call goes to.
/// </summary>
public sealed class FederatedApprovalTests
{
    private const string Pan = "4111111111111111";
    private const string Strict = "****************";

    /// <summary>A member that answers every tools/call with its own name and a card number, and lists one tool, "refund".</summary>
    private static Func<UpstreamExchange, Task> Member(string name) => ScriptedMember.Serve(name, (x, id) =>
        x.RespondJsonAsync(x.Request.Body.Contains("\"tools/list\"", StringComparison.Ordinal)
            ? ScriptedMember.Result(id, "{\"tools\":[{\"name\":\"refund\",\"inputSchema\":{\"type\":\"object\"}}]}")
            : ScriptedMember.Result(id, "{\"content\":[{\"type\":\"text\",\"text\":\"refunded by " + name + " to " + Pan + "\"}]}")));

    private static RuleOptions Sessions => new() { Name = "sessions", Action = "allow", Methods = ["initialize", "notifications/*", "tools/list"] };

    private static List<RuleOptions> HeldRefunds =>
    [
        Sessions,
        new RuleOptions { Name = "refunds-held", Action = "require_approval", Subjects = ["carol"], Methods = ["tools/call"], Names = ["refund"],
            Approvers = ["release"], MaskProfile = "contractor" },
        new RuleOptions { Name = "rest", Action = "allow" },
    ];

    private static List<RuleOptions> GrantedRefunds =>
    [
        Sessions,
        new RuleOptions { Name = "refunds-granted", Action = "require_approval", Subjects = ["carol"], Methods = ["tools/call"], Names = ["refund"],
            Approvers = ["release"], ApprovalMode = "grant" },
        new RuleOptions { Name = "rest", Action = "allow" },
    ];

    /// <summary>Members a and b federated at /mcp/all, b also on its own route /mcp/b.</summary>
    private static Task<PolicyGateway> StartAsync(ScriptedUpstream a, ScriptedUpstream b, List<RuleOptions> rules) =>
        PolicyGateway.StartAsync(UpstreamScripts.Echo, rules, o =>
        {
            o.Masking.Profiles["contractor"] = new MaskingProfileOptions { KeepFirst = 0, KeepLast = 0 };
            o.Approvals.KeepAliveSeconds = 1;
            o.Upstreams["a"] = new UpstreamOptions { Url = a.Url, ConnectTimeoutMs = 1_000 };
            o.Upstreams["b"] = new UpstreamOptions { Url = b.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }, new RouteOptions { Path = "/mcp/b", Upstream = "b" }];
        });

    /// <summary>
    /// Members a and b, the gateway over them (<see cref="StartAsync"/>), carol's token, approver bob's (group release), and
    /// carol's session on /mcp/all unless <c>openSession</c> is false (then empty). Disposed gateway first, then b, then a.
    /// </summary>
    private sealed class Federation : IAsyncDisposable
    {
        private ScriptedUpstream _a = null!, _b = null!;
        private PolicyGateway? _g;
        private string _carol = "", _bob = "", _session = "";

        public static async Task<Federation> StartAsync(List<RuleOptions> rules, bool openSession = true)
        {
            var f = new Federation();
            try
            {
                f._a = new ScriptedUpstream(Member("a"));
                f._b = new ScriptedUpstream(Member("b"));
                f._g = await FederatedApprovalTests.StartAsync(f._a, f._b, rules);
                f._carol = f._g.Token("carol");
                f._bob = f._g.Token("bob", "release");
                if (openSession) f._session = await FederatedSessionRequestPolicyTests.InitializeAsync(f._g, f._carol);
                return f;
            }
            catch
            {
                await f.DisposeAsync();
                throw;
            }
        }

        public void Deconstruct(out ScriptedUpstream a, out ScriptedUpstream b, out PolicyGateway g, out string carol, out string bob, out string session) =>
            (a, b, g, carol, bob, session) = (_a, _b, _g!, _carol, _bob, _session);

        public async ValueTask DisposeAsync()
        {
            if (_g is not null) await _g.DisposeAsync();
            if (_b is not null) await _b.DisposeAsync();
            if (_a is not null) await _a.DisposeAsync();
        }
    }

    /// <summary>Sends carol's call as a JSON-only client on <paramref name="client"/> and waits until it is held.</summary>
    private static async Task<PendingApproval> HoldAsync(PolicyGateway g, RawClient client, string path, string json, string token, string session = "")
    {
        await client.SendAsync(JsonOnlyPost(g, path, json, token, session));
        return await WaitForPendingAsync(g);
    }

    /// <summary>Posts carol's call on /mcp/all, asserts it is answered "approval required" at once (a grant rule), and returns it held.</summary>
    private static async Task<PendingApproval> AskForGrantAsync(PolicyGateway g, string json, string token, string session)
    {
        Assert.Equal(JsonRpcErrorCodes.ApprovalRequired, ErrorCode(await PostAsync(g, "/mcp/all", json, token, session)));
        return await WaitForPendingAsync(g);
    }

    private static async Task ApproveAsync(PolicyGateway g, PendingApproval pending, string approver) =>
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(g, HttpMethod.Post, $"/approvals/{pending.Id}/approve", "{}", approver)).Status);

    private static string Call(string id, string tool, string arguments) =>
        "{\"jsonrpc\":\"2.0\",\"id\":\"" + id + "\",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":" + arguments + "}}";

    /// <summary>A POST a JSON-only client sends (a held call then waits without an event stream).</summary>
    private static string JsonOnlyPost(PolicyGateway g, string path, string json, string token, string session = "") =>
        $"POST {path} HTTP/1.1\r\nHost: {g.Gateway.Authority}\r\nContent-Type: application/json\r\nAccept: application/json\r\nAuthorization: Bearer {token}\r\n"
        + (session.Length > 0 ? $"Mcp-Session-Id: {session}\r\n" : "") + $"Content-Length: {Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}";

    private static async Task<RawResponse> PostAsync(PolicyGateway g, string path, string json, string token, string session = "")
    {
        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(JsonOnlyPost(g, path, json, token, session));
        return await client.ReadResponseAsync();
    }

    private static async Task<PendingApproval> WaitForPendingAsync(PolicyGateway g, int count = 1)
    {
        for (int i = 0; i < 300; i++)
        {
            List<PendingApproval> pending = g.Gateway.Stages.Approvals!.List(includeDecided: false);
            if (pending.Count >= count) return pending[^1];
            await Task.Delay(50);
        }
        throw new TimeoutException("no pending approval appeared");
    }

    private static int Calls(ScriptedUpstream member) => member.Requests.Count(r => r.Body.Contains("\"tools/call\"", StringComparison.Ordinal));

    private static int ErrorCode(RawResponse answer) => JsonDocument.Parse(answer.Body).RootElement.GetProperty("error").GetProperty("code").GetInt32();

    [Fact]
    public async Task A_held_federated_call_goes_to_the_member_that_was_approved_masked_with_the_rules_profile_and_approvers_see_that_member()
    {
        await using Federation f = await Federation.StartAsync(HeldRefunds);
        var (a, b, g, carol, bob, session) = f;

        using RawClient client = await g.Gateway.ConnectAsync();
        PendingApproval pending = await HoldAsync(g, client, "/mcp/all", Call("r-1", "b__refund", "{\"amount\":5}"), carol, session);
        var (shown, view) = await AdminAsync(g, HttpMethod.Get, $"/approvals/{pending.Id}", null, bob);
        Assert.Equal(HttpStatusCode.OK, shown);
        // Both members have a "refund": the approver must be told whose it is.
        Assert.Equal("refund", view.GetProperty("target").GetString());
        Assert.Equal("b", view.GetProperty("upstream").GetString());
        await ApproveAsync(g, pending, bob);
        RawResponse answer = await client.ReadResponseAsync("the approved call's answer");

        Assert.Equal(200, answer.Status);
        Assert.Contains("refunded by b to " + Strict, answer.Body);
        Assert.Equal(0, Calls(a));
        UpstreamRequest forwarded = Assert.Single(b.Requests, r => r.Body.Contains("\"tools/call\"", StringComparison.Ordinal));
        Assert.Equal("s-b", forwarded.Header("Mcp-Session-Id"));
        Assert.Contains("\"name\":\"refund\"", forwarded.Body);
    }

    [Fact]
    public async Task A_held_federated_call_is_withdrawn_by_its_callers_own_cancellation_and_nothing_reaches_any_member()
    {
        await using Federation f = await Federation.StartAsync(HeldRefunds);
        var (a, b, g, carol, _, session) = f;
        string dave = g.Token("dave");
        string daveSession = await FederatedSessionRequestPolicyTests.InitializeAsync(g, dave);

        using RawClient client = await g.Gateway.ConnectAsync();
        PendingApproval pending = await HoldAsync(g, client, "/mcp/all", Call("r-1", "b__refund", "{\"amount\":5}"), carol, session);
        const string Cancel = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":\"r-1\",\"reason\":\"user\"}}";
        // Another caller's cancellation of the same id, in its own session, leaves it held.
        Assert.Equal(202, (await PostAsync(g, "/mcp/all", Cancel, dave, daveSession)).Status);
        Assert.Equal(ApprovalState.Pending, pending.State);

        Assert.Equal(202, (await PostAsync(g, "/mcp/all", Cancel, carol, session)).Status);
        RawResponse answer = await client.ReadResponseAsync("the withdrawn call's answer");

        Assert.Equal(ApprovalState.Cancelled, pending.State);
        Assert.Equal(200, answer.Status);
        Assert.Equal(JsonRpcErrorCodes.ApprovalRequired, ErrorCode(answer));
        Assert.Contains("withdrawn by the caller (notifications/cancelled)", answer.Body);
        // Neither member got the call or any cancellation: only the session's own messages.
        foreach (ScriptedUpstream member in new[] { a, b })
        {
            Assert.Equal(0, Calls(member));
            Assert.DoesNotContain(member.Requests, r => r.Body.Contains("notifications/cancelled", StringComparison.Ordinal));
        }
        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        Assert.Single(records, r => Field(r, "type") == "ApprovalExpired" && Field(r, "detail")!.Contains("cancelled: withdrawn by the caller", StringComparison.Ordinal));
        JsonElement daves = Assert.Single(records, r => Field(r, "type") == "Denied");
        Assert.Equal("(cancel-not-yours)", Field(daves, "rule"));
    }

    [Fact]
    public async Task A_held_federated_call_that_a_reload_denies_while_it_waits_is_refused_when_approved_not_forwarded()
    {
        await using Federation f = await Federation.StartAsync(HeldRefunds);
        var (_, b, g, carol, bob, session) = f;

        using RawClient client = await g.Gateway.ConnectAsync();
        PendingApproval pending = await HoldAsync(g, client, "/mcp/all", Call("r-1", "b__refund", "{\"amount\":5}"), carol, session);
        // While it waits, the policy takes refunds on b away from carol.
        FederatedSessionRequestPolicyTests.Reload(g,
            [new RuleOptions { Name = "no-refunds-on-b", Action = "deny", Subjects = ["carol"], Names = ["refund"], Upstreams = ["b"] }, .. HeldRefunds]);
        await ApproveAsync(g, pending, bob);
        RawResponse answer = await client.ReadResponseAsync("the refusal");

        Assert.Equal(200, answer.Status);
        Assert.Equal(JsonRpcErrorCodes.Forbidden, ErrorCode(answer));
        Assert.Contains("no-refunds-on-b", answer.Body);
        Assert.Equal(0, Calls(b));

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        JsonElement denial = records.Single(r => Field(r, "type") == "Denied" && Field(r, "rule") == "no-refunds-on-b");
        Assert.Contains(pending.Id, Field(denial, "detail"));
        Assert.DoesNotContain(records, r => Field(r, "detail") == $"request (approval {pending.Id})");
    }

    [Fact]
    public async Task A_held_federated_call_on_an_event_stream_that_a_reload_denies_ends_its_stream_with_the_refusal()
    {
        await using Federation f = await Federation.StartAsync(HeldRefunds);
        var (_, b, g, carol, bob, session) = f;

        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(g.Gateway.Post(Call("r-1", "b__refund", "{\"amount\":5}"), $"Authorization: Bearer {carol}\r\nMcp-Session-Id: {session}\r\n", "/mcp/all"));
        Assert.Equal(200, (await client.ReadHeadAsync()).Status);
        PendingApproval pending = await WaitForPendingAsync(g);
        FederatedSessionRequestPolicyTests.Reload(g, [new RuleOptions { Name = "carol-off", Action = "deny", Subjects = ["carol"] }, .. HeldRefunds]);
        await ApproveAsync(g, pending, bob);
        var stream = new StringBuilder();
        for (int i = 0; i < 20 && !stream.ToString().Contains("\"error\"", StringComparison.Ordinal); i++)
            stream.Append(await client.ReadChunkAsync("the refusal event"));

        Assert.Contains($"\"code\":{JsonRpcErrorCodes.Forbidden}", stream.ToString());
        Assert.Contains("carol-off", stream.ToString());
        Assert.Equal(0, Calls(b));
    }

    [Fact]
    public async Task A_held_call_on_a_plain_route_that_a_reload_denies_while_it_waits_is_refused_when_approved_not_forwarded()
    {
        await using Federation f = await Federation.StartAsync(HeldRefunds, openSession: false);
        var (_, b, g, carol, bob, _) = f;

        using RawClient client = await g.Gateway.ConnectAsync();
        PendingApproval pending = await HoldAsync(g, client, "/mcp/b", Call("r-1", "refund", "{\"amount\":5}"), carol);
        FederatedSessionRequestPolicyTests.Reload(g, [new RuleOptions { Name = "carol-off", Action = "deny", Subjects = ["carol"] }, .. HeldRefunds]);
        await ApproveAsync(g, pending, bob);
        RawResponse answer = await client.ReadResponseAsync("the refusal");

        Assert.Equal(JsonRpcErrorCodes.Forbidden, ErrorCode(answer));
        Assert.Equal(0, Calls(b));
    }

    [Fact]
    public async Task A_held_federated_call_whose_token_expired_while_it_waited_is_refused_when_approved_not_forwarded()
    {
        await using Federation f = await Federation.StartAsync(HeldRefunds);
        var (a, b, g, _, bob, session) = f;
        TimeSpan lifetime = TimeSpan.FromSeconds(3);
        DateTimeOffset minted = DateTimeOffset.UtcNow;
        // carol's session, another token of hers: one that expires while the call waits (exp + clockSkewSeconds, 0 here).
        FastMcp.Identity.IdentityOptions running = g.Gateway.Stages.Authentication!.Options;
        await g.Gateway.Stages.Authentication.ReplaceAsync(new FastMcp.Identity.IdentityOptions
        {
            Mode = running.Mode, Resource = running.Resource, DevKeyDirectory = running.DevKeyDirectory, ClockSkewSeconds = 0,
        }, CancellationToken.None);
        string shortLived = g.ShortLivedToken("carol", lifetime);

        using RawClient client = await g.Gateway.ConnectAsync();
        PendingApproval pending = await HoldAsync(g, client, "/mcp/all", Call("r-1", "b__refund", "{\"amount\":5}"), shortLived, session);
        TimeSpan left = minted + lifetime + TimeSpan.FromMilliseconds(200) - DateTimeOffset.UtcNow;
        if (left > TimeSpan.Zero) await Task.Delay(left);
        await ApproveAsync(g, pending, bob);
        RawResponse answer = await client.ReadResponseAsync("the refusal");

        Assert.Equal(401, answer.Status);
        Assert.Equal(JsonRpcErrorCodes.Unauthorized, ErrorCode(answer));
        Assert.Contains("token expired while the call was held", answer.Body);
        Assert.Equal(0, Calls(a));
        Assert.Equal(0, Calls(b));
        Assert.Equal(ApprovalState.Approved, pending.State);
    }

    [Fact]
    public async Task A_held_call_still_stopped_by_its_rule_after_a_reload_is_forwarded_once_approved()
    {
        await using Federation f = await Federation.StartAsync(HeldRefunds);
        var (_, b, g, carol, bob, session) = f;

        using RawClient client = await g.Gateway.ConnectAsync();
        PendingApproval pending = await HoldAsync(g, client, "/mcp/all", Call("r-1", "b__refund", "{\"amount\":5}"), carol, session);
        // A reload that changes something else keeps the call's rule: the approval still stands.
        FederatedSessionRequestPolicyTests.Reload(g, [new RuleOptions { Name = "dave-off", Action = "deny", Subjects = ["dave"] }, .. HeldRefunds]);
        await ApproveAsync(g, pending, bob);
        RawResponse answer = await client.ReadResponseAsync("the approved call's answer");

        Assert.Contains("refunded by b to " + Strict, answer.Body);
        Assert.Equal(1, Calls(b));
    }

    [Fact]
    public async Task A_grant_for_one_members_tool_does_not_admit_the_same_call_to_another_member_of_the_same_name()
    {
        await using Federation f = await Federation.StartAsync(GrantedRefunds);
        var (a, b, g, carol, bob, session) = f;
        const string Arguments = "{\"amount\":5,\"to\":\"acct-1\"}";

        await ApproveAsync(g, await AskForGrantAsync(g, Call("g-1", "a__refund", Arguments), carol, session), bob);

        // The grant admits a's refund, with its members in another order and another spelling of the same string.
        RawResponse admitted = await PostAsync(g, "/mcp/all", Call("g-2", "a__refund", "{\"to\":\"acct\\u002d1\",\"amount\":5}"), carol, session);
        Assert.Contains("refunded by a", admitted.Body);
        // Not b's refund with the same arguments, on the federated path or on b's own route.
        RawResponse other = await PostAsync(g, "/mcp/all", Call("g-3", "b__refund", Arguments), carol, session);
        Assert.Equal(JsonRpcErrorCodes.ApprovalRequired, ErrorCode(other));
        RawResponse plain = await PostAsync(g, "/mcp/b", Call("g-4", "refund", Arguments), carol);
        Assert.Equal(JsonRpcErrorCodes.ApprovalRequired, ErrorCode(plain));
        // Nor a number written another way (the member may read 5.0 as another type than 5).
        RawResponse respelled = await PostAsync(g, "/mcp/all", Call("g-5", "a__refund", "{\"amount\":5.0,\"to\":\"acct-1\"}"), carol, session);
        Assert.Equal(JsonRpcErrorCodes.ApprovalRequired, ErrorCode(respelled));
        Assert.Equal(0, Calls(b));
        Assert.Equal(1, Calls(a));
    }

    [Fact]
    public async Task A_grant_on_a_federated_path_admits_the_identical_call_to_that_same_upstream_on_its_plain_route()
    {
        await using Federation f = await Federation.StartAsync(GrantedRefunds);
        var (_, b, g, carol, bob, session) = f;
        const string Arguments = "{\"amount\":5}";

        PendingApproval pending = await AskForGrantAsync(g, Call("g-1", "b__refund", Arguments), carol, session);
        Assert.Equal("b", pending.Upstream);
        await ApproveAsync(g, pending, bob);

        // The approval is of "refund" on upstream b (what approvers were shown): the same server gets the same call.
        RawResponse plain = await PostAsync(g, "/mcp/b", Call("g-2", "refund", Arguments), carol);
        Assert.Contains("refunded by b", plain.Body);
        Assert.Equal(1, Calls(b));
    }
}
