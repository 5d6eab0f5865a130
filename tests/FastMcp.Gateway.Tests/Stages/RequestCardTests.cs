using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Pan;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Card numbers in requests through the real gateway: the policy decides on what the client sent, the upstream
/// and the audit log get masked bytes, JSON numbers keep their value unless configured otherwise, and nothing the
/// audit log records carries a full card number in any mode.
/// </summary>
public sealed class RequestCardTests
{
    private const string Pan = "4111111111111111";
    private const string MaskedPan = "411111******1111";

    private static List<RuleOptions> DenyCardsRules() =>
    [
        new RuleOptions { Name = "no-cards", Action = "deny", Methods = ["tools/call"], Message = "arguments may not contain card numbers",
            Arguments = [new ArgumentConditionOptions { Pointer = "", ContainsCardNumber = true }] },
        new RuleOptions { Name = "all", Action = "allow" },
    ];

    [Theory]
    [InlineData("""{"note":"card 4111 1111 1111 1111"}""")]
    [InlineData("""{"note":"4111111111111111"}""")]
    [InlineData("""{"account":4111111111111111}""")]
    public async Task A_containsCardNumber_rule_decides_on_the_request_as_sent_under_request_masking(string arguments)
    {
        await using CardGateway g = await CardGateway.StartAsync(rules: DenyCardsRules());
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", arguments));
        Assert.Equal(200, answer.Status);
        Assert.Equal((-32001, "1"), answer.JsonRpcError());
        Assert.Contains("may not contain card numbers", answer.Body);
        Assert.Empty(g.Upstream.Requests);

        List<string> records = await g.StopAndReadAuditAsync();
        Assert.Contains(records, r => r.Contains("\"type\":\"Denied\"") && r.Contains("\"rule\":\"no-cards\""));
        Assert.Empty(AuditCards.FindCardNumbers(records));
    }

