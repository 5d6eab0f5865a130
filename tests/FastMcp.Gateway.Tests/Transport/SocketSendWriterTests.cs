using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using FastMcp.Gateway.Transport;

namespace FastMcp.Gateway.Tests.Transport;

/// <summary>
/// The send side of a plain socket (<see cref="SocketSendWriter"/>), over real loopback sockets: a flush sends on the
/// flushing thread, keeps the order of what was written across segments, holds at the pause threshold while the peer
/// reads nothing and lets go once it reads, reports cancellation and a closed socket, and a completed writer's
/// queued bytes all reach the peer before the end of the stream.
/// </summary>
public sealed class SocketSendWriterTests
{
    private const long Pause = 256 * 1024;

    [Fact]
    public async Task A_flush_the_socket_takes_is_sent_before_it_returns()
    {
        await using var pair = await Pair.OpenAsync();
        byte[] message = Pattern(3000, seed: 1);
        message.CopyTo(pair.Writer.GetSpan(message.Length));
        pair.Writer.Advance(message.Length);
        Assert.Equal(message.Length, pair.Writer.UnflushedBytes);

        ValueTask<FlushResult> flush = pair.Writer.FlushAsync();

        Assert.True(flush.IsCompletedSuccessfully, "a flush the socket takes whole completes at once");
        Assert.False((await flush).IsCompleted);
        Assert.Equal(0, pair.Writer.UnflushedBytes);
        Assert.Equal(message.Length, pair.Connection.BytesSent);
        Assert.Equal(message, await pair.ReceiveAsync(message.Length));
    }

    [Fact]
    public async Task A_head_and_a_body_in_separate_segments_arrive_in_order()
    {
        await using var pair = await Pair.OpenAsync();
        byte[] head = Pattern(200, seed: 2);
        byte[] body = Pattern(9000, seed: 3);
        byte[] tail = Pattern(70_000, seed: 4);
        head.CopyTo(pair.Writer.GetSpan(head.Length));
        pair.Writer.Advance(head.Length);
        // Asks for more than the first segment has left: a second (and third) segment.
        body.CopyTo(pair.Writer.GetSpan(body.Length));
        pair.Writer.Advance(body.Length);
        tail.CopyTo(pair.Writer.GetSpan(tail.Length));
        pair.Writer.Advance(tail.Length);

        await pair.Writer.FlushAsync();

        byte[] expected = [.. head, .. body, .. tail];
        Assert.Equal(expected, await pair.ReceiveAsync(expected.Length));
        Assert.Equal(head.Length + body.Length + tail.Length, pair.Connection.BytesSent);
    }

    [Fact]
    public async Task A_peer_that_reads_nothing_holds_the_flush_and_reading_lets_it_go_with_every_byte_in_order()
    {
        await using var pair = await Pair.OpenAsync();
        (ValueTask<FlushResult> held, long written) = await pair.WriteUntilHeldAsync();

        Assert.False(held.IsCompleted, "the flush waits while more than the pause threshold is unsent");
        Assert.True(written - pair.Connection.BytesSent >= Pause, "held only once the pause threshold is unsent");

        Task<byte[]> reading = pair.ReceiveAsync((int)written);
        FlushResult result = await held.AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(result.IsCanceled);
        Assert.False(result.IsCompleted);
        byte[] received = await reading.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(StreamPattern(written), received);
        Assert.Equal(written, pair.Connection.BytesSent);
    }

    [Fact]
    public async Task Cancelling_a_held_flush_reports_it_cancelled()
    {
        await using var pair = await Pair.OpenAsync();
        (ValueTask<FlushResult> held, _) = await pair.WriteUntilHeldAsync();

        pair.Writer.CancelPendingFlush();

        FlushResult result = await held.AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(result.IsCanceled);
        Assert.False(result.IsCompleted);
    }

