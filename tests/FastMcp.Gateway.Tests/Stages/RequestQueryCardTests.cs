using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Card numbers a client puts in the request target's query (an "?account=" parameter): the gateway forwards the query
/// to the upstream, which decodes it (percent escapes, '+' as a space), so under masking.requests it is treated like the
/// body and the header fields: masked in "mask" (in the encoding it was sent in), refused in "block", forwarded as sent
/// in "forward". Through the real gateway.
/// </summary>
public sealed class RequestQueryCardTests
{
    private const string Pan = "4111111111111111";

    [Theory]
    [InlineData("?account=4111111111111111", "?account=411111******1111")]
    [InlineData("?note=card+4111+1111+1111+1111&x=1", "?note=card+4111+11**+****+1111&x=1")]
    [InlineData("?a=%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31", "?a=%34%31%31%31%31%31%2A%2A%2A%2A%2A%2A%31%31%31%31")]
    [InlineData("?a=4111%2D1111%2D1111%2D1111", "?a=4111%2D11**%2D****%2D1111")]
    [InlineData("?a=%EF%BC%94111111111111111", "?a=%EF%BC%9411111******1111")]
    public async Task Mask_mode_masks_a_card_number_in_the_query_in_its_own_encoding(string query, string forwarded)
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: CardGateway.EmptyResult);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"), path: "/mcp" + query);

        Assert.Equal(200, answer.Status);
        Assert.Equal("/mcp" + forwarded, g.Upstream.SingleRequest().Target);
    }

    [Theory]
    [InlineData("?account=4111111111111111")]
    [InlineData("?a=%34%31%31%31%31%31%31%31%31%31%31%31%31%31%31%31")]
    [InlineData("?a=4111+1111+1111+1111")]
    public async Task Block_mode_refuses_a_call_with_a_card_number_in_the_query(string query)
    {
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = "block", upstreamScript: CardGateway.EmptyResult);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"), path: "/mcp" + query);

        Assert.Equal(200, answer.Status);
        Assert.Equal((-32001, "1"), answer.JsonRpcError());
        Assert.Empty(g.Upstream.Requests);
    }

    [Fact]
    public async Task Forward_mode_and_a_query_without_a_card_number_are_forwarded_as_sent()
    {
        await using (CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = "forward", upstreamScript: CardGateway.EmptyResult))
        {
            await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"), path: "/mcp?account=" + Pan);
            Assert.Equal("/mcp?account=" + Pan, g.Upstream.SingleRequest().Target);
        }
        await using (CardGateway g = await CardGateway.StartAsync(upstreamScript: CardGateway.EmptyResult))
        {
            await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"), path: "/mcp?order=4111111111111112&page=%32");
            Assert.Equal("/mcp?order=4111111111111112&page=%32", g.Upstream.SingleRequest().Target);
        }
    }

    [Theory]
    [InlineData("GET", "mask")]
    [InlineData("DELETE", "mask")]
    [InlineData("GET", "block")]
    [InlineData("DELETE", "block")]
    public async Task The_query_of_a_get_or_delete_follows_the_request_rule(string method, string requests)
    {
        await using CardGateway g = await CardGateway.StartWithSessionAsync(masking: m => m.Requests = requests);
        RawResponse answer = await g.SendInSessionAsync(method, $"/mcp?account={Pan}", "");

        UpstreamRequest? forwarded = g.Upstream.Requests.Skip(1).FirstOrDefault();
        if (requests == "mask")
        {
            Assert.Equal(200, answer.Status);
            Assert.Equal("/mcp?account=411111******1111", forwarded!.Target);
        }
        else
        {
            Assert.Equal(403, answer.Status);
            Assert.Null(forwarded);
        }
    }
}
