using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastMcp.Gateway.Transport;

namespace FastMcp.Gateway.Tests.Transport;

/// <summary>
/// The receive side of a plain socket on our epoll loops (<see cref="SocketReceiveReader"/>), over real loopback
/// sockets: the PipeReader contract the connection code relies on (examined and consumed positions, cancellation by
/// call and by token, the end of the stream, a reset), idle-connection checks, large messages, and a read served
/// from the socket or from held bytes allocating nothing.
/// </summary>
public sealed class SocketReceiveReaderTests
{
    [Fact]
    public async Task A_read_that_examined_everything_waits_for_new_bytes_and_then_sees_old_and_new()
    {
        await using var pair = await Pair.OpenAsync();
        pair.Peer.Send("abc"u8);
        ReadResult first = await pair.Reader.ReadAsync(pair.Timeout);
        Assert.Equal("abc", Text(first.Buffer));
        pair.Reader.AdvanceTo(first.Buffer.Start, first.Buffer.End);

        ValueTask<ReadResult> next = pair.Reader.ReadAsync(pair.Timeout);
        await Task.Delay(50);
        Assert.False(next.IsCompleted, "everything held was examined: the read waits for the socket");
        pair.Peer.Send("def"u8);

        ReadResult second = await next;
        Assert.Equal("abcdef", Text(second.Buffer));
        Assert.False(second.IsCompleted);
    }

    [Fact]
    public async Task A_read_after_consuming_part_returns_the_rest_at_once()
    {
        await using var pair = await Pair.OpenAsync();
        pair.Peer.Send("head|body"u8);
        ReadResult first = await pair.Reader.ReadAtLeastAsync(9, pair.Timeout);
        pair.Reader.AdvanceTo(first.Buffer.GetPosition(5));

        ValueTask<ReadResult> rest = pair.Reader.ReadAsync(pair.Timeout);
        Assert.True(rest.IsCompletedSuccessfully, "unexamined bytes are returned without a receive");
        Assert.Equal("body", Text((await rest).Buffer));
    }

    [Fact]
    public async Task A_message_of_a_megabyte_arrives_whole_and_in_order()
    {
        await using var pair = await Pair.OpenAsync();
        byte[] message = new byte[1024 * 1024];
        new Random(7).NextBytes(message);
        Task sending = pair.Peer.SendAsync(message, SocketFlags.None);

        ReadResult result = await pair.Reader.ReadAtLeastAsync(message.Length, pair.Timeout);
        await sending;

        Assert.Equal(message.Length, result.Buffer.Length);
        Assert.True(result.Buffer.ToArray().AsSpan().SequenceEqual(message));
        pair.Reader.AdvanceTo(result.Buffer.End);
        Assert.False(((SocketReceiveReader)pair.Reader).HoldsBuffer);
    }

    [Fact]
    public async Task CancelPendingRead_ends_a_waiting_read_as_cancelled_and_reading_goes_on()
    {
        await using var pair = await Pair.OpenAsync();
        ValueTask<ReadResult> waiting = pair.Reader.ReadAsync(pair.Timeout);
        await Task.Delay(50);

        pair.Reader.CancelPendingRead();

        ReadResult cancelled = await waiting;
        Assert.True(cancelled.IsCanceled);
        Assert.False(cancelled.IsCompleted);
        pair.Reader.AdvanceTo(cancelled.Buffer.Start);
        pair.Peer.Send("later"u8);
        Assert.Equal("later", Text((await pair.Reader.ReadAsync(pair.Timeout)).Buffer));
    }

    [Fact]
    public async Task CancelPendingRead_with_no_read_waiting_cancels_the_next_one()
    {
        await using var pair = await Pair.OpenAsync();
        pair.Reader.CancelPendingRead();

        ValueTask<ReadResult> next = pair.Reader.ReadAsync(pair.Timeout);

        Assert.True(next.IsCompletedSuccessfully);
        Assert.True((await next).IsCanceled);
    }

