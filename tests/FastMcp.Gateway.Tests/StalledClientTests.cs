using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// A client that stops reading held its response in memory for ever (40 stalled clients took the gateway from
/// 22 to 692 MB). Each write to the client now has timeouts.clientWriteMs to drain; past it the client connection
/// and the upstream exchange are closed, so the upstream is not left blocked either.
/// </summary>
public sealed class StalledClientTests
{
    [Fact]
    public async Task A_client_that_stops_reading_is_disconnected_and_the_upstream_exchange_closed()
    {
        var upstreamCutOff = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        string payload = new string('x', 64 * 1024);
        await using var upstream = new ScriptedUpstream(async x =>
        {
            await x.StartEventStreamAsync();
            int sent = 0;
            try
            {
                // 2,000 events of 64 KiB: far more than the socket buffers and the gateway's pipes hold.
                for (; sent < 2_000; sent++)
                {
                    await x.SendEventAsync("data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"" + payload + "\"}}\n\n");
                }
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or OperationCanceledException)
            {
                upstreamCutOff.TrySetResult(sent);
                return;
            }
            upstreamCutOff.TrySetResult(-1);
        });
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o => o.Timeouts.ClientWriteMs = 300);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1")));
        // The client never reads. Within a bounded time the gateway gives up on it and closes the upstream side.
        Task finished = await Task.WhenAny(upstreamCutOff.Task, Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(finished == upstreamCutOff.Task, "the upstream was still blocked sending to a gateway whose client had stopped reading");
        Assert.InRange(await upstreamCutOff.Task, 0, 1_999);
    }
}

/// <summary>
/// A client that closed while its event stream was relayed was noticed only at the next upstream event: the
/// upstream held the session's stream for 45 s and refused to open another (409). The gateway now watches the
/// client while it streams and closes the upstream exchange as soon as the client leaves.
/// </summary>
public sealed class ClientLeavingStreamTests
{
    [Theory]
    [InlineData("GET")]
    [InlineData("POST")]
    public async Task A_client_that_leaves_a_quiet_stream_closes_the_upstream_exchange_at_once(string method)
    {
        var upstreamSawClose = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var streamOpen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = new ScriptedUpstream(async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("id: 1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"hello\"}}\n\n");
            streamOpen.TrySetResult();
            // Then quiet: no event that would reveal a gone client.
            upstreamSawClose.TrySetResult(await x.GatewayClosesAsync(TimeSpan.FromSeconds(20)));
        });
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using (RawClient client = await gateway.ConnectAsync())
        {
            string request = method == "GET"
                ? $"GET /mcp HTTP/1.1\r\nHost: {gateway.Endpoint}\r\nAccept: text/event-stream\r\nMcp-Session-Id: s-1\r\n\r\n"
                : gateway.Post(GatewayUnderTest.ToolsList("1"), "Accept: application/json, text/event-stream\r\n");
            await client.SendAsync(request);
            var (_, status) = await client.ReadHeadAsync();
            Assert.Equal(200, status);
            await streamOpen.Task.WaitAsync(TimeSpan.FromSeconds(10));
        } // the client leaves

        Assert.True(await upstreamSawClose.Task.WaitAsync(TimeSpan.FromSeconds(30)),
            "the upstream's stream stayed open after the client had left");
    }
}
