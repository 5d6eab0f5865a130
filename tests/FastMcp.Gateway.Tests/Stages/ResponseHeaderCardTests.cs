using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Card numbers in the header fields of an upstream's answer. The client reads those as surely as the body, so they
/// are masked like the body before the client gets them, whatever the answer's shape; the upstream's session id is
/// its own token and is relayed as it is.
/// </summary>
public sealed class ResponseHeaderCardTests
{
    private const string Pan = "4111111111111111";
    private const string SpacedPan = "4111 1111 1111 1111";
    private const string MaskedPan = "411111******1111";
    private const string CardHeaders = $"X-Account: {Pan}\r\nLink: </orders/{Pan}>; rel=\"related\"\r\nX-Note: card {SpacedPan} on file\r\n";

    private static Task JsonWithCardHeaders(UpstreamExchange x) =>
        x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}", CardHeaders);

    private static async Task StreamWithCardHeaders(UpstreamExchange x)
    {
        await x.StartEventStreamAsync(CardHeaders);
        await x.SendEventAsync("data: {\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}\n\n");
        await x.EndChunkedAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Card_numbers_in_an_answers_header_fields_are_masked_before_the_client_reads_them(bool eventStream)
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: eventStream ? StreamWithCardHeaders : JsonWithCardHeaders);
        RawResponse answer = await g.PostAsync(CardGateway.ToolCall("1", "echo", "{}"));

        Assert.Equal(200, answer.Status);
        Assert.DoesNotContain(Pan, answer.Head.Raw, StringComparison.Ordinal);
        Assert.DoesNotContain(SpacedPan, answer.Head.Raw, StringComparison.Ordinal);
        Assert.Equal(MaskedPan, answer.Header("X-Account"));
        Assert.Equal($"</orders/{MaskedPan}>; rel=\"related\"", answer.Header("Link"));
        Assert.Equal("card 4111 11** **** 1111 on file", answer.Header("X-Note"));
        Assert.Contains("\"result\"", answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_upstreams_session_id_is_relayed_as_issued()
    {
        // A numeric session id that happens to pass the Luhn check: masking it would end the client's session.
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: x =>
            x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}", $"Mcp-Session-Id: {Pan}\r\n"));
        RawResponse answer = await g.PostAsync(
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");

        Assert.Equal(200, answer.Status);
        Assert.Equal(Pan, answer.Header("Mcp-Session-Id"));
    }
}
