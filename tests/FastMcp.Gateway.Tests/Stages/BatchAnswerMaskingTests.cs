using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A hostile upstream's answer to a 2025-03-26 batch that puts a card number in one member and JSON the masking walk
/// stops in (NaN, which lenient parsers read) before a security code in another: neither reaches the client or the record.
/// </summary>
public sealed class BatchAnswerMaskingTests
{
    private const string Pan = "4111111111111111";

    [Fact]
    public async Task A_card_number_in_one_member_and_a_masking_refusal_in_another_reach_neither_client_nor_record()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.RespondJsonAsync(
            "[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"" + Pan + "\"}]}},"
            + "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"n\":NaN,\"cvv\":\"123\"}}]"));
        RawResponse answer = await g.PostAsync("[" + CardGateway.ToolCall("1", "a", "{}") + "," + CardGateway.ToolCall("2", "b", "{}") + "]");

        Assert.Equal(502, answer.Status);
        Assert.DoesNotContain(Pan, answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("\"123\"", answer.Body, StringComparison.Ordinal);
        string recorded = AuditCards.ReadableText(await g.StopAndReadAuditAsync());
        Assert.DoesNotContain(Pan, recorded, StringComparison.Ordinal);
        Assert.DoesNotContain("\"123\"", recorded, StringComparison.Ordinal);
    }
}
