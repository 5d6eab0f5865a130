using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// An upstream that answers with a redirect would send the client elsewhere: an MCP client's HTTP stack follows
/// 307 and 308 with the same method and body, so the call (its unmasked arguments) would go to a server the gateway
/// never sees, and that server's answer would come back undecided, unmasked and unrecorded. The gateway is the one
/// way to the tools: a redirect is refused, never relayed.
/// </summary>
public sealed class UpstreamRedirectTests
{
    [Theory]
    [InlineData(301, "POST")]
    [InlineData(302, "POST")]
    [InlineData(303, "POST")]
    [InlineData(307, "POST")]
    [InlineData(308, "POST")]
    [InlineData(307, "GET")]
    [InlineData(308, "DELETE")]
    public async Task A_redirect_from_the_upstream_is_refused_and_its_location_never_reaches_the_client(int status, string method)
    {
        await using var upstream = new ScriptedUpstream(x => x.Request.ConnectionNumber == 1
            ? x.SendAsync($"HTTP/1.1 {status} Moved\r\nLocation: http://elsewhere.example/mcp\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nmoved")
            : UpstreamScripts.Echo(x));
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        string request = method switch
        {
            "POST" => gateway.Post(GatewayUnderTest.ToolsList("1")),
            _ => $"{method} /mcp HTTP/1.1\r\nHost: {gateway.Authority}\r\nAccept: text/event-stream\r\nMcp-Session-Id: s1\r\n\r\n",
        };
        await client.SendAsync(request);
        RawResponse refused = await client.ReadResponseAsync("the gateway's answer to a redirect");

        Assert.Equal(502, refused.Status);
        Assert.Null(refused.Header("Location"));
        Assert.DoesNotContain("elsewhere", refused.ToString(), StringComparison.Ordinal);
        if (method == "POST")
        {
            (int code, string id) = refused.JsonRpcError();
            Assert.Equal(JsonRpcErrorCodes.UpstreamUnavailable, code);
            Assert.Equal("1", id);
            Assert.Contains("redirect", refused.Body, StringComparison.Ordinal);
        }

        // The client's connection still serves, over another upstream connection (the redirect's body was not read).
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("2")));
        RawResponse next = await client.ReadResponseAsync("the next answer");
        Assert.Equal(200, next.Status);
        Assert.Equal("2", next.IdJson());
        Assert.Equal(2, upstream.ConnectionsAccepted);
    }

    [Fact]
    public async Task Not_modified_is_not_a_redirect_and_is_relayed()
    {
        await using var upstream = new ScriptedUpstream(x => x.SendAsync("HTTP/1.1 304 Not Modified\r\nETag: \"e1\"\r\n\r\n"));
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync($"GET /mcp HTTP/1.1\r\nHost: {gateway.Authority}\r\nAccept: text/event-stream\r\nMcp-Session-Id: s1\r\n\r\n");
        RawResponse answer = await client.ReadResponseAsync("the relayed 304");
        Assert.Equal(304, answer.Status);
        Assert.Equal("\"e1\"", answer.Header("ETag"));
    }
}
