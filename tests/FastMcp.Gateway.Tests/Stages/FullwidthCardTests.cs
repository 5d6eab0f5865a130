using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Card numbers typed in fullwidth digits (what Japanese input methods produce) through the real gateway: the policy's
/// containsCardNumber sees them, and an answer holding one reaches the client masked, same byte length.
/// </summary>
public sealed class FullwidthCardTests
{
    private const string WidePan = "４１１１１１１１１１１１１１１１";
    private const string WideSpacedPan = "４１１１　１１１１　１１１１　１１１１";

    [Fact]
    public async Task An_answer_holding_a_fullwidth_card_number_reaches_the_client_masked()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x =>
            x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"card " + WidePan + " / " + WideSpacedPan + "\"}]}}"));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.Equal(200, answer.Status);
        Assert.DoesNotContain(WidePan, answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain(WideSpacedPan, answer.Body, StringComparison.Ordinal);
        Assert.Contains("４１１１１１＊＊＊＊＊＊１１１１", answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_containsCardNumber_rule_sees_a_fullwidth_card_number()
    {
        await using CardGateway g = await CardGateway.StartAsync(rules:
        [
            new RuleOptions { Name = "no-cards", Action = "deny", Methods = ["tools/call"], Message = "arguments may not contain card numbers",
                Arguments = [new ArgumentConditionOptions { Pointer = "", ContainsCardNumber = true }] },
            new RuleOptions { Name = "all", Action = "allow" },
        ]);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{\"note\":\"" + WideSpacedPan + "\"}"));

        Assert.Equal(200, answer.Status);
        Assert.Equal((-32001, "1"), answer.JsonRpcError());
        Assert.Empty(g.Upstream.Requests);
    }
}
