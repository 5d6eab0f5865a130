using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using FastMcp.Gateway.Transport;

namespace FastMcp.Gateway.Tests.Transport;

/// <summary>
/// Memory held by a connection the gateway opened to an upstream (issue #14 target 5): while a call waits for the
/// upstream's answer, its read holds no receive buffer, so 1,000 calls waiting on 1,000 upstream connections do not
/// hold 1,000 buffers; the answer still arrives whole, and once it is consumed the buffer goes back to the pool.
/// </summary>
public sealed class UpstreamReceiveMemoryTests
{
    [Fact]
    public async Task A_read_waiting_for_the_upstream_holds_no_buffer_and_reads_what_it_sends()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var receive = new PipeOptions(readerScheduler: PipeScheduler.Inline, useSynchronizationContext: false, minimumSegmentSize: 4096);
        var send = new PipeOptions(useSynchronizationContext: false);

        using var connected = await SocketPipe.ConnectAsync(listener.LocalEndPoint!, 5_000, send, receive, loop: -1, CancellationToken.None);
        using Socket upstream = await listener.AcceptAsync();
        var reader = Assert.IsType<SocketReceiveReader>(connected.Input);
        using var timeout = new CancellationTokenSource(5_000);
        ValueTask<ReadResult> pending = connected.Input.ReadAsync(timeout.Token);
        await Task.Delay(100); // time for a read that received eagerly to have taken its buffer

        Assert.False(pending.IsCompleted);
        Assert.False(reader.HoldsBuffer, "a read waiting for the upstream holds no receive buffer");

        await upstream.SendAsync("HTTP/1.1 200 OK\r\n"u8.ToArray(), SocketFlags.None);
        ReadResult read = await pending;
        Assert.Equal("HTTP/1.1 200 OK\r\n", System.Text.Encoding.ASCII.GetString(read.Buffer.ToArray()));
        Assert.True(reader.HoldsBuffer, "the answer is held until consumed");
        connected.Input.AdvanceTo(read.Buffer.End);
        Assert.False(reader.HoldsBuffer, "a consumed answer's buffer goes back to the pool");
        connected.Input.Complete();
        connected.Output.Complete();
    }
}
