using System.Net;
using System.Net.Sockets;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// The upstream fails: refused, silent, or gone in the middle of a stream. The client gets a
/// JSON-RPC error carrying its own request id (MCP clients match answers by id), and a broken
/// upstream connection is never handed to the next request.
/// </summary>
public sealed class UpstreamFailureTests
{
    /// <summary>A loopback port nobody listens on: bound, then closed.</summary>
    private static int ClosedPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    [Theory]
    [InlineData("\"req-abc\"")]
    [InlineData("42")]
    public async Task Refused_upstream_is_502_with_the_request_id(string idJson)
    {
        await using var gateway = GatewayUnderTest.Start($"http://127.0.0.1:{ClosedPort()}/mcp");
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList(idJson)));
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(502, response.Status);
        (int code, string id) = response.JsonRpcError();
        Assert.Equal(JsonRpcErrorCodes.UpstreamUnavailable, code);
        Assert.Equal(idJson, id);
        // The client's connection is intact: the next request gets its own answer.
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("7")));
        RawResponse second = await client.ReadResponseAsync("a second 502 on the same connection");
        Assert.Equal(502, second.Status);
        Assert.Equal("7", second.JsonRpcError().IdJson);
    }

    [Fact]
    public async Task An_upstream_that_never_completes_the_handshake_is_502_within_the_connect_timeout()
    {
        // A listener whose accept queue is full: the kernel drops further SYNs, so a connect neither succeeds
        // nor fails until the gateway's connect timeout ends it (the non-blocking connect of Transport/Epoll).
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var fillers = new List<Socket>();
        try
        {
            // Fill the accept queue (nobody accepts) until a connect no longer completes at once.
            for (int i = 0; i < 8; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                using var quick = new CancellationTokenSource(300);
                try { await filler.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), quick.Token); }
                catch (OperationCanceledException) { break; }
            }
            await using var gateway = GatewayUnderTest.Start($"http://127.0.0.1:{port}/mcp", o => o.Upstream.ConnectTimeoutMs = 400);
            using RawClient client = await gateway.ConnectAsync();

            await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"syn\"")));
            RawResponse response = await client.ReadResponseAsync("a 502 once the connect timed out");

            Assert.Equal(502, response.Status);
            (int code, string id) = response.JsonRpcError();
            Assert.Equal(JsonRpcErrorCodes.UpstreamUnavailable, code);
            Assert.Equal("\"syn\"", id);
        }
        finally
        {
            foreach (Socket f in fillers) f.Dispose();
        }
    }

    [Theory]
    [InlineData("\"slow-1\"")]
    [InlineData("1001")]
    public async Task Silent_upstream_is_504_with_the_request_id(string idJson)
    {
        await using var upstream = new ScriptedUpstream(x => x.HangAsync());
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o => o.Upstream.ResponseTimeoutMs = 500);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList(idJson)));
        RawResponse response = await client.ReadResponseAsync("a 504 after ResponseTimeoutMs");

        Assert.Equal(504, response.Status);
        (int code, string id) = response.JsonRpcError();
        Assert.Equal(JsonRpcErrorCodes.UpstreamTimeout, code);
        Assert.Equal(idJson, id);
        Assert.Single(upstream.Requests);
    }

    [Fact]
    public async Task Upstream_closing_mid_stream_ends_the_client_stream_cleanly_and_is_not_reused()
    {
        await using var upstream = new ScriptedUpstream(async x =>
        {
            if (x.Request.ConnectionNumber == 1)
            {
                await x.StartEventStreamAsync();
                await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n");
                await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":2}}\n\n");
                x.Close(); // no terminating chunk, no final result: the server died
                return;
            }
            await UpstreamScripts.Echo(x);
        });
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"long","arguments":{}}}"""));
        RawResponse stream = await client.ReadResponseAsync("the relayed stream up to its terminating 0-chunk");

        Assert.Equal(200, stream.Status);
        Assert.True(stream.Chunked);
        Assert.Contains("\"progress\":1", stream.Body, StringComparison.Ordinal);
        Assert.Contains("\"progress\":2", stream.Body, StringComparison.Ordinal);

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("2")));
        RawResponse next = await client.ReadResponseAsync("the next answer on the same client connection");

        Assert.Equal(200, next.Status);
        Assert.Equal("2", next.IdJson());
        Assert.Equal(2, upstream.ConnectionsAccepted);
        Assert.Equal(2, gateway.Host.Pool.ConnectionsOpened);
        Assert.Equal(2, upstream.Requests.Last().ConnectionNumber);
    }

    /// <summary>
    /// A reused upstream connection that takes the whole request and then closes without answering may have
    /// run it: the gateway answers 502 and never sends it again on a fresh connection (an approved transfer
    /// would otherwise run twice while the audit shows one call).
    /// </summary>
    [Fact]
    public async Task A_request_the_upstream_received_is_never_resent_when_it_closes_without_an_answer()
    {
        int calls = 0;
        await using var upstream = new ScriptedUpstream(async x =>
        {
            // The first request is answered (the connection goes back to the pool); the second is taken and dropped.
            if (Interlocked.Increment(ref calls) == 1)
            {
                await x.RespondJsonAsync(UpstreamScripts.EchoJson(x.Request));
                return;
            }
            x.Close();
        });
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1")));
        Assert.Equal(200, (await client.ReadResponseAsync("the first call's answer")).Status);

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("2")));
        RawResponse response = await client.ReadResponseAsync("a 502 for the dropped call");

        Assert.Equal(502, response.Status);
        Assert.Equal("2", response.JsonRpcError().IdJson);
        Assert.Equal(2, upstream.Requests.Count); // the dropped call arrived once, not twice
        Assert.Equal(1, upstream.ConnectionsAccepted);
    }
}
