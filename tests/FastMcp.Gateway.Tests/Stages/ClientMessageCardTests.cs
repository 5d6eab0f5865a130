using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Card numbers in what a client sends besides a request's params: its answer to a server request (an elicitation's
/// content), a progress notification, a batch of both, and the JSON-RPC id itself. Under requests "mask" the upstream
/// gets them masked, and the audit record always holds them masked (docs/pan-detection.md, "Requests").
/// </summary>
public sealed class ClientMessageCardTests
{
    private const string Pan = "4111111111111111";

    private static async Task AssertMaskedUpstreamAndRecordedAsync(string body)
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.RespondAsync(202, "", ""));
        RawResponse answer = await g.PostAsync(body);

        Assert.Equal(202, answer.Status);
        string forwarded = g.Upstream.SingleRequest().Body;
        Assert.DoesNotContain(Pan, forwarded, StringComparison.Ordinal);
        Assert.Contains("411111******1111", forwarded, StringComparison.Ordinal);
        Assert.DoesNotContain("\"123\"", forwarded, StringComparison.Ordinal);
        List<string> records = await g.StopAndReadAuditAsync();
        Assert.DoesNotContain(Pan, AuditCards.ReadableText(records), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_answer_to_an_elicitation_reaches_the_upstream_and_the_record_masked() =>
        await AssertMaskedUpstreamAndRecordedAsync(
            "{\"jsonrpc\":\"2.0\",\"id\":\"srv-1\",\"result\":{\"action\":\"accept\",\"content\":{\"card\":\"" + Pan + "\",\"cvv\":\"123\"}}}");

    [Fact]
    public async Task A_batch_of_an_answer_and_a_progress_notification_reaches_the_upstream_and_the_record_masked() =>
        await AssertMaskedUpstreamAndRecordedAsync(
            "[{\"jsonrpc\":\"2.0\",\"id\":\"srv-1\",\"result\":{\"content\":{\"card\":\"" + Pan + "\"}}},"
            + "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"" + Pan + "\",\"progress\":1,\"message\":\"" + Pan + "\"}}]");

    [Theory]
    [InlineData("\"" + Pan + "\"")]
    [InlineData(Pan)]
    [InlineData("4.111111111111111e15")]
    [InlineData("1e400")]
    public async Task A_request_id_holding_a_card_number_or_no_double_is_recorded_masked(string id)
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: CardGateway.EmptyResult);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall(id, "swipe", "{}"));

        Assert.Equal(200, answer.Status);
        List<string> records = await g.StopAndReadAuditAsync();
        Assert.DoesNotContain(Pan, AuditCards.ReadableText(records), StringComparison.Ordinal);
    }
}
