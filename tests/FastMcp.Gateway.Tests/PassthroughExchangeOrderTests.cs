using System.Text;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// Pass-through (the shortest path, no stage) with the bytes of both heads arriving in the orders the connection's loop
/// and the forward must wait through: the request head and the upstream's answer head are each read one receive at a
/// time by the method that handles the exchange (RunAsync, ForwardAsync), with what was framed so far kept between reads.
/// </summary>
public sealed class PassthroughExchangeOrderTests
{
    private static GatewayUnderTest Start(ScriptedUpstream upstream, Action<Configuration.GatewayOptions>? configure = null) =>
        GatewayUnderTest.Start(upstream.Url, o =>
        {
            o.Passthrough = true;
            configure?.Invoke(o);
        });

    [Fact]
    public async Task An_answer_head_that_comes_in_pieces_after_an_interim_response_is_relayed_and_both_connections_are_reused()
    {
        await using var upstream = new ScriptedUpstream(async x =>
        {
            byte[] body = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}");
            // An interim answer first (not relayed), then the final head cut inside its status line, a field and the empty line.
            await x.SendAsync("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Ty");
            await Task.Delay(30);
            await x.SendAsync($"pe: application/json\r\nContent-Length: {body.Length}\r\n\r");
            await Task.Delay(30);
            await x.SendAsync("\n");
            await Task.Delay(30);
            await x.SendAsync(body);
        });
        await using var gateway = Start(upstream);
        using RawClient client = await gateway.ConnectAsync();

        for (int i = 1; i <= 3; i++)
        {
            await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList(i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
            RawResponse response = await client.ReadResponseAsync($"the final answer to request {i}, its head sent in pieces");
            Assert.Equal(200, response.Status);
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), response.IdJson());
            Assert.Null(response.Header("Link"));
        }
        Assert.Equal(3, upstream.Requests.Count);
        Assert.Equal(1, upstream.ConnectionsAccepted);
        Assert.Equal(1, gateway.Host.Pool.ConnectionsOpened);
    }

    [Fact]
    public async Task An_upstream_that_closes_inside_its_answer_head_gets_the_client_a_502_and_the_next_request_is_answered()
    {
        int exchanges = 0;
        await using var upstream = new ScriptedUpstream(async x =>
        {
            if (Interlocked.Increment(ref exchanges) == 1)
            {
                await x.SendAsync("HTTP/1.1 200 OK\r\nContent-Le");
                await Task.Delay(30);
                x.Close();
                return;
            }
            await UpstreamScripts.Echo(x);
        });
        await using var gateway = Start(upstream);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"cut\"")));
        RawResponse failed = await client.ReadResponseAsync("the gateway's 502 for an answer head cut short");
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"next\"")));
        RawResponse next = await client.ReadResponseAsync("the answer to the request behind it, on the same client connection");

        Assert.Equal(502, failed.Status);
        Assert.Equal(JsonRpcErrorCodes.UpstreamUnavailable, failed.JsonRpcError().Code);
        Assert.Equal(200, next.Status);
        Assert.Equal("\"next\"", next.IdJson());
        Assert.Equal(2, upstream.Requests.Count);
        Assert.Equal(2, upstream.ConnectionsAccepted);
    }

    [Fact]
    public async Task Line_breaks_between_keep_alive_requests_are_skipped_and_a_connection_idle_after_them_closes_without_an_answer()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        // A head that has begun gets RequestHeadersMs and then a 408; line breaks alone do not begin one (RFC 9112 2.2).
        await using var gateway = Start(upstream, o =>
        {
            o.Timeouts.KeepAliveMs = 400;
            o.Timeouts.RequestHeadersMs = 60_000;
        });
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1")));
        RawResponse first = await client.ReadResponseAsync("the first answer");
        // Line breaks on their own, then the next request cut inside its request line.
        await client.SendAsync("\r\n\r\n");
        await Task.Delay(30);
        string second = gateway.Post(GatewayUnderTest.ToolsList("2"));
        await client.SendAsync("\r\n" + second[..6]);
        await Task.Delay(30);
        await client.SendAsync(second[6..]);
        RawResponse answer = await client.ReadResponseAsync("the answer to the request behind the line breaks");
        await client.SendAsync("\r\n");

        Assert.Equal(200, first.Status);
        Assert.Equal(200, answer.Status);
        Assert.Equal("2", answer.IdJson());
        Assert.True(await client.GatewayClosesAsync(TimeSpan.FromSeconds(10)), "an idle connection that sent only line breaks is closed at KeepAliveMs, with nothing sent");
        Assert.Equal(2, upstream.Requests.Count);
    }

    [Fact]
    public async Task A_response_timeout_that_fires_while_the_client_side_waits_for_nothing_leaves_the_next_request_answered()
    {
        // The client side's read keeps its cancellation registration on the connection's deadline between reads: here that
        // deadline (the response timeout) fires while the client side reads nothing, and the next request must still be
        // read and answered on the same connection.
        int exchanges = 0;
        await using var upstream = new ScriptedUpstream(x => Interlocked.Increment(ref exchanges) == 1 ? x.HangAsync() : UpstreamScripts.Echo(x));
        await using var gateway = Start(upstream, o => o.Upstream.ResponseTimeoutMs = 300);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"slow\"")));
        RawResponse timedOut = await client.ReadResponseAsync("a 504 after ResponseTimeoutMs");
        await Task.Delay(30);
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"after\"")));
        RawResponse next = await client.ReadResponseAsync("the answer to the request after the timeout, on the same connection");

        Assert.Equal(504, timedOut.Status);
        Assert.Equal(200, next.Status);
        Assert.Equal("\"after\"", next.IdJson());
        Assert.Equal(2, upstream.Requests.Count);
    }
}
