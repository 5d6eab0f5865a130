using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// The gateway decides on a body read as UTF-8 JSON. An upstream that honours a charset parameter (body-parser with
/// iconv-lite decodes <c>charset=utf-7</c>, so <c>+ACIAfQAs-</c> becomes <c>"},</c>) or a Content-Encoding (it
/// inflates gzip, deflate, br) would run a different message than the one decided. Such requests are answered
/// 415 and never forwarded.
/// </summary>
public sealed class RequestMediaTypeTests
{
    // The UTF-7 run decodes to "},"name":"rm","x":{" for a charset-honouring upstream: a tools/call of rm, where
    // the gateway reads one string argument of the tool "ls".
    private const string Utf7Smuggle =
        """{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"ls","arguments":{"p":"+ACIAfQAsACIAbgBhAG0AZQAiADoAIgByAG0AIgAsACIAeAAiADoAewAi-"}}}""";

    private static string PostWith(GatewayUnderTest gateway, string json, string headerLines) =>
        $"POST /mcp HTTP/1.1\r\nHost: {gateway.Authority}\r\n{headerLines}Accept: application/json, text/event-stream\r\n" +
        $"Content-Length: {Encoding.UTF8.GetByteCount(json)}\r\n\r\n{json}";

    private static async Task<RawResponse> SendAsync(GatewayUnderTest gateway, string request)
    {
        using RawClient client = await gateway.ConnectAsync();
        await client.SendAsync(request);
        return await client.ReadResponseAsync();
    }

    private static void AssertUnsupportedMediaType(RawResponse response, string expectedMessagePart)
    {
        Assert.Equal(415, response.Status);
        (int code, string id) = response.JsonRpcError();
        Assert.Equal(JsonRpcErrorCodes.InvalidRequest, code);
        Assert.Equal("null", id);
        using JsonDocument body = JsonDocument.Parse(response.Body);
        Assert.Contains(expectedMessagePart, body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Content-Type: application/json; charset=utf-7\r\n")]
    [InlineData("Content-Type: application/json;charset=UTF-7\r\n")]
    [InlineData("Content-Type: application/json; charset=\"utf-16\"\r\n")]
    [InlineData("Content-Type: application/json; charset=utf8\r\n")]
    [InlineData("Content-Type: application/json; charset=\"utf-8\r\n")]
    // Parsers that let the last parameter win would read utf-7 here.
    [InlineData("Content-Type: application/json; charset=utf-8; charset=utf-7\r\n")]
    // Two fields: peers differ on which one counts (or join them).
    [InlineData("Content-Type: application/json\r\nContent-Type: application/json; charset=utf-7\r\n")]
    // A parameter the gateway does not know: nothing it could decide on.
    [InlineData("Content-Type: application/json; x=\"a;charset=utf-7\"\r\n")]
    [InlineData("Content-Type: text/plain\r\n")]
    [InlineData("Content-Type: application/x-www-form-urlencoded\r\n")]
    [InlineData("Content-Type: application/json-seq\r\n")]
    [InlineData("Content-Type: \r\n")]
    [InlineData("")]
    public async Task A_post_whose_body_is_not_plain_utf8_json_is_415_and_never_forwarded(string contentTypeLines)
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);

        RawResponse response = await SendAsync(gateway, PostWith(gateway, Utf7Smuggle, contentTypeLines));

        AssertUnsupportedMediaType(response, "Content-Type");
        Assert.Empty(upstream.Requests);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("Application/JSON")]
    [InlineData("application/json; charset=UTF-8")]
    [InlineData("application/json; charset=\"utf-8\"")]
    [InlineData("application/json;charset=utf-8")]
    [InlineData("application/json ; Charset=Utf-8 ")]
    public async Task Json_in_utf8_is_forwarded_with_the_content_type_that_was_inspected(string contentType)
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);

        RawResponse response = await SendAsync(gateway, PostWith(gateway, GatewayUnderTest.ToolsList("3"), $"Content-Type: {contentType}\r\n"));

        Assert.Equal(200, response.Status);
        Assert.Equal("3", response.IdJson());
        UpstreamRequest seen = upstream.SingleRequest();
        Assert.Equal(contentType.Trim(), seen.Header("Content-Type"));
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    [InlineData("br")]
    [InlineData("identity, gzip")]
    [InlineData("GZIP")]
    [InlineData("x-custom")]
    public async Task A_post_with_a_content_coding_is_415_and_never_forwarded(string coding)
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);

        RawResponse response = await SendAsync(gateway,
            PostWith(gateway, GatewayUnderTest.ToolsList("4"), $"Content-Type: application/json\r\nContent-Encoding: {coding}\r\n"));

        AssertUnsupportedMediaType(response, "Content-Encoding");
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task A_second_content_encoding_field_is_read_too()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);

        RawResponse response = await SendAsync(gateway,
            PostWith(gateway, GatewayUnderTest.ToolsList("5"), "Content-Type: application/json\r\nContent-Encoding: identity\r\nContent-Encoding: gzip\r\n"));

        AssertUnsupportedMediaType(response, "Content-Encoding");
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task Identity_coding_is_not_a_coding()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);

        RawResponse response = await SendAsync(gateway,
            PostWith(gateway, GatewayUnderTest.ToolsList("6"), "Content-Type: application/json\r\nContent-Encoding: identity\r\n"));

        Assert.Equal(200, response.Status);
        Assert.Equal("6", upstream.SingleRequest().IdJson());
    }

    [Fact]
    public async Task A_get_with_a_content_coding_is_415_too()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);

        RawResponse response = await SendAsync(gateway,
            $"GET /mcp HTTP/1.1\r\nHost: {gateway.Authority}\r\nAccept: text/event-stream\r\nContent-Encoding: gzip\r\n\r\n");

        AssertUnsupportedMediaType(response, "Content-Encoding");
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task A_refusal_before_the_body_is_read_closes_the_connection()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(PostWith(gateway, Utf7Smuggle, "Content-Type: application/json; charset=utf-7\r\n"));
        RawResponse refused = await client.ReadResponseAsync("the refusal");

        // The unread body must not be taken for the next request.
        Assert.Equal(415, refused.Status);
        Assert.Equal("close", refused.Header("Connection"));
        Assert.Empty(upstream.Requests);
    }
}
