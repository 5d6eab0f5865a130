using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Response masking leaves an answer's JSON-RPC id as it is when it is exactly an id the client sent (a correlation
/// token it already holds), and masks card numbers written as JSON numbers everywhere else, ids the upstream chose included. The id it leaves must be the one every client reads:
/// with "id" and "ID" side by side a Go client reads the last, so nothing in such a message is left unmasked.
/// </summary>
public sealed class ResponseIdCardTests
{
    private const string Pan = "4111111111111111";

    private static async Task<string> RelayedAsync(string idJson, string upstreamAnswer)
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.RespondJsonAsync(upstreamAnswer));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall(idJson, "echo", "{}"));
        Assert.Equal(200, answer.Status);
        return answer.Body;
    }

    [Theory]
    // The gateway would read "id" (the card number) and spare it; a Go client reads "ID": the card number is data.
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":" + Pan + ",\"ID\":1,\"result\":{}}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":" + Pan + ",\"Id\":1,\"result\":{}}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"ID\":" + Pan + ",\"id\":1,\"result\":{}}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":" + Pan + ",\"result\":{},\"id\\u0000\":1}")]
    public async Task A_card_number_beside_a_case_variant_of_the_id_is_masked(string upstreamAnswer)
    {
        string relayed = await RelayedAsync("1", upstreamAnswer);
        Assert.DoesNotContain(Pan, relayed);
        Assert.Contains("4111110000001111", relayed);
    }

    [Fact]
    public async Task The_id_every_client_reads_is_still_left_as_sent()
    {
        string relayed = await RelayedAsync(Pan, "{\"jsonrpc\":\"2.0\",\"id\":" + Pan + ",\"result\":{\"account\":" + Pan + "}}");
        Assert.StartsWith("{\"jsonrpc\":\"2.0\",\"id\":" + Pan + ",", relayed);
        Assert.Contains("\"account\":4111110000001111", relayed);
    }

    [Fact]
    public async Task An_answer_id_the_client_never_sent_is_withheld_and_never_shown()
    {
        // An answer to no request of the client's is refused whole (UnaskedAnswerTests); its card-like id goes nowhere.
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + Pan + ",\"result\":{}}"));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));
        Assert.Equal(502, answer.Status);
        Assert.DoesNotContain(Pan, answer.Body);
        Assert.DoesNotContain(Pan, AuditCards.ReadableText(await g.StopAndReadAuditAsync()));
    }

    [Fact]
    public async Task A_server_request_whose_id_is_a_card_number_reaches_the_client_and_the_record_masked()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":" + Pan
                + ",\"method\":\"elicitation/create\",\"params\":{\"message\":\"m\",\"requestedSchema\":{\"type\":\"object\",\"properties\":{}}}}\n\n");
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}\n\n");
            await x.EndChunkedAsync();
        });
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "swipe", "{}"));

        Assert.DoesNotContain(Pan, answer.Body);
        Assert.Contains("\"id\":4111110000001111,\"method\":\"elicitation/create\"", answer.Body);
        Assert.Contains("\"id\":1,\"result\"", answer.Body);
        List<string> records = await g.StopAndReadAuditAsync();
        Assert.DoesNotContain(Pan, AuditCards.ReadableText(records));
    }

    [Fact]
    public async Task A_batch_members_own_id_is_left_as_sent_in_its_streamed_answer()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":" + Pan + ",\"result\":{}}\n\n");
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":4012888888881881,\"result\":{}}\n\n");
            await x.EndChunkedAsync();
        });
        RawResponse answer = await g.PostAsync("[" + CardGateway.ToolCall(Pan, "a", "{}") + "," + CardGateway.ToolCall("2", "b", "{}") + "]");

        Assert.Contains("\"id\":" + Pan + ",\"result\"", answer.Body);
        Assert.DoesNotContain("4012888888881881", answer.Body); // the upstream's id, answering no member
    }

    [Fact]
    public async Task A_batch_members_own_id_is_left_as_sent_in_a_json_array_answer()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x => x.RespondJsonAsync(
            "[{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"n\":" + Pan + "}},{\"jsonrpc\":\"2.0\",\"id\":" + Pan + ",\"result\":{}}]"));
        RawResponse answer = await g.PostAsync("[" + CardGateway.ToolCall(Pan, "a", "{}") + "," + CardGateway.ToolCall("2", "b", "{}") + "]");

        Assert.Equal(200, answer.Status);
        Assert.Contains("\"id\":" + Pan + ",\"result\"", answer.Body); // the client's own id, as it sent it
        Assert.Contains("\"n\":4111110000001111", answer.Body); // a card number elsewhere in the array is masked
        Assert.DoesNotContain(Pan, AuditCards.ReadableText(await g.StopAndReadAuditAsync()));
    }
}