    [Fact]
    public async Task A_token_ends_a_waiting_read_and_the_connection_still_reads()
    {
        await using var pair = await Pair.OpenAsync();
        using var cancel = new CancellationTokenSource();
        ValueTask<ReadResult> waiting = pair.Reader.ReadAsync(cancel.Token);
        await Task.Delay(50);

        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting);
        pair.Peer.Send("after"u8);
        Assert.Equal("after", Text((await pair.Reader.ReadAsync(pair.Timeout)).Buffer));
    }

    [Fact]
    public async Task The_peer_closing_ends_the_stream_after_what_it_sent()
    {
        await using var pair = await Pair.OpenAsync();
        pair.Peer.Send("last words"u8);
        pair.Peer.Shutdown(SocketShutdown.Send);

        var all = new StringBuilder();
        ReadResult result;
        for (int i = 0; ; i++)
        {
            Assert.True(i < 100, "the end of the stream arrived");
            result = await pair.Reader.ReadAsync(pair.Timeout);
            all.Append(Text(result.Buffer));
            pair.Reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted) break;
        }
        Assert.Equal("last words", all.ToString());
        ReadResult again = await pair.Reader.ReadAsync(pair.Timeout);
        Assert.True(again.IsCompleted);
        Assert.True(again.Buffer.IsEmpty);
    }

    [Fact]
    public async Task A_reset_is_thrown_once_then_the_stream_reads_as_ended()
    {
        await using var pair = await Pair.OpenAsync();
        ValueTask<ReadResult> waiting = pair.Reader.ReadAsync(pair.Timeout);
        pair.Peer.LingerState = new LingerOption(true, 0);
        pair.Peer.Close(); // RST

        SocketException reset = await Assert.ThrowsAsync<SocketException>(async () => await waiting);
        Assert.Equal(SocketError.ConnectionReset, reset.SocketErrorCode);
        Assert.True((await pair.Reader.ReadAsync(pair.Timeout)).IsCompleted);
    }

    [Fact]
    public async Task TryRead_sees_an_idle_peer_close_and_finds_nothing_on_a_quiet_socket()
    {
        await using var pair = await Pair.OpenAsync();
        Assert.False(pair.Reader.TryRead(out _), "nothing was sent");

        pair.Peer.Shutdown(SocketShutdown.Send);
        bool seen = false;
        for (int i = 0; i < 100 && !seen; i++)
        {
            if (pair.Reader.TryRead(out ReadResult result))
            {
                seen = true;
                Assert.True(result.IsCompleted);
            }
            else
            {
                await Task.Delay(10);
            }
        }
        Assert.True(seen, "the close was seen without a blocking read");
    }

    [Fact]
    public async Task TryRead_returns_held_bytes_even_when_examined_as_a_Pipe_does()
    {
        await using var pair = await Pair.OpenAsync();
        pair.Peer.Send("answer|left over"u8);
        ReadResult read = await pair.Reader.ReadAtLeastAsync(16, pair.Timeout);
        // As a body reader that took its message and looked at everything held.
        pair.Reader.AdvanceTo(read.Buffer.GetPosition(7), read.Buffer.End);

        Assert.True(pair.Reader.TryRead(out ReadResult held), "unconsumed bytes are there to be seen (an idle pooled connection's check)");
        Assert.Equal("left over", Text(held.Buffer));
        Assert.False(held.IsCompleted);
        pair.Reader.AdvanceTo(held.Buffer.Start, held.Buffer.End);

        ValueTask<ReadResult> next = pair.Reader.ReadAsync(pair.Timeout);
        await Task.Delay(50);
        Assert.False(next.IsCompleted, "TryRead changed nothing: a read still waits for new bytes");
        pair.Peer.Send("!"u8);
        Assert.Equal("left over!", Text((await next).Buffer));
    }

    [Fact]
    public async Task Disposing_the_socket_ends_a_waiting_read()
    {
        await using var pair = await Pair.OpenAsync();
        ValueTask<ReadResult> waiting = pair.Reader.ReadAsync(pair.Timeout);
        await Task.Delay(50);

        pair.Connection.Dispose();

        ReadResult result = await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(result.IsCompleted);
    }

    [Fact]
    public async Task Completing_from_another_thread_while_a_read_waits_ends_that_read_when_bytes_come()
    {
        await using var pair = await Pair.OpenAsync();
        pair.Peer.Send("held"u8);
        ReadResult held = await pair.Reader.ReadAsync(pair.Timeout);
        pair.Reader.AdvanceTo(held.Buffer.Start, held.Buffer.End);
        ValueTask<ReadResult> waiting = pair.Reader.ReadAsync(pair.Timeout);
        await Task.Delay(50);

        // As a client watch does when the client leaves mid-stream: the upstream's input completed elsewhere.
        await Task.Run(() => pair.Reader.Complete());
        pair.Peer.Send("late bytes nobody reads"u8);

        ReadResult result = await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(result.IsCompleted);
        Assert.True(result.Buffer.IsEmpty);
        Assert.Throws<InvalidOperationException>(() => pair.Reader.AdvanceTo(result.Buffer.End));
    }

    [Fact]
    public async Task Reads_served_by_a_receive_or_from_held_bytes_allocate_nothing()
    {
        await using var pair = await Pair.OpenAsync();
        // 384 KiB sent and arrived before reading: reads receive (their buffers fill) or are served from what is held,
        // all without waiting, so every step runs on this thread (a read that waited would continue on an epoll thread,
        // whose pool cache other tests' connections share). A read that has to wait anyway is awaited, not measured.
        byte[] data = new byte[384 * 1024];
        new Random(3).NextBytes(data);
        await pair.Peer.SendAsync(data, SocketFlags.None);
        for (int i = 0; i < 500 && pair.Accepted.Available < data.Length; i++) await Task.Delay(10);
        PipeReader reader = pair.Reader;
        long consumed = 0, allocated = 0;
        int measured = 0, step = 0;
        while (consumed < data.Length && measured < 2500)
        {
            ThreadAllocations.CollectorMark mark = ThreadAllocations.Mark();
            long before = GC.GetAllocatedBytesForCurrentThread();
            ValueTask<ReadResult> read = reader.ReadAsync();
            bool atOnce = read.IsCompletedSuccessfully;
            ReadResult result = await read; // at once when it completed at once
            long take = Math.Min(50, result.Buffer.Length);
            reader.AdvanceTo(result.Buffer.GetPosition(take));
            consumed += take;
            // The first 1,500 steps warm up: the receive size grows to its largest, the pool hands out each size once.
            // A step a collection disturbed is not counted: the collection may charge this thread's unused allocation
            // context to it (see ThreadAllocations); a per-read allocation shows in every other step.
            if (atOnce && ++step > 1500)
            {
                long stepAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
                if (ThreadAllocations.QuietSince(mark))
                {
                    allocated += stepAllocated;
                    measured++;
                }
            }
        }

        Assert.True(measured >= 2500, $"only {measured} reads completed without waiting");
        Assert.Equal(0, allocated);
    }

    private static string Text(ReadOnlySequence<byte> bytes) => Encoding.ASCII.GetString(bytes.ToArray());

    /// <summary>A gateway-side <see cref="SocketPipe"/> accepted from a plain peer socket on loopback (also used by <see cref="TransportStreamTests"/>).</summary>
    internal sealed class Pair : IAsyncDisposable
    {
        private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(30));

        private Pair(SocketPipe connection, Socket peer, Socket accepted)
        {
            Connection = connection;
            Peer = peer;
            Accepted = accepted;
        }

        public SocketPipe Connection { get; }
        public Socket Peer { get; }

        /// <summary>The gateway side's socket (owned by <see cref="Connection"/>): only to see what has arrived.</summary>
        public Socket Accepted { get; }
        public PipeReader Reader => Connection.Input;
        public CancellationToken Timeout => _timeout.Token;

        public static async Task<Pair> OpenAsync()
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.ReceiveBufferSize = 2 * 1024 * 1024; // inherited: a whole test message fits in the kernel
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await peer.ConnectAsync(listener.LocalEndPoint!);
            Socket accepted = await listener.AcceptAsync();
            var options = new PipeOptions(readerScheduler: PipeScheduler.Inline, useSynchronizationContext: false);
            SocketPipe connection = SocketPipe.Start(accepted, options, options);
            Assert.IsType<SocketReceiveReader>(connection.Input);
            return new Pair(connection, peer, accepted);
        }

        public ValueTask DisposeAsync()
        {
            Connection.Dispose();
            Peer.Dispose();
            _timeout.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