    [Fact]
    public async Task A_call_without_a_card_number_is_still_allowed_by_the_same_policy()
    {
        await using CardGateway g = await CardGateway.StartAsync(rules: DenyCardsRules());
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("2", "echo", """{"note":"order 12345"}"""));
        Assert.Equal("2", answer.IdJson());
        Assert.Contains("order 12345", g.Upstream.SingleRequest().Body);
    }

    [Fact]
    public async Task Under_request_masking_strings_are_masked_and_json_numbers_keep_their_value_by_default()
    {
        await using CardGateway g = await CardGateway.StartAsync();
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall(Pan, "echo", $$"""{"account":{{Pan}},"note":"card {{Pan}}"}"""));
        Assert.Equal(Pan, answer.IdJson()); // the id the client sent comes back unchanged

        UpstreamRequest forwarded = g.Upstream.SingleRequest();
        using (JsonDocument body = JsonDocument.Parse(forwarded.Body))
        {
            Assert.Equal(Pan, body.RootElement.GetProperty("id").GetRawText());
            JsonElement arguments = body.RootElement.GetProperty("params").GetProperty("arguments");
            Assert.Equal(Pan, arguments.GetProperty("account").GetRawText());
            Assert.Equal("card " + MaskedPan, arguments.GetProperty("note").GetString());
        }

        List<string> records = await g.StopAndReadAuditAsync();
        Assert.Empty(AuditCards.FindCardNumbers(records));
        string request = records.Single(r => r.Contains("\"detail\":\"request\""));
        Assert.Contains("cardFingerprints", request);
        Assert.Contains("\"account\":4111110000001111", request); // what the audit shows for a card-like number
    }

    [Fact]
    public async Task With_numbers_mask_a_card_like_json_number_is_rewritten()
    {
        await using CardGateway g = await CardGateway.StartAsync(m => m.Numbers = "mask");
        await g.PostAsync(CardGateway.ToolCall("3", "echo", $$"""{"account":{{Pan}}}"""));
        Assert.Contains("\"account\":4111110000001111", g.Upstream.SingleRequest().Body);
    }

    [Fact]
    public async Task With_numbers_block_a_card_like_json_number_is_refused_and_nothing_is_forwarded()
    {
        await using CardGateway g = await CardGateway.StartAsync(m => m.Numbers = "block");
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("4", "echo", $$"""{"account":{{Pan}}}"""));
        Assert.Equal((-32001, "4"), answer.JsonRpcError());
        Assert.Contains("card number", answer.Body);
        Assert.Empty(g.Upstream.Requests);

        // A card number inside a string is masked as usual.
        await g.PostAsync(CardGateway.ToolCall("5", "echo", $$"""{"note":"{{Pan}}"}"""));
        Assert.Contains(MaskedPan, g.Upstream.SingleRequest().Body);
        Assert.Empty(AuditCards.FindCardNumbers(await g.StopAndReadAuditAsync()));
    }

    [Theory]
    [InlineData("mask")]
    [InlineData("forward")]
    [InlineData("block")]
    public async Task No_audit_record_carries_a_full_card_number_in_any_request_mode(string mode)
    {
        // The upstream answers without echoing: in forward mode it legitimately received the card numbers. It issues a
        // session id holding a card number, which the gateway binds to alice at the first initialize (one without cards).
        await using CardGateway g = await CardGateway.StartAsync(m => m.Requests = mode,
            upstreamScript: x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}", $"Mcp-Session-Id: s-{Pan}\r\n"));
        string session = $"Mcp-Session-Id: s-{Pan}\r\n";
        await g.PostAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""");
        await g.PostAsync(CardGateway.ToolCall($"\"{Pan}\"", Pan, $$"""{"note":"{{Pan}}"}"""), session);
        await g.PostAsync(CardGateway.ToolCall(Pan, "echo", "{}"), session);
        await g.PostAsync($$$"""{"jsonrpc":"2.0","id":6,"method":"resources/read","params":{"uri":"card://{{{Pan}}}"}}""", session);
        await g.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
            + $"\"clientInfo\":{{\"name\":\"client {Pan}\",\"version\":\"{Pan}\"}}}}}}", session);
        await g.PostAsync("""{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"\u0034111111111111111","arguments":{}}}""");

        List<string> records = await g.StopAndReadAuditAsync();
        Assert.True(records.Count >= 6, string.Join('\n', records));
        List<string> leaks = AuditCards.FindCardNumbers(records);
        Assert.True(leaks.Count == 0, string.Join('\n', leaks));
        // The masked fields are still there, readable.
        Assert.Contains(records, r => r.Contains("\"session\":\"s-" + MaskedPan + "\""));
        Assert.Contains(records, r => r.Contains("\"target\":\"" + MaskedPan + "\""));
        Assert.Contains(records, r => r.Contains("\"target\":\"card://" + MaskedPan + "\""));
    }

    [Fact]
    public async Task Headers_that_mirror_the_body_are_masked_like_the_body()
    {
        // A session id the gateway did not see issued goes on (and is bound) with sessions.unknown "forward".
        await using CardGateway g = await CardGateway.StartAsync(configure: o => o.Sessions.Unknown = "forward");
        const string Other = "5555555555554444";
        string encodedName = "=?base64?" + Convert.ToBase64String(Encoding.UTF8.GetBytes("pay " + Pan)) + "?=";
        await g.PostAsync(CardGateway.ToolCall("9", Pan, $$"""{"note":"{{Other}}","account":{{Pan}}}"""),
            $"Mcp-Name: {Pan}\r\nMcp-Param-Note: {Other}\r\nMcp-Param-Account: {Pan}\r\nMcp-Session-Id: s-{Pan}\r\n");
        await g.PostAsync(CardGateway.ToolCall("10", "pay " + Pan, "{}"), $"Mcp-Name: {encodedName}\r\n");

        UpstreamRequest[] forwarded = [.. g.Upstream.Requests];
        Assert.Equal(2, forwarded.Length);
        Assert.Equal(MaskedPan, forwarded[0].Header("Mcp-Name"));
        Assert.Equal("555555******4444", forwarded[0].Header("Mcp-Param-Note"));
        // A number the forwarded body still carries as a number may be mirrored as it is; the session is the server's own.
        Assert.Equal(Pan, forwarded[0].Header("Mcp-Param-Account"));
        Assert.Equal("s-" + Pan, forwarded[0].Header("Mcp-Session-Id"));
        string decoded = Encoding.UTF8.GetString(Convert.FromBase64String(forwarded[1].Header("Mcp-Name")!["=?base64?".Length..^2]));
        Assert.Equal("pay " + MaskedPan, decoded);
        Assert.Contains("\"name\":\"pay " + MaskedPan + "\"", forwarded[1].Body);
    }

    [Theory]
    [InlineData("forward")]
    [InlineData("mask")]
    public async Task What_approvers_see_of_a_held_call_is_masked_in_every_request_mode(string mode)
    {
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "approve-all", Action = "require_approval", Methods = ["tools/call"], ApprovalMode = "grant", Approvers = ["release"] },
            new RuleOptions { Name = "rest", Action = "allow" },
        ];
        await using CardGateway g = await CardGateway.StartAsync(m => m.Requests = mode, rules);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("11", "pay " + Pan, $$"""{"note":"{{Pan}}","account":{{Pan}}}"""));
        Assert.Equal(-32002, answer.JsonRpcError().Code);
        Approvals.PendingApproval approval = Assert.Single(g.Gateway.Stages.Approvals!.List(includeDecided: true));
        Assert.Equal("pay " + MaskedPan, approval.Target);
        foreach (string shown in new[] { approval.Target!, approval.MaskedArguments, approval.MaskedParams })
            Assert.False(PanMasker.ContainsCardNumber(Encoding.UTF8.GetBytes(shown)), shown);
        Assert.Contains("\"account\":4111110000001111", approval.MaskedParams);
        Assert.Empty(AuditCards.FindCardNumbers(await g.StopAndReadAuditAsync()));
    }

    [Fact]
    public void Log_lines_never_carry_a_full_card_number()
    {
        Assert.Equal("approval apr_1: alice asks for tools/call pay 411111******1111", Hosting.Log.MaskCards("approval apr_1: alice asks for tools/call pay " + Pan));
        string clean = "approval apr_2 denied by bob";
        Assert.Same(clean, Hosting.Log.MaskCards(clean));
    }

    [Theory]
    [InlineData("reason: card ４１１１１１１１１１１１１１１１ declined", "reason: card ４１１１１１＊＊＊＊＊＊１１１１ declined")]
    [InlineData("reason: card ٤١١١١١١١١١١١١١١١ declined", "reason: card ٤١١١١١٭٭٭٭٭٭١١١١ declined")]
    public void Log_lines_mask_card_numbers_written_only_in_other_digit_scripts(string line, string masked)
    {
        // No ASCII digit in the line: the masker must still run (approval reasons, trace attributes and log lines use it).
        Assert.Equal(masked, Hosting.Log.MaskCards(line));
        string clean = "approval denied by ｂｏｂ";
        Assert.Same(clean, Hosting.Log.MaskCards(clean));
    }
}
