using System.Buffers;
using System.IO.Pipelines;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// The raw bytes of a connection (<see cref="SocketPipe"/>) as the <see cref="Stream"/> an <see cref="System.Net.Security.SslStream"/>
/// reads records from and writes records to. With it a TLS socket waits on the gateway's own epoll loops like a
/// plain one (one receive per readable edge, sends on the writing thread) instead of the runtime's socket engine,
/// which tried every receive first and counted one recvfrom returning EAGAIN per exchange. It does not own the
/// transport: <see cref="TlsPipe"/> closes it.
/// </summary>
internal sealed class TransportStream : Stream
{
    private readonly ConnectionTransport _raw;

    public TransportStream(ConnectionTransport raw) => _raw = raw;

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        PipeReader input = _raw.Input;
        if (buffer.IsEmpty)
        {
            // A zero-byte read waits until bytes (or the end) are there and consumes nothing, as a socket's does:
            // SslStream issues one for a caller's zero-byte read, to take its buffer only when a record arrives.
            ReadResult ready = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            input.AdvanceTo(ready.Buffer.Start);
            if (ready.IsCanceled && ready.Buffer.IsEmpty && !ready.IsCompleted) throw new OperationCanceledException("the read was cancelled");
            return 0;
        }
        while (true)
        {
            ReadResult result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> data = result.Buffer;
            if (!data.IsEmpty)
            {
                int count = (int)Math.Min(data.Length, buffer.Length);
                data.Slice(0, count).CopyTo(buffer.Span);
                input.AdvanceTo(data.GetPosition(count));
                return count;
            }
            input.AdvanceTo(data.End);
            if (result.IsCompleted) return 0; // the peer closed its sending side
            if (result.IsCanceled) throw new OperationCanceledException("the read was cancelled");
        }
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty) return;
        FlushResult flushed = await _raw.Output.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        // A completed flush means the socket failed or closed: what was written did not leave.
        if (flushed.IsCompleted) throw new IOException("the connection closed while TLS data was being sent");
        if (flushed.IsCanceled) throw new OperationCanceledException("the send was cancelled");
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // SslStream is only used through its asynchronous calls here; the synchronous ones wait for those.
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask; // every write is flushed

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
