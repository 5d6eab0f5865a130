using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// A TLS connection as a duplex pipe: an <see cref="SslStream"/> over the socket's own pipe (<see cref="SocketPipe"/>
/// through <see cref="TransportStream"/>, so it waits on the gateway's epoll loops), with a receive loop that
/// decrypts into pipe memory and a send loop that encrypts what the connection flushed. The pipes exist from the
/// start, the loops run only after the handshake succeeded, so code built on <see cref="ConnectionTransport"/>
/// (the client connection, the upstream connection) does not know it is TLS.
/// </summary>
internal sealed class TlsPipe : ConnectionTransport
{
    /// <summary>Pipe memory per decrypting read: one whole TLS record (16 KiB of plaintext at most).</summary>
    private const int ReceiveChunk = 16 * 1024;

    /// <summary>Multi-segment sends up to this size are joined into one write (one TLS record train, one send).</summary>
    private const int JoinBelow = 64 * 1024;

    private readonly ConnectionTransport _raw;
    private readonly SslStream _ssl;
    private readonly Pipe _receive;
    private readonly Pipe _send;
    private int _disposed;
    private long _bytesSent;

    /// <param name="raw">The connected socket's own pipe (ciphertext); this connection owns it from now on.</param>
    public TlsPipe(ConnectionTransport raw, PipeOptions sendOptions, PipeOptions receiveOptions)
    {
        _raw = raw;
        _ssl = new SslStream(new TransportStream(raw), leaveInnerStreamOpen: false);
        _receive = new Pipe(receiveOptions);
        _send = new Pipe(sendOptions);
    }

    public override PipeReader Input => _receive.Reader;
    public override PipeWriter Output => _send.Writer;
    public override long BytesSent => Volatile.Read(ref _bytesSent);

    public override int Loop => _raw.Loop;

    public SslStream Stream => _ssl;

    /// <summary>
    /// Runs the server handshake within <paramref name="timeout"/> and, on success, starts both loops. A failure
    /// closes the connection and says why (for the handshake failure counter).
    /// </summary>
    public async Task<TlsHandshakeFailure> AcceptAsync(SslServerAuthenticationOptions options, TimeSpan timeout, Func<bool> clientCertificateRefused)
    {
        using var deadline = new CancellationTokenSource(timeout);
        TlsHandshakeFailure failure;
        try
        {
            await _ssl.AuthenticateAsServerAsync(options, deadline.Token).ConfigureAwait(false);
            StartLoops();
            return TlsHandshakeFailure.None;
        }
        catch (OperationCanceledException)
        {
            failure = TlsHandshakeFailure.Timeout;
        }
        catch (AuthenticationException)
        {
            failure = clientCertificateRefused() ? TlsHandshakeFailure.ClientCertificate : TlsHandshakeFailure.Protocol;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // A closed or reset socket mid-handshake; after the deadline the read fails this way too.
            failure = deadline.IsCancellationRequested ? TlsHandshakeFailure.Timeout
                : clientCertificateRefused() ? TlsHandshakeFailure.ClientCertificate : TlsHandshakeFailure.Closed;
        }
        Dispose();
        return failure;
    }

    /// <summary>Runs the client handshake (to an upstream) and starts both loops; throws what the handshake threw.</summary>
    public async Task ConnectAsync(SslClientAuthenticationOptions options, CancellationToken ct)
    {
        try
        {
            await _ssl.AuthenticateAsClientAsync(options, ct).ConfigureAwait(false);
        }
        catch
        {
            Dispose();
            throw;
        }
        StartLoops();
    }

    private void StartLoops()
    {
        _ = ReceiveLoopAsync();
        _ = SendLoopAsync();
    }

    private async Task ReceiveLoopAsync()
    {
        PipeWriter writer = _receive.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                // A zero-byte read first: SslStream passes it down (TransportStream waits for the socket without
                // consuming), so an idle connection holds neither this pipe's chunk nor SslStream's record buffer.
                await _ssl.ReadAsync(Memory<byte>.Empty).ConfigureAwait(false);
                Memory<byte> memory = writer.GetMemory(ReceiveChunk);
                int received = await _ssl.ReadAsync(memory).ConfigureAwait(false);
                if (received == 0) break; // close_notify or the peer closed its sending side
                writer.Advance(received);
                FlushResult flushed = await writer.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted || flushed.IsCanceled) break;
            }
        }
        catch (ObjectDisposedException)
        {
            // Closed by us (Dispose): the reader sees the end of the stream.
        }
        catch (Exception e) when (Volatile.Read(ref _disposed) != 0 && e is IOException or SocketException)
        {
        }
        catch (Exception e)
        {
            // A reset, a bad record or a truncated stream: the reader's next ReadAsync throws it.
            error = e is IOException or SocketException ? e : new IOException("TLS receive failed", e);
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
                if (!buffer.IsEmpty) await WriteAsync(buffer).ConfigureAwait(false);
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted) break;
            }
            // The connection completed its output: close_notify after everything queued, then our side is shut down.
            if (Volatile.Read(ref _disposed) == 0)
            {
                await _ssl.ShutdownAsync().ConfigureAwait(false);
                _raw.Output.Complete(); // our side of the socket is shut down once what it holds is sent
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
        {
            error = e;
        }
        await reader.CompleteAsync(error).ConfigureAwait(false);
    }

    private async ValueTask WriteAsync(ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsSingleSegment)
        {
            await _ssl.WriteAsync(buffer.First).ConfigureAwait(false);
        }
        else if (buffer.Length <= JoinBelow)
        {
            // A head and a body flushed together: one write, so they leave in one send instead of one per segment.
            int length = (int)buffer.Length;
            byte[] joined = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                buffer.CopyTo(joined);
                await _ssl.WriteAsync(joined.AsMemory(0, length)).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(joined);
            }
        }
        else
        {
            foreach (ReadOnlyMemory<byte> segment in buffer) await _ssl.WriteAsync(segment).ConfigureAwait(false);
        }
        Interlocked.Add(ref _bytesSent, buffer.Length);
    }

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        // Closing the socket first ends a pending read or handshake at once (SslStream.Dispose alone may wait for neither).
        _raw.Dispose();
        _ssl.Dispose();
        _receive.Writer.CancelPendingFlush();
        _send.Reader.CancelPendingRead();
    }
}
