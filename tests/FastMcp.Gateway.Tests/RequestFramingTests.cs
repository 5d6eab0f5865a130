using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// Requests the gateway must refuse before anything reaches the upstream: each gets its status, a
/// JSON-RPC error with a null id (the body was never read), and a closed connection, because after
/// a framing error the gateway cannot know where the next request would start.
/// </summary>
public sealed class RequestFramingTests
{
    private static async Task AssertRejectedAndClosedAsync(string request, int expectedStatus, Action<Configuration.GatewayOptions>? configure = null)
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url, configure);
        // Several connections: an answer that is lost only sometimes (a race with the close) must still fail the test.
        for (int attempt = 1; attempt <= Attempts; attempt++)
        {
            using RawClient client = await gateway.ConnectAsync();

            await client.SendAsync(request.Replace("{authority}", gateway.Authority, StringComparison.Ordinal));
            RawResponse response = await client.ReadResponseAsync($"the rejection (connection {attempt} of {Attempts})");

            Assert.Equal(expectedStatus, response.Status);
            (int code, string id) = response.JsonRpcError();
            Assert.Equal(JsonRpcErrorCodes.InvalidRequest, code);
            Assert.Equal("null", id);
            Assert.Equal("close", response.Header("Connection"));
            Assert.True(await client.GatewayClosesAsync(), "the gateway should close the connection after a framing error");
        }
        Assert.Empty(upstream.Requests);
    }

    private const int Attempts = 5;

    [Fact]
    public Task Malformed_request_line_is_400_and_closes() =>
        AssertRejectedAndClosedAsync("POST/mcp HTTP/1.1 extra\r\nHost: {authority}\r\n\r\n", 400);

    [Fact]
    public Task Headers_over_the_limit_are_431_and_close()
    {
        string big = new('a', 6000);
        return AssertRejectedAndClosedAsync($"POST /mcp HTTP/1.1\r\nHost: {{authority}}\r\nX-Big: {big}\r\nContent-Length: 2\r\n\r\n{{}}", 431,
            o =>
            {
                o.Limits.MaxHeadBytes = 4096;
                o.Limits.MaxTargetLength = 1024;
            });
    }

    [Fact]
    public Task Content_length_over_the_body_limit_is_413_and_closes() =>
        AssertRejectedAndClosedAsync("POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n", 413,
            o => o.Limits.MaxRequestBodyBytes = 2048);

    [Fact]
    public Task Chunked_body_over_the_body_limit_is_413_and_closes()
    {
        string chunk = new('x', 1500);
        string body = $"{chunk.Length:x}\r\n{chunk}\r\n{chunk.Length:x}\r\n{chunk}\r\n0\r\n\r\n";
        // Declared as JSON: a body of another media type is refused (415) before it is read at all.
        return AssertRejectedAndClosedAsync($"POST /mcp HTTP/1.1\r\nHost: {{authority}}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{body}", 413,
            o => o.Limits.MaxRequestBodyBytes = 2048);
    }

    [Fact]
    public Task Content_length_with_transfer_encoding_is_400_and_closes() =>
        AssertRejectedAndClosedAsync(
            "POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);

    [Fact]
    public Task Differing_duplicate_content_lengths_are_400_and_close() =>
        AssertRejectedAndClosedAsync("POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x", 400);

    [Fact]
    public async Task Headers_arriving_too_slowly_are_408_and_close()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o => o.Timeouts.RequestHeadersMs = 300);
        for (int attempt = 1; attempt <= 3; attempt++)
        {
            using RawClient client = await gateway.ConnectAsync();

            // Half a head, then silence: the gateway must not wait for the rest forever.
            await client.SendAsync($"POST /mcp HTTP/1.1\r\nHost: {gateway.Authority}\r\nContent-Ty");
            RawResponse response = await client.ReadResponseAsync($"a 408 after RequestHeadersMs (connection {attempt} of 3)");

            Assert.Equal(408, response.Status);
            Assert.Equal("null", response.JsonRpcError().IdJson);
            Assert.True(await client.GatewayClosesAsync(), "the gateway should close the connection after a header timeout");
        }
        Assert.Empty(upstream.Requests);
    }
}
