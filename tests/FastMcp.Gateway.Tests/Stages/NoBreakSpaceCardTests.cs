using System.Text.RegularExpressions;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Card numbers grouped with no-break spaces (HTML's &amp;nbsp;, copied from payment pages) and narrow no-break spaces
/// (.NET's fr-FR grouping), raw and as the \u00A0 escapes System.Text.Json writes, through the real gateway: the client
/// gets them masked, the audit log holds them only masked, and the policy's containsCardNumber sees one in a request.
/// </summary>
public sealed class NoBreakSpaceCardTests
{
    private const string NbspPan = "4111\u00A01111\u00A01111\u00A01111";
    private const string EscapedNarrowPan = "5555\\u202F5555\\u202f5555\\u202F4444";

    /// <summary>The record text with each of the four separators, raw or escaped in any case, read as an ASCII space.</summary>
    private static string SpacesAsAscii(string record) =>
        Regex.Replace(record, "\u00A0|\u2007|\u2009|\u202F|\\\\u(?i:00a0|2007|2009|202f)", " ");

    [Fact]
    public async Task An_answer_holding_no_break_space_grouped_card_numbers_reaches_the_client_masked_and_is_audited_masked()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x =>
            x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"N° de carte : " + NbspPan + " / " + EscapedNarrowPan + "\"}]}}"));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.Equal(200, answer.Status);
        Assert.DoesNotContain(NbspPan, answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(EscapedNarrowPan, answer.Body, StringComparison.Ordinal);
        // Same length: the separators stay as written, the masked digits become '*'.
        Assert.Contains("N° de carte : 4111\u00A011**\u00A0****\u00A01111 / 5555\\u202F55**\\u202f****\\u202F4444", answer.Body, StringComparison.Ordinal);

        List<string> records = await g.StopAndReadAuditAsync();
        Assert.Empty(AuditCards.FindCardNumbers(records));
        string response = Assert.Single(records, r => r.Contains("\"detail\":\"response\"", StringComparison.Ordinal));
        Assert.Contains("cardFingerprints", response, StringComparison.Ordinal);
        foreach (string record in records)
        {
            string spaced = SpacesAsAscii(record);
            Assert.DoesNotContain("4111 1111 1111 1111", spaced, StringComparison.Ordinal);
            Assert.DoesNotContain("5555 5555 5555 4444", spaced, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_containsCardNumber_rule_sees_a_no_break_space_grouped_card_number()
    {
        await using CardGateway g = await CardGateway.StartAsync(rules:
        [
            new RuleOptions { Name = "no-cards", Action = "deny", Methods = ["tools/call"], Message = "arguments may not contain card numbers",
                Arguments = [new ArgumentConditionOptions { Pointer = "", ContainsCardNumber = true }] },
            new RuleOptions { Name = "all", Action = "allow" },
        ]);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{\"note\":\"" + NbspPan + "\",\"n2\":\"" + EscapedNarrowPan + "\"}"));

        Assert.Equal(200, answer.Status);
        Assert.Equal((-32001, "1"), answer.JsonRpcError());
        Assert.Empty(g.Upstream.Requests);
    }
}
