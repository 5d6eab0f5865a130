using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Card numbers written in Persian (Extended Arabic-Indic) digits, as Iranian bank cards are printed and typed, through
/// the real gateway: an answer holding one reaches the client masked, same byte length, the audit log records it
/// masked, and the policy's containsCardNumber sees one in a request.
/// </summary>
public sealed class PersianDigitCardTests
{
    private const string PersianPan = "۴۱۱۱۱۱۱۱۱۱۱۱۱۱۱۱";
    private const string PersianSpacedPan = "۵۵۵۵ ۵۵۵۵ ۵۵۵۵ ۴۴۴۴";

    [Fact]
    public async Task An_answer_holding_a_persian_card_number_reaches_the_client_masked_and_is_audited_masked()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x =>
            x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"شماره کارت " + PersianPan + " / " + PersianSpacedPan + "\"}]}}"));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.Equal(200, answer.Status);
        Assert.DoesNotContain(PersianPan, answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(PersianSpacedPan, answer.Body, StringComparison.Ordinal);
        // A masked 2-byte digit is the 2-byte ARABIC FIVE POINTED STAR U+066D.
        Assert.Contains("۴۱۱۱۱۱٭٭٭٭٭٭۱۱۱۱", answer.Body, StringComparison.Ordinal);
        Assert.Contains("۵۵۵۵ ۵۵٭٭ ٭٭٭٭ ۴۴۴۴", answer.Body, StringComparison.Ordinal);

        List<string> records = await g.StopAndReadAuditAsync();
        Assert.Empty(AuditCards.FindCardNumbers(records));
        string response = Assert.Single(records, r => r.Contains("\"detail\":\"response\"", StringComparison.Ordinal));
        Assert.Contains("cardFingerprints", response, StringComparison.Ordinal);
        Assert.DoesNotContain(PersianPan, response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_containsCardNumber_rule_sees_a_persian_card_number()
    {
        await using CardGateway g = await CardGateway.StartAsync(rules:
        [
            new RuleOptions { Name = "no-cards", Action = "deny", Methods = ["tools/call"], Message = "arguments may not contain card numbers",
                Arguments = [new ArgumentConditionOptions { Pointer = "", ContainsCardNumber = true }] },
            new RuleOptions { Name = "all", Action = "allow" },
        ]);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{\"note\":\"" + PersianSpacedPan + "\"}"));

        Assert.Equal(200, answer.Status);
        Assert.Equal((-32001, "1"), answer.JsonRpcError());
        Assert.Empty(g.Upstream.Requests);
    }
}
