using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// What the upstream sees of the client's head, and what the client sees of the upstream's: hop-by-hop
/// fields and client credentials stop at the gateway; forwarding fields are the gateway's own; the
/// MCP session fields travel end to end.
/// </summary>
public sealed class HeaderForwardingTests
{
    [Fact]
    public async Task Request_headers_are_filtered_rewritten_and_carried()
    {
        await using var upstream = new ScriptedUpstream(x => x.RespondJsonAsync(UpstreamScripts.EchoJson(x.Request),
            "Mcp-Session-Id: sess-from-upstream\r\nKeep-Alive: timeout=99\r\nX-Upstream-Note: kept\r\n"));
        // "*": every field but those that stop at the gateway, so that what stops is what is tested.
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o => o.Upstream.ForwardHeaders = ["*"]);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("11"),
            "Connection: keep-alive, X-Hop-Secret\r\n" +
            "Keep-Alive: timeout=5\r\n" +
            "TE: trailers\r\n" +
            "Upgrade: websocket\r\n" +
            "Proxy-Authorization: Basic cHJveHk6c2VjcmV0\r\n" +
            "X-Hop-Secret: named-in-connection\r\n" +
            "Authorization: Bearer client-token-must-not-leak\r\n" +
            "X-Forwarded-For: 6.6.6.6\r\n" +
            "X-Forwarded-Proto: gopher\r\n" +
            "Mcp-Session-Id: sess-123\r\n" +
            "MCP-Protocol-Version: 2025-06-18\r\n" +
            "Last-Event-ID: evt-42\r\n" +
            "X-End-To-End: yes\r\n"));
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        WireHead seen = upstream.SingleRequest().Head;
        // The echo proves the upstream's view and the recorded head agree.
        Assert.Equal(seen.Raw, response.ResultString("head"));

        Assert.Equal($"POST /mcp HTTP/1.1", seen.StartLine);
        Assert.Equal($"127.0.0.1:{upstream.Port}", seen.Get("Host"));
        foreach (string dropped in new[] { "Connection", "Keep-Alive", "TE", "Upgrade", "Proxy-Authorization", "X-Hop-Secret", "Authorization" })
        {
            Assert.False(seen.Has(dropped), $"{dropped} must not be forwarded; upstream saw:\n{seen.Raw}");
        }
        Assert.Equal("127.0.0.1", seen.Get("X-Forwarded-For"));
        Assert.Equal("http", seen.Get("X-Forwarded-Proto"));
        Assert.Equal("sess-123", seen.Get("Mcp-Session-Id"));
        Assert.Equal("2025-06-18", seen.Get("MCP-Protocol-Version"));
        Assert.Equal("evt-42", seen.Get("Last-Event-ID"));
        Assert.Equal("yes", seen.Get("X-End-To-End"));

        Assert.Equal("sess-from-upstream", response.Header("Mcp-Session-Id"));
        Assert.Equal("kept", response.Header("X-Upstream-Note"));
        Assert.Null(response.Header("Keep-Alive"));
    }

    // Fields upstream frameworks and proxies read as the client's address, or as the path or method to act on
    // (X-Original-URL in IIS and Symfony, X-HTTP-Method-Override in many frameworks): a client setting them would
    // choose its own origin, or have the upstream act on another path or method than the one the gateway decided on.
    [Theory]
    [InlineData("X-Real-IP: 6.6.6.6")]
    [InlineData("x-real-ip: 6.6.6.6")]
    [InlineData("True-Client-IP: 6.6.6.6")]
    [InlineData("X-Client-IP: 6.6.6.6")]
    [InlineData("X-Cluster-Client-IP: 6.6.6.6")]
    [InlineData("CF-Connecting-IP: 6.6.6.6")]
    [InlineData("Fastly-Client-IP: 6.6.6.6")]
    [InlineData("X-Original-Forwarded-For: 6.6.6.6")]
    [InlineData("X-Forwarded-Port: 6666")]
    [InlineData("X-Forwarded-Server: evil.example")]
    [InlineData("X-Forwarded-Prefix: /admin")]
    [InlineData("X-Original-URL: /admin/delete")]
    [InlineData("X-Rewrite-URL: /admin/delete")]
    [InlineData("X-HTTP-Method-Override: DELETE")]
    [InlineData("X-HTTP-Method: DELETE")]
    [InlineData("X-Method-Override: DELETE")]
    public async Task Fields_that_claim_the_clients_origin_or_another_target_are_not_forwarded(string line)
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        // "*": every field but those that stop at the gateway, so that what stops is what is tested.
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o => o.Upstream.ForwardHeaders = ["*"]);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1"), line + "\r\nX-End-To-End: yes\r\n"));
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);

        WireHead seen = upstream.SingleRequest().Head;
        string name = line[..line.IndexOf(':', StringComparison.Ordinal)];
        Assert.False(seen.Has(name), $"{name} must not be forwarded; upstream saw:\n{seen.Raw}");
        Assert.Equal("yes", seen.Get("X-End-To-End"));
    }
}
