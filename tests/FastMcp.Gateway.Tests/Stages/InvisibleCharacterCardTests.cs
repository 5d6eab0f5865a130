using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Card numbers with invisible characters (ZERO WIDTH SPACE, SOFT HYPHEN, a bidi mark, a tag character) between their
/// digits, as rich-text editors, copied web pages and model output leave them, through the real gateway: every screen
/// shows a plain card number, so the client gets it masked, the audit log holds no card, and containsCardNumber sees one.
/// </summary>
public sealed class InvisibleCharacterCardTests
{
    private const string ZeroWidthPan = "4111\u200B1111\u200B1111\u200B1111";
    private const string SoftHyphenPan = "5555\u00AD 5555 \u200E5555\U000E0041 4444";
    // As System.Text.Json and most encoders write them: escaped, the tag character as a surrogate pair.
    private const string EscapedPan = "3782\\u2060822463\\udb40\\udc4110005";

    [Fact]
    public async Task An_answer_holding_card_numbers_with_invisible_characters_reaches_the_client_masked_and_is_audited_masked()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x =>
            x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"card "
                + ZeroWidthPan + " / " + SoftHyphenPan + " / " + EscapedPan + "\"}]}}"));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.Equal(200, answer.Status);
        Assert.DoesNotContain(ZeroWidthPan, answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(SoftHyphenPan, answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(EscapedPan, answer.Body, StringComparison.Ordinal);
        // Digits masked, the invisible characters left where they were.
        Assert.Contains("4111\u200B11**\u200B****\u200B1111", answer.Body, StringComparison.Ordinal);
        Assert.Contains("5555\u00AD 55** \u200E****\U000E0041 4444", answer.Body, StringComparison.Ordinal);
        Assert.Contains("3782\\u206082****\\udb40\\udc41*0005", answer.Body, StringComparison.Ordinal);

        List<string> records = await g.StopAndReadAuditAsync();
        Assert.Empty(AuditCards.FindCardNumbers(records));
        string response = Assert.Single(records, r => r.Contains("\"detail\":\"response\"", StringComparison.Ordinal));
        Assert.Contains("cardFingerprints", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_containsCardNumber_rule_sees_a_card_number_with_invisible_characters()
    {
        await using CardGateway g = await CardGateway.StartAsync(rules:
        [
            new RuleOptions { Name = "no-cards", Action = "deny", Methods = ["tools/call"], Message = "arguments may not contain card numbers",
                Arguments = [new ArgumentConditionOptions { Pointer = "", ContainsCardNumber = true }] },
            new RuleOptions { Name = "all", Action = "allow" },
        ]);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{\"note\":\"" + ZeroWidthPan + "\"}"));

        Assert.Equal(200, answer.Status);
        Assert.Equal((-32001, "1"), answer.JsonRpcError());
        Assert.Empty(g.Upstream.Requests);
    }
}
