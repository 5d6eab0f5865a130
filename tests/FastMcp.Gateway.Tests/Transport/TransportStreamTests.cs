using System.Net.Sockets;
using System.Text;
using FastMcp.Gateway.Transport;
using Pair = FastMcp.Gateway.Tests.Transport.SocketReceiveReaderTests.Pair;

namespace FastMcp.Gateway.Tests.Transport;

/// <summary>
/// The Stream SslStream reads TLS records through (a view of a real socket's pipe): reads return what arrived, a
/// zero-byte read waits for bytes without taking them (what lets an idle TLS connection hold no buffer), and the
/// end of the stream reads as 0.
/// </summary>
public sealed class TransportStreamTests
{
    [Fact]
    public async Task A_zero_byte_read_waits_for_bytes_and_leaves_them_for_the_next_read()
    {
        await using Pair pair = await Pair.OpenAsync();
        var stream = new TransportStream(pair.Connection);

        ValueTask<int> waiting = stream.ReadAsync(Memory<byte>.Empty, pair.Timeout);
        await Task.Delay(100);
        Assert.False(waiting.IsCompleted, "a zero-byte read returned before any byte arrived");

        await pair.Peer.SendAsync(Encoding.ASCII.GetBytes("hello"), SocketFlags.None);
        Assert.Equal(0, await waiting);

        var buffer = new byte[16];
        int read = await stream.ReadAsync(buffer, pair.Timeout);
        Assert.Equal("hello", Encoding.ASCII.GetString(buffer, 0, read));
    }

    [Fact]
    public async Task Reads_return_what_fits_and_the_rest_next_then_0_at_the_end()
    {
        await using Pair pair = await Pair.OpenAsync();
        var stream = new TransportStream(pair.Connection);
        await pair.Peer.SendAsync(Encoding.ASCII.GetBytes("0123456789"), SocketFlags.None);
        pair.Peer.Shutdown(SocketShutdown.Send);

        var buffer = new byte[4];
        var text = new StringBuilder();
        int read;
        while ((read = await stream.ReadAsync(buffer, pair.Timeout)) > 0)
        {
            Assert.True(read <= 4);
            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
        Assert.Equal("0123456789", text.ToString());
        // At the end a zero-byte read returns at once too, and reads stay at 0.
        Assert.Equal(0, await stream.ReadAsync(Memory<byte>.Empty, pair.Timeout));
        Assert.Equal(0, await stream.ReadAsync(buffer, pair.Timeout));
    }

    [Fact]
    public async Task Writes_reach_the_peer_and_a_cancelled_read_throws()
    {
        await using Pair pair = await Pair.OpenAsync();
        var stream = new TransportStream(pair.Connection);
        await stream.WriteAsync(Encoding.ASCII.GetBytes("record"), pair.Timeout);
        var buffer = new byte[16];
        int got = await pair.Peer.ReceiveAsync(buffer, SocketFlags.None, pair.Timeout);
        Assert.Equal("record", Encoding.ASCII.GetString(buffer, 0, got));

        using var cancel = new CancellationTokenSource();
        ValueTask<int> pending = stream.ReadAsync(buffer, cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pending);
    }
}
