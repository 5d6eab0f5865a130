using System.Text;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>Connection-level HTTP/1.1: keep-alive reuse both ways, pipelining, Expect: 100-continue, chunked request bodies.</summary>
public sealed class ConnectionTests
{
    [Fact]
    public async Task Sequential_requests_on_one_client_connection_reuse_one_upstream_connection()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1")));
        RawResponse first = await client.ReadResponseAsync("the first answer");
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("2")));
        RawResponse second = await client.ReadResponseAsync("the second answer on the same connection");

        Assert.Equal(200, first.Status);
        Assert.Equal("1", first.IdJson());
        Assert.Equal(200, second.Status);
        Assert.Equal("2", second.IdJson());
        Assert.Null(second.Header("Connection"));
        Assert.Equal(1, upstream.ConnectionsAccepted);
        Assert.Equal(1, gateway.Host.Pool.ConnectionsOpened);
    }

    [Fact]
    public async Task Pipelined_posts_get_two_responses_in_order()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        // Both requests in one write: the gateway must find the second one behind the first body.
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"first\"")) + gateway.Post(GatewayUnderTest.ToolsList("\"second\"")));
        RawResponse a = await client.ReadResponseAsync("the answer to the first pipelined request");
        RawResponse b = await client.ReadResponseAsync("the answer to the second pipelined request");

        Assert.Equal(200, a.Status);
        Assert.Equal("\"first\"", a.IdJson());
        Assert.Equal(200, b.Status);
        Assert.Equal("\"second\"", b.IdJson());
        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    public async Task A_body_that_comes_after_its_head_with_the_next_request_behind_it_is_answered_in_order()
    {
        // The body is not in the pipe when the head is parsed: its read waits (the continuation path of HandlePostAsync),
        // and its bytes are released after the exchange (EndPostBody) so that the request behind them is read next.
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();
        string first = gateway.Post(GatewayUnderTest.ToolsList("\"late\""));
        int bodyStart = first.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;

        await client.SendAsync(first[..bodyStart]);
        await Task.Delay(50);
        await client.SendAsync(first[bodyStart..] + gateway.Post(GatewayUnderTest.ToolsList("\"behind\"")));
        RawResponse a = await client.ReadResponseAsync("the answer to the request whose body came late");
        RawResponse b = await client.ReadResponseAsync("the answer to the request behind it");

        Assert.Equal(200, a.Status);
        Assert.Equal("\"late\"", a.IdJson());
        Assert.Equal(200, b.Status);
        Assert.Equal("\"behind\"", b.IdJson());
        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    public async Task A_post_pipelined_behind_a_chunked_body_is_answered_in_order()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();
        string body = GatewayUnderTest.ToolsList("\"chunked\"");

        // One write: the chunked request, its last chunk, and a whole Content-Length request behind it (RFC 9112 9.3.2).
        await client.SendAsync($"POST /mcp HTTP/1.1\r\nHost: {gateway.Authority}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
            $"{body.Length:x}\r\n{body}\r\n0\r\n\r\n" + gateway.Post(GatewayUnderTest.ToolsList("\"behind\"")));
        RawResponse a = await client.ReadResponseAsync("the answer to the chunked request");
        RawResponse b = await client.ReadResponseAsync("the answer to the request pipelined behind it");

        Assert.Equal(200, a.Status);
        Assert.Equal("\"chunked\"", a.IdJson());
        Assert.Equal(200, b.Status);
        Assert.Equal("\"behind\"", b.IdJson());
        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    public async Task Expect_100_continue_gets_100_before_the_final_response()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();
        string body = GatewayUnderTest.ToolsList("5");

        await client.SendAsync($"POST /mcp HTTP/1.1\r\nHost: {gateway.Authority}\r\nContent-Type: application/json\r\n" +
            $"Expect: 100-continue\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n");
        (WireHead interimHead, int interim) = await client.ReadHeadAsync("HTTP/1.1 100 Continue before sending the body");
        await client.SendAsync(body);
        RawResponse final = await client.ReadResponseAsync("the final response after the body");

        Assert.Equal(100, interim);
        Assert.Equal("HTTP/1.1 100 Continue", interimHead.StartLine);
        Assert.Equal(200, final.Status);
        Assert.Equal("5", final.IdJson());
        UpstreamRequest seen = upstream.SingleRequest();
        Assert.Equal(body, seen.Body);
        Assert.False(seen.Head.Has("Expect"), "Expect is answered by the gateway, not forwarded");
    }

    [Fact]
    public async Task Chunked_request_body_reaches_the_upstream_decoded_with_a_content_length()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();
        string body = GatewayUnderTest.ToolsList("\"chunky\"");
        string part1 = body[..10], part2 = body[10..];

        await client.SendAsync($"POST /mcp HTTP/1.1\r\nHost: {gateway.Authority}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
            $"{part1.Length:x}\r\n{part1}\r\n");
        await Task.Delay(50);
        await client.SendAsync($"{part2.Length:x};ext=1\r\n{part2}\r\n0\r\n\r\n");
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Equal("\"chunky\"", response.IdJson());
        UpstreamRequest seen = upstream.SingleRequest();
        Assert.Equal(body, seen.Body);
        Assert.Equal(Encoding.UTF8.GetByteCount(body).ToString(System.Globalization.CultureInfo.InvariantCulture), seen.Header("Content-Length"));
        Assert.False(seen.Head.Has("Transfer-Encoding"));
    }

    [Fact]
    public async Task Chunked_upstream_json_response_is_relayed_whole()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.EchoChunked);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("3")));
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Equal("3", response.IdJson());
        Assert.Equal("POST", response.ResultString("method"));
    }

    [Fact]
    public async Task Idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o => o.Timeouts.KeepAliveMs = 300);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1")));
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.True(await client.GatewayClosesAsync(TimeSpan.FromSeconds(5)), "an idle connection should be closed after KeepAliveMs");
    }

    [Fact]
    public async Task Request_arriving_in_small_pieces_is_reassembled()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();
        string request = gateway.Post(GatewayUnderTest.ToolsList("\"pieces\""), "Mcp-Session-Id: sess-split\r\n");

        // Cuts inside the request line, inside a CRLF, inside the empty line and inside the body.
        int[] cuts = [3, 9, request.IndexOf("\r\n", StringComparison.Ordinal) + 1, request.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 3, request.Length - 5];
        int start = 0;
        foreach (int cut in cuts)
        {
            await client.SendAsync(request[start..cut]);
            await Task.Delay(20);
            start = cut;
        }
        await client.SendAsync(request[start..]);
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Equal("\"pieces\"", response.IdJson());
        Assert.Equal("sess-split", upstream.SingleRequest().Header("Mcp-Session-Id"));
    }

    [Fact]
    public async Task Http10_client_gets_an_event_stream_delimited_by_close()
    {
        await using var upstream = new ScriptedUpstream(async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("data: {\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}\n\n");
            await x.EndChunkedAsync();
        });
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();
        string body = GatewayUnderTest.ToolsList("4");

        await client.SendAsync($"POST /mcp HTTP/1.0\r\nHost: {gateway.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        RawResponse response = await client.ReadResponseAsync("the whole stream up to the close");

        Assert.Equal(200, response.Status);
        Assert.Null(response.Header("Transfer-Encoding"));
        Assert.False(response.Chunked);
        Assert.Equal("data: {\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}\n\n", response.Body);
    }
}
