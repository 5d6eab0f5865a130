using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Card numbers a client puts in its request's header fields (an account field, a note, its User-Agent): under
/// masking.requests they are treated like the body's, through the real gateway: masked for the upstream in "mask",
/// refused in "block", forwarded as sent in "forward". The upstream's session id is sent back exactly as issued.
/// </summary>
public sealed class RequestHeaderCardTests
{
    private const string Pan = "4111111111111111";
    private const string SpacedPan = "4111 1111 1111 1111";
    private const string CardHeaders = $"X-Account: {Pan}\r\nX-Note: card {SpacedPan} on file\r\nUser-Agent: agent/1 (card {Pan})\r\n";

    // The upstream gets X-Account and X-Note only because its forwardHeaders names them (User-Agent always passes).
    private static void ForwardAccountFields(Configuration.GatewayOptions o) => o.Upstream.ForwardHeaders = ["X-Account", "X-Note"];

    [Fact]
    public async Task Mask_mode_masks_card_numbers_in_the_forwarded_header_fields()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: CardGateway.EmptyResult, configure: ForwardAccountFields);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"), CardHeaders);

        Assert.Equal(200, answer.Status);
        UpstreamRequest forwarded = g.Upstream.SingleRequest();
        Assert.Equal("411111******1111", forwarded.Header("X-Account"));
        Assert.Equal("card 4111 11** **** 1111 on file", forwarded.Header("X-Note"));
        Assert.Equal("agent/1 (card 411111******1111)", forwarded.Header("User-Agent"));
    }

    [Fact]
    public async Task Block_mode_refuses_a_call_with_a_card_number_in_a_header_field()
    {
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = "block", upstreamScript: CardGateway.EmptyResult);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"), $"X-Account: {Pan}\r\n");

        Assert.Equal(200, answer.Status);
        Assert.Equal((-32001, "1"), answer.JsonRpcError());
        Assert.Empty(g.Upstream.Requests);
    }

    [Fact]
    public async Task Forward_mode_forwards_header_fields_as_sent()
    {
        await using CardGateway g = await CardGateway.StartAsync(masking: m => m.Requests = "forward", upstreamScript: CardGateway.EmptyResult, configure: ForwardAccountFields);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"), CardHeaders);

        Assert.Equal(200, answer.Status);
        Assert.Equal(Pan, g.Upstream.SingleRequest().Header("X-Account"));
    }

    [Theory]
    [InlineData("GET", "mask")]
    [InlineData("DELETE", "mask")]
    [InlineData("GET", "block")]
    [InlineData("DELETE", "block")]
    public async Task The_header_fields_of_a_get_or_delete_follow_the_request_rule(string method, string requests)
    {
        await using CardGateway g = await CardGateway.StartWithSessionAsync(masking: m => m.Requests = requests, configure: ForwardAccountFields);
        RawResponse answer = await g.SendInSessionAsync(method, "/mcp", $"X-Account: {Pan}\r\n");

        UpstreamRequest? forwarded = g.Upstream.Requests.Skip(1).FirstOrDefault();
        if (requests == "mask")
        {
            Assert.Equal(200, answer.Status);
            Assert.Equal("411111******1111", forwarded!.Header("X-Account"));
        }
        else
        {
            Assert.Equal(403, answer.Status);
            Assert.Null(forwarded);
        }
    }

    [Fact]
    public async Task A_session_id_that_looks_like_a_card_number_goes_back_to_the_upstream_exactly()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x =>
            x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}", $"Mcp-Session-Id: {Pan}\r\n"));
        RawResponse opened = await g.PostAsync(
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
        Assert.Equal(Pan, opened.Header("Mcp-Session-Id"));
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("2", "echo", "{}"), $"Mcp-Session-Id: {Pan}\r\n");

        Assert.Equal(200, answer.Status);
        Assert.Equal(Pan, g.Upstream.Requests.Last().Header("Mcp-Session-Id"));
    }
}
