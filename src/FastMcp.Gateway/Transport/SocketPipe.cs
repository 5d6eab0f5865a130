using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// A connected socket as a duplex pipe, with receive and send loops of our own. The receive loop
/// reads straight into pipe memory (no zero-length readiness read and no FIONREAD probe before each
/// read, which Pipelines.Sockets.Unofficial's SocketConnection makes: issue #14 counted 8.2 system
/// calls per proxied exchange with it). The send loop sends what the connection flushed in one call,
/// gathering a multi-segment buffer into one sendmsg.
/// </summary>
internal sealed class SocketPipe : ConnectionTransport
{
    /// <summary>At least this much pipe memory per receive: one MCP request or answer usually fits in one read.</summary>
    private const int ReceiveChunk = 4096;

    /// <summary>Multi-segment sends up to this size are joined by a copy instead of a gathered send.</summary>
    private const int CopyBelow = 64 * 1024;

    private readonly Socket _socket;
    private readonly Pipe _receive;
    private readonly Pipe _send;
    // Reused for gathered sends of a multi-segment buffer, so a send allocates nothing.
    private readonly List<ArraySegment<byte>> _gather = new(4);
    private int _disposed;
    private long _bytesSent;

    private SocketPipe(Socket socket, PipeOptions sendOptions, PipeOptions receiveOptions)
    {
        _socket = socket;
        _receive = new Pipe(receiveOptions);
        _send = new Pipe(sendOptions);
    }

    public override PipeReader Input => _receive.Reader;
    public override PipeWriter Output => _send.Writer;

    /// <summary>Bytes the socket has accepted so far: what was flushed minus this is still held for the peer.</summary>
    public override long BytesSent => Volatile.Read(ref _bytesSent);

    /// <summary>Wraps a connected socket and starts both loops.</summary>
    public static SocketPipe Start(Socket socket, PipeOptions sendOptions, PipeOptions receiveOptions)
    {
        var pipe = new SocketPipe(socket, sendOptions, receiveOptions);
        _ = pipe.ReceiveLoopAsync();
        _ = pipe.SendLoopAsync();
        return pipe;
    }

    private async Task ReceiveLoopAsync()
    {
        PipeWriter writer = _receive.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                Memory<byte> memory = writer.GetMemory(ReceiveChunk);
                int received = await _socket.ReceiveAsync(memory, SocketFlags.None).ConfigureAwait(false);
                if (received == 0) break; // the peer closed its sending side
                writer.Advance(received);
                // Back-pressure: when the connection has not consumed enough, this waits and no read is posted.
                FlushResult flushed = await writer.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled) break;
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted)
        {
            // Closed by us (Dispose): the reader sees the end of the stream.
        }
        catch (ObjectDisposedException)
        {
        }
        catch (Exception e)
        {
            // A reset or other socket error: the reader's next ReadAsync throws it.
            error = e;
        }
        await writer.CompleteAsync(error).ConfigureAwait(false);
    }

    private async Task SendLoopAsync()
    {
        PipeReader reader = _send.Reader;
        Exception? error = null;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                if (result.IsCanceled) break;
                if (!buffer.IsEmpty) await SendAsync(buffer).ConfigureAwait(false);
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted) break;
            }
            // The connection completed its output: everything queued is sent, then our side is shut down.
            if (Volatile.Read(ref _disposed) == 0) _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            error = e;
        }
        await reader.CompleteAsync(error).ConfigureAwait(false);
    }

    private async ValueTask SendAsync(ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            ReadOnlyMemory<byte> memory = buffer.First;
            while (!memory.IsEmpty)
            {
                int sent = await _socket.SendAsync(memory, SocketFlags.None).ConfigureAwait(false);
                Interlocked.Add(ref _bytesSent, sent);
                memory = memory.Slice(sent);
            }
            return;
        }
        if (buffer.Length <= CopyBelow)
        {
            // Several small segments (a response whose head and body were written separately): copied into one
            // pooled array and sent in one call; a gathered send would allocate a Task per call.
            int length = (int)buffer.Length;
            byte[] joined = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                buffer.CopyTo(joined);
                ReadOnlyMemory<byte> rest = joined.AsMemory(0, length);
                while (!rest.IsEmpty)
                {
                    int sent = await _socket.SendAsync(rest, SocketFlags.None).ConfigureAwait(false);
                    Interlocked.Add(ref _bytesSent, sent);
                    rest = rest.Slice(sent);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(joined);
            }
            return;
        }
        // A large multi-segment body: one gathered send. The socket sends all of a list before completing.
        _gather.Clear();
        foreach (ReadOnlyMemory<byte> segment in buffer)
        {
            if (!MemoryMarshal.TryGetArray(segment, out ArraySegment<byte> array))
            {
                // Not array-backed (not from our pools): fall back to one send per segment.
                _gather.Clear();
                foreach (ReadOnlyMemory<byte> each in buffer)
                {
                    ReadOnlyMemory<byte> rest = each;
                    while (!rest.IsEmpty)
                {
                    int sent = await _socket.SendAsync(rest, SocketFlags.None).ConfigureAwait(false);
                    Interlocked.Add(ref _bytesSent, sent);
                    rest = rest.Slice(sent);
                }
                }
                return;
            }
            _gather.Add(array);
        }
        int gathered = await _socket.SendAsync(_gather, SocketFlags.None).ConfigureAwait(false);
        Interlocked.Add(ref _bytesSent, gathered);
        _gather.Clear();
    }

    /// <summary>Closes the socket at once; both loops end and complete their pipe ends.</summary>
    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _socket.Dispose();
        _receive.Writer.CancelPendingFlush();
        _send.Reader.CancelPendingRead();
    }
}