    [Fact]
    public async Task A_token_cancels_a_held_flush()
    {
        await using var pair = await Pair.OpenAsync();
        using var cancel = new CancellationTokenSource();
        (ValueTask<FlushResult> held, _) = await pair.WriteUntilHeldAsync(cancel.Token);

        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => held.AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_held_flush_ends_as_completed_when_the_socket_is_closed_and_later_flushes_say_so_too()
    {
        await using var pair = await Pair.OpenAsync();
        (ValueTask<FlushResult> held, _) = await pair.WriteUntilHeldAsync();

        pair.Connection.Dispose();

        FlushResult result = await held.AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(result.IsCompleted);
        pair.Writer.GetSpan(10)[0] = 1;
        pair.Writer.Advance(1);
        Assert.True((await pair.Writer.FlushAsync()).IsCompleted);
    }

    [Fact]
    public async Task A_peer_that_resets_makes_flushes_report_it_gone_without_throwing()
    {
        await using var pair = await Pair.OpenAsync();
        pair.Peer.LingerState = new LingerOption(true, 0);
        pair.Peer.Close(); // RST
        bool gone = false;
        for (int i = 0; i < 200 && !gone; i++)
        {
            Pattern(1000, seed: i).CopyTo(pair.Writer.GetSpan(1000));
            pair.Writer.Advance(1000);
            gone = (await pair.Writer.FlushAsync()).IsCompleted;
            if (!gone) await Task.Delay(10);
        }
        Assert.True(gone, "a flush after the peer's reset reports the peer gone");
    }

    [Fact]
    public async Task Completing_sends_everything_written_before_it_then_ends_the_stream()
    {
        await using var pair = await Pair.OpenAsync();
        // More than the socket buffers take at once, and the last part never flushed: Complete sends it all.
        const int Total = 3 * 1024 * 1024;
        byte[] data = StreamPattern(Total);
        int offset = 0;
        while (offset < Total)
        {
            int take = Math.Min(64 * 1024, Total - offset);
            data.AsSpan(offset, take).CopyTo(pair.Writer.GetSpan(take));
            pair.Writer.Advance(take);
            offset += take;
        }

        pair.Writer.Complete();

        byte[] received = await pair.ReceiveToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(data, received);
    }

    [Fact]
    public async Task A_flush_the_socket_takes_allocates_nothing()
    {
        await using var pair = await Pair.OpenAsync();
        var draining = new Thread(() =>
        {
            byte[] sink = new byte[64 * 1024];
            try
            {
                while (pair.Peer.Receive(sink) > 0) { }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }) { IsBackground = true };
        draining.Start();
        byte[] message = Pattern(1500, seed: 5);
        void Cycle()
        {
            message.CopyTo(pair.Writer.GetSpan(message.Length));
            pair.Writer.Advance(message.Length);
            ValueTask<FlushResult> flush = pair.Writer.FlushAsync();
            Assert.True(flush.IsCompletedSuccessfully);
            _ = flush.Result;
        }
        for (int i = 0; i < 200; i++) Cycle();

        // A flush the socket cannot take at once (the draining thread starved on a busy machine) continues as a
        // background send, which may allocate; this claim is about the flushes the socket takes. A per-flush
        // allocation shows in every window of 2,000 flushes, so the least of the windows must be zero.
        Assert.Equal(0, ThreadAllocations.LeastOf(() => { for (int i = 0; i < 2000; i++) Cycle(); }));
    }

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    // Byte i of the stream is a function of i, so order and completeness show in one comparison.
    private static byte[] StreamPattern(long length)
    {
        var bytes = new byte[length];
        for (long i = 0; i < length; i++) bytes[i] = (byte)(i * 31 + (i >> 9));
        return bytes;
    }

    /// <summary>A gateway-side <see cref="SocketPipe"/> connected to a plain peer socket on loopback.</summary>
    private sealed class Pair : IAsyncDisposable
    {
        private Pair(SocketPipe connection, Socket peer)
        {
            Connection = connection;
            Peer = peer;
        }

        public SocketPipe Connection { get; }
        public Socket Peer { get; }
        public PipeWriter Writer => Connection.Output;

        public static async Task<Pair> OpenAsync()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            // Small kernel buffers, so back-pressure comes after a few hundred KiB.
            listener.ReceiveBufferSize = 32 * 1024;
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var send = new PipeOptions(pauseWriterThreshold: Pause, resumeWriterThreshold: Pause / 2, useSynchronizationContext: false);
            var receive = new PipeOptions(readerScheduler: PipeScheduler.Inline, useSynchronizationContext: false);
            SocketPipe connection = await SocketPipe.ConnectAsync(listener.LocalEndPoint!, 5_000, send, receive, loop: -1, CancellationToken.None);
            Socket peer = await listener.AcceptAsync();
            return new Pair(connection, peer);
        }

        /// <summary>Writes the stream pattern in 64 KiB flushes until one is held (bounded); returns it and the bytes written.</summary>
        public async Task<(ValueTask<FlushResult> Held, long Written)> WriteUntilHeldAsync(CancellationToken ct = default)
        {
            byte[] stream = StreamPattern(64 * 1024 * 1024);
            long written = 0;
            for (int i = 0; i < 1000; i++)
            {
                const int Chunk = 64 * 1024;
                stream.AsSpan((int)written, Chunk).CopyTo(Writer.GetSpan(Chunk));
                Writer.Advance(Chunk);
                written += Chunk;
                ValueTask<FlushResult> flush = Writer.FlushAsync(ct);
                if (!flush.IsCompleted) return (flush, written);
                await flush;
            }
            throw new InvalidOperationException("no flush was held: the peer's socket took 64 MiB unread");
        }

        public async Task<byte[]> ReceiveAsync(int length)
        {
            var buffer = new byte[length];
            int offset = 0;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (offset < length)
            {
                int got = await Peer.ReceiveAsync(buffer.AsMemory(offset), SocketFlags.None, timeout.Token);
                if (got == 0) throw new EndOfStreamException($"stream ended after {offset} of {length} bytes");
                offset += got;
            }
            return buffer;
        }

        public async Task<byte[]> ReceiveToEndAsync()
        {
            var all = new MemoryStream();
            var buffer = new byte[64 * 1024];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (true)
            {
                int got = await Peer.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (got == 0) return all.ToArray();
                all.Write(buffer, 0, got);
            }
        }

        public ValueTask DisposeAsync()
        {
            Connection.Dispose();
            Peer.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
