using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Response masking leaves the message's own JSON-RPC id as it is (the id the client sent, a correlation token), and
/// masks card numbers written as JSON numbers everywhere else. The id it leaves must be the one every client reads:
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
}
