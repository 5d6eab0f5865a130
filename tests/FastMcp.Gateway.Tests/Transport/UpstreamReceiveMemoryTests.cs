using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using FastMcp.Gateway.Transport;

namespace FastMcp.Gateway.Tests.Transport;

/// <summary>
/// Memory held by a connection the gateway opened to an upstream (issue #14 target 5): until the upstream
/// answers, its receive loop holds no pipe segment, so 1,000 calls waiting on 1,000 new upstream connections
/// do not hold 1,000 receive buffers. The answer still arrives whole once it comes.
/// </summary>
public sealed class UpstreamReceiveMemoryTests
{
    [Fact]
    public async Task A_connected_socket_rents_no_receive_memory_before_the_peer_sends_and_reads_what_it_sends()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var pool = new CountingPool();
        var receive = new PipeOptions(pool: pool, readerScheduler: PipeScheduler.Inline, useSynchronizationContext: false, minimumSegmentSize: 4096);
        var send = new PipeOptions(useSynchronizationContext: false);

        using var connected = await SocketPipe.ConnectAsync(listener.LocalEndPoint!, 5_000, send, receive, CancellationToken.None);
        using Socket upstream = await listener.AcceptAsync();
        await Task.Delay(100); // time for a receive loop that reads first to have taken its segment

        Assert.Equal(0, pool.Outstanding);

        await upstream.SendAsync("HTTP/1.1 200 OK\r\n"u8.ToArray(), SocketFlags.None);
        using var timeout = new CancellationTokenSource(5_000);
        ReadResult read = await connected.Input.ReadAsync(timeout.Token);
        Assert.Equal("HTTP/1.1 200 OK\r\n", System.Text.Encoding.ASCII.GetString(read.Buffer.ToArray()));
        Assert.True(pool.Outstanding > 0, "the answer was read into pool memory");
        connected.Input.AdvanceTo(read.Buffer.End);
        connected.Input.Complete();
        connected.Output.Complete();
    }

    /// <summary>Counts arrays handed out and not yet given back.</summary>
    private sealed class CountingPool : MemoryPool<byte>
    {
        private int _outstanding;
        public int Outstanding => Volatile.Read(ref _outstanding);
        public override int MaxBufferSize => int.MaxValue;

        public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
        {
            Interlocked.Increment(ref _outstanding);
            return new Owner(this, new byte[Math.Max(minBufferSize, 4096)]);
        }

        protected override void Dispose(bool disposing) { }

        private sealed class Owner(CountingPool pool, byte[] array) : IMemoryOwner<byte>
        {
            private int _disposed;
            public Memory<byte> Memory => array;
            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0) Interlocked.Decrement(ref pool._outstanding);
            }
        }
    }
}
