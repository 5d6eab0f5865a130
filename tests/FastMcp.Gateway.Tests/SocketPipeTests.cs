using System.Net.Sockets;
using System.Text;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// The gateway's own socket receive and send loops (Transport/SocketPipe), through the real gateway:
/// a peer that half-closes, a reset in the middle of a request, bodies that take many reads, and a
/// client that writes far more than the receive pipe holds while reading nothing (back-pressure).
/// </summary>
public sealed class SocketPipeTests
{
    [Fact]
    public async Task A_client_that_half_closes_after_its_request_still_gets_the_whole_answer()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"half\"")));
        client.ShutdownSend();
        RawResponse answer = await client.ReadResponseAsync("the answer after the client shut down its sending side");

        Assert.Equal(200, answer.Status);
        Assert.Equal("\"half\"", answer.IdJson());
        Assert.True(await client.GatewayClosesAsync(), "the gateway closes once the client has nothing more to send");
    }

    [Fact]
    public async Task A_reset_in_the_middle_of_a_request_forwards_nothing_and_the_gateway_keeps_serving()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        string body = GatewayUnderTest.ToolsList("\"cut\"");
        string request = gateway.Post(body);

        using (var socket = new Socket(gateway.Endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true })
        {
            await socket.ConnectAsync(gateway.Endpoint);
            byte[] partial = Encoding.UTF8.GetBytes(request[..(request.Length - body.Length / 2)]);
            await socket.SendAsync(partial, SocketFlags.None);
            await Task.Delay(100);
            socket.LingerState = new LingerOption(true, 0); // close sends RST
            socket.Close();
        }

        using RawClient next = await gateway.ConnectAsync();
        await next.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"after\"")));
        RawResponse answer = await next.ReadResponseAsync("an answer on a new connection after another one was reset");

        Assert.Equal(200, answer.Status);
        Assert.Equal("\"after\"", answer.IdJson());
        UpstreamRequest only = upstream.SingleRequest();
        Assert.Contains("\"after\"", only.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_larger_than_many_reads_arrives_whole_both_ways()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();
        // 600 KB of arguments: far more than one receive (4 KiB and up) on either side of the gateway.
        string text = new string('x', 600_000);
        string body = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"" + text + "\"}}}";
        byte[] request = Encoding.UTF8.GetBytes(gateway.Post(body));

        // Sent in uneven pieces so that reads end at arbitrary places.
        for (int offset = 0, piece = 1000; offset < request.Length; offset += piece, piece = piece * 3 % 7919 + 500)
        {
            await client.SendAsync(request.AsSpan(offset, Math.Min(piece, request.Length - offset)).ToArray());
        }
        RawResponse answer = await client.ReadResponseAsync("the answer to a large request");

        Assert.Equal(200, answer.Status);
        Assert.Equal("7", answer.IdJson());
        Assert.Equal(body, upstream.SingleRequest().Body);
        Assert.Contains(text, answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_writes_megabytes_of_pipelined_requests_without_reading_gets_every_answer_in_order()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();
        client.Timeout = TimeSpan.FromSeconds(30);
        const int Count = 300;
        string padding = new string('p', 8000);
        var all = new StringBuilder();
        for (int i = 0; i < Count; i++)
        {
            string body = "{\"jsonrpc\":\"2.0\",\"id\":" + i + ",\"method\":\"tools/list\",\"params\":{\"cursor\":\"" + padding + "\"}}";
            all.Append(gateway.Post(body));
        }

        // About 2.4 MB written while nothing is read: the gateway's answers fill the client's socket, the gateway
        // stops reading, its receive pipe fills to the pause threshold and its receive loop waits (back-pressure).
        Task writing = client.SendAsync(all.ToString());
        await Task.Delay(500);
        for (int i = 0; i < Count; i++)
        {
            RawResponse answer = await client.ReadResponseAsync($"answer {i} of {Count}");
            Assert.Equal(200, answer.Status);
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), answer.IdJson());
        }
        await writing;
        Assert.Equal(Count, upstream.Requests.Count);
    }
}
