using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// On a federated path, as on a plain one, the policy decides on the request as the client sent it and request
/// masking (the default, or the allowing rule's maskProfile) applies afterwards: a containsCardNumber rule sees the
/// card numbers, and a profile that forwards them forwards them (docs/policy.md, docs/configuration.md).
/// </summary>
public sealed class FederatedRequestCardTests
{
    private const string Pan = "4111111111111111";

    /// <summary>A member that answers every call "ok"; the tests read what it received from the upstream's request log.</summary>
    private static readonly Func<UpstreamExchange, Task> EchoingMember = ScriptedMember.Serve("payments", (x, id) =>
        x.RespondJsonAsync(ScriptedMember.Result(id, JsonSerializer.Serialize(new { content = new[] { new { type = "text", text = "ok" } } })), "Mcp-Session-Id: s-payments\r\n"));

    private static Action<GatewayOptions> FederatedPayments(string url, Action<MaskingOptions>? masking = null) => o =>
    {
        o.Upstreams["payments"] = new UpstreamOptions { Url = url, ConnectTimeoutMs = 1_000 };
        o.Upstreams["other"] = new UpstreamOptions { Url = url, ConnectTimeoutMs = 1_000 };
        o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["payments", "other"] }];
        masking?.Invoke(o.Masking);
    };

    private static string ToolCall(int id, string name, string argumentsJson) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + name + "\",\"arguments\":" + argumentsJson + "}}";

    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    private static async Task<RawResponse> PostAsync(PolicyGateway gw, string token, string json, string? session = null)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(json, $"Authorization: Bearer {token}\r\n" + (session is null ? "" : $"Mcp-Session-Id: {session}\r\n"), "/mcp/all"));
        return await client.ReadResponseAsync();
    }

    private static UpstreamRequest[] ToolCallsReceived(ScriptedUpstream member) =>
        [.. member.Requests.Where(r => r.Body.Contains("\"tools/call\"", StringComparison.Ordinal))];

    [Theory]
    [InlineData("""{"note":"4111 1111 1111 1111"}""")]
    [InlineData("""{"note":"4111111111111111"}""")]
    [InlineData("""{"account":4111111111111111}""")]
    public async Task A_containsCardNumber_rule_decides_on_the_federated_request_as_sent_under_request_masking(string arguments)
    {
        await using var member = new ScriptedUpstream(EchoingMember);
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "no-cards", Action = "deny", Methods = ["tools/call"], Message = "arguments may not contain card numbers",
                Arguments = [new ArgumentConditionOptions { Pointer = "", ContainsCardNumber = true }] },
            new RuleOptions { Name = "all", Action = "allow" },
        ];
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, rules, FederatedPayments(member.Url));
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize)).Header("Mcp-Session-Id")!;

        RawResponse answer = await PostAsync(gw, token, ToolCall(2, "payments__echo", arguments), session);
        Assert.Equal(200, answer.Status);
        Assert.Equal((JsonRpcErrorCodes.Forbidden, "2"), answer.JsonRpcError());
        Assert.Contains("may not contain card numbers", answer.Body);
        Assert.Empty(ToolCallsReceived(member));

        // The same policy still lets a call without a card number through, to the member named.
        Assert.Equal(200, (await PostAsync(gw, token, ToolCall(3, "payments__echo", """{"note":"order 12345"}"""), session)).Status);
        Assert.Contains("order 12345", Assert.Single(ToolCallsReceived(member)).Body);

        string[] records = await gw.StopAndReadAuditAsync();
        Assert.Contains(records, r => r.Contains("\"type\":\"Denied\"", StringComparison.Ordinal) && r.Contains("\"rule\":\"no-cards\"", StringComparison.Ordinal));
        Assert.Empty(AuditCards.FindCardNumbers(records));
    }

    [Fact]
    public async Task A_security_code_and_track_are_masked_for_the_member_the_client_and_the_record_and_block_mode_refuses_a_code()
    {
        await using var member = new ScriptedUpstream(ScriptedMember.Serve("payments", (x, id) =>
            x.RespondJsonAsync(ScriptedMember.Result(id, "{\"content\":[],\"structuredContent\":{\"cvv\":\"321\",\"t\":\";4111111111111111=28121010000012345678?\"}}"),
                "Mcp-Session-Id: s-payments\r\n")));
        await using (var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }], FederatedPayments(member.Url)))
        {
            string token = gw.Token("alice");
            string session = (await PostAsync(gw, token, Initialize)).Header("Mcp-Session-Id")!;
            RawResponse answer = await PostAsync(gw, token, ToolCall(2, "payments__pay", "{\"cvv\":\"123\"}"), session);

            Assert.Equal(200, answer.Status);
            Assert.Contains("\"cvv\":\"***\"", answer.Body, StringComparison.Ordinal);
            Assert.Contains(";411111******1111=********************?", answer.Body, StringComparison.Ordinal);
            Assert.Contains("\"cvv\":\"***\"", Assert.Single(ToolCallsReceived(member)).Body, StringComparison.Ordinal);
            string all = string.Join("\n", await gw.StopAndReadAuditAsync());
            Assert.DoesNotContain("\"123\"", all, StringComparison.Ordinal);
            Assert.DoesNotContain("\"321\"", all, StringComparison.Ordinal);
            Assert.DoesNotContain("28121010000012345678", all, StringComparison.Ordinal);
        }

        await using var blocking = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }],
            FederatedPayments(member.Url, m => m.Requests = "block"));
        string t = blocking.Token("alice");
        string s2 = (await PostAsync(blocking, t, Initialize)).Header("Mcp-Session-Id")!;
        RawResponse refused = await PostAsync(blocking, t, ToolCall(3, "payments__pay", "{\"cvv\":\"123\"}"), s2);
        Assert.Equal((JsonRpcErrorCodes.Forbidden, "3"), refused.JsonRpcError());
        Assert.Contains("sensitive authentication data", refused.Body, StringComparison.Ordinal);
        Assert.Single(ToolCallsReceived(member));
    }

    [Fact]
    public async Task A_federated_call_whose_blob_cannot_be_masked_is_refused_and_recorded_with_the_blob_blanked_and_its_other_strings_masked()
    {
        string blob = Stages.RefusedRequestRecordTests.UnmaskableBlob();
        await using var member = new ScriptedUpstream(EchoingMember);
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }], FederatedPayments(member.Url));
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize)).Header("Mcp-Session-Id")!;

        RawResponse refused = await PostAsync(gw, token, ToolCall(2, "payments__upload",
            "{\"file\":{\"blob\":\"" + blob + "\"},\"note\":\"" + Stages.RefusedRequestRecordTests.Note + "\",\"cvv\":\"123\"}"), session);
        Assert.Equal((JsonRpcErrorCodes.Forbidden, "2"), refused.JsonRpcError());
        Assert.Empty(ToolCallsReceived(member));
        Stages.RefusedRequestRecordTests.AssertRecordsHoldNothingInClear(await gw.StopAndReadAuditAsync(), blob);
    }

    [Fact]
    public async Task The_allowing_rules_mask_profile_decides_what_a_federated_call_forwards()
    {
        await using var member = new ScriptedUpstream(EchoingMember);
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "charge", Action = "allow", Methods = ["tools/call"], Names = ["charge_card"], Upstreams = ["payments"], MaskProfile = "card-processor" },
            new RuleOptions { Name = "all", Action = "allow" },
        ];
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, rules,
            FederatedPayments(member.Url, m => m.Profiles["card-processor"] = new MaskingProfileOptions { Requests = "forward", KeepFirst = 0 }));
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize)).Header("Mcp-Session-Id")!;

        Assert.Equal(200, (await PostAsync(gw, token, ToolCall(2, "payments__charge_card", $$"""{"card":"{{Pan}}"}"""), session)).Status);
        Assert.Equal(200, (await PostAsync(gw, token, ToolCall(3, "payments__echo", $$"""{"card":"{{Pan}}"}"""), session)).Status);

        UpstreamRequest[] calls = ToolCallsReceived(member);
        Assert.Equal(2, calls.Length);
        Assert.Contains($"\"card\":\"{Pan}\"", calls[0].Body);              // the profile forwards the card number as sent
        Assert.Contains("\"card\":\"411111******1111\"", calls[1].Body);   // the default masks it

        string[] records = await gw.StopAndReadAuditAsync();
        Assert.Empty(AuditCards.FindCardNumbers(records));
    }

    [Fact]
    public async Task A_fan_out_message_is_masked_per_member_after_its_decision_and_blocked_where_requests_block()
    {
        await using var member = new ScriptedUpstream(EchoingMember);
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "init-payments", Action = "allow", Methods = ["initialize"], Upstreams = ["payments"], MaskProfile = "card-processor" },
            new RuleOptions { Name = "all", Action = "allow" },
        ];
        string initialize = Initialize.Replace("\"name\":\"t\"", $"\"name\":\"client {Pan}\"", StringComparison.Ordinal);
        await using (var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, rules,
            FederatedPayments(member.Url, m => m.Profiles["card-processor"] = new MaskingProfileOptions { Requests = "forward" })))
        {
            Assert.Equal(200, (await PostAsync(gw, gw.Token("alice"), initialize)).Status);
            UpstreamRequest[] initializes = [.. member.Requests.Where(r => r.Body.Contains("\"initialize\"", StringComparison.Ordinal))];
            Assert.Equal(2, initializes.Length);
            Assert.Contains($"client {Pan}", initializes[0].Body);                // payments: its rule's profile forwards as sent
            Assert.Contains("client 411111******1111", initializes[1].Body);     // other: the default masks
            Assert.Empty(AuditCards.FindCardNumbers(await gw.StopAndReadAuditAsync()));
        }

        int before = member.Requests.Count;
        await using var blocking = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll(), FederatedPayments(member.Url, m => m.Requests = "block"));
        RawResponse refused = await PostAsync(blocking, blocking.Token("alice"), initialize);
        Assert.Equal((JsonRpcErrorCodes.Forbidden, "1"), refused.JsonRpcError());
        Assert.Contains("card number", refused.Body);
        Assert.Null(refused.Header("Mcp-Session-Id"));
        Assert.Equal(before, member.Requests.Count);
    }

    private static List<RuleOptions> AllowAll() => [new RuleOptions { Name = "all", Action = "allow" }];
}
