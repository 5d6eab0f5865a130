using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// A connected socket as a duplex pipe, read and written with plain calls of our own (no zero-length readiness
/// read and no FIONREAD probe before each read, which Pipelines.Sockets.Unofficial's SocketConnection makes:
/// issue #14 counted 8.2 system calls per proxied exchange with it). The connection's flush sends on its own
/// thread (<see cref="SocketSendWriter"/>); only what the socket cannot take at once waits for it in the background.
/// On Linux x86-64 the socket waits on our own epoll loops (<see cref="Epoll.ReadinessEngine"/>) and the
/// connection's read receives on its own thread too (<see cref="SocketReceiveReader"/>): no loop, no Pipe.
/// Elsewhere (or with FASTMCP_SOCKET_RECEIVE=runtime) a receive loop on the runtime's socket engine feeds a Pipe.
/// </summary>
internal sealed class SocketPipe : ConnectionTransport
{
    private readonly Socket _socket;
    // The runtime's engine (no epoll loops of ours): a receive loop feeding a Pipe. With our loops: _receiver.
    private readonly Pipe? _receive;
    private readonly SocketReceiveReader? _receiver;
    private readonly SocketSendWriter _send;
    // Set when the loops wait on our own epoll loop (Epoll.ReadinessEngine); null with the runtime's engine.
    private readonly Epoll.ReadinessEngine? _engine;
    private readonly Epoll.Readiness? _readable;
    private readonly Epoll.Readiness? _writable;
    private readonly SafeSocketHandle? _handle; // with our loops: what SendSomeAsync sends on
    private int _registration = -1;
    private int _disposed;
    private long _bytesSent;

    /// <param name="peerSpeaksFirst">
    /// True for an accepted client socket, whose request is usually there already; false for a socket we connected
    /// (to an upstream), which has nothing to read before we send a request: its first read waits for the socket.
    /// </param>
    private SocketPipe(Socket socket, PipeOptions sendOptions, PipeOptions receiveOptions, Epoll.ReadinessEngine? engine, bool peerSpeaksFirst)
    {
        _socket = socket;
        _send = new SocketSendWriter(this, sendOptions.PauseWriterThreshold, sendOptions.ResumeWriterThreshold);
        _engine = engine;
        if (engine is null)
        {
            _receive = new Pipe(receiveOptions);
        }
        else
        {
            _readable = new Epoll.Readiness();
            _writable = new Epoll.Readiness();
            _handle = socket.SafeHandle;
            _receiver = new SocketReceiveReader(socket, _readable, peerSpeaksFirst);
        }
    }

    public override PipeReader Input => (PipeReader?)_receiver ?? _receive!.Reader;
    public override PipeWriter Output => _send;

    /// <summary>Bytes the socket has accepted so far: what was flushed minus this is still held for the peer.</summary>
    public override long BytesSent => Volatile.Read(ref _bytesSent);

    public override int Loop => _engine?.Index ?? -1;

    /// <summary>Wraps a connected (accepted) socket and registers it with an epoll loop (or starts its receive loop).</summary>
    public static SocketPipe Start(Socket socket, PipeOptions sendOptions, PipeOptions receiveOptions)
    {
        var pipe = new SocketPipe(socket, sendOptions, receiveOptions, Epoll.ReadinessEngine.Next(), peerSpeaksFirst: true);
        pipe.StartLoops();
        return pipe;
    }

    /// <summary>
    /// Connects a new socket to <paramref name="endpoint"/> within <paramref name="timeoutMs"/> and wraps it.
    /// With our epoll loops the connect is non-blocking and waits there, so the runtime's engine never sees
    /// the socket (it would otherwise keep waking for its edges); <paramref name="loop"/> names the loop
    /// (-1: the next one in turn).
    /// </summary>
    public static async ValueTask<SocketPipe> ConnectAsync(EndPoint endpoint, int timeoutMs, PipeOptions sendOptions, PipeOptions receiveOptions, int loop, CancellationToken ct)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Epoll.ReadinessEngine? engine = Epoll.ReadinessEngine.At(loop);
        if (engine is null)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(timeoutMs);
            try
            {
                await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                socket.Dispose();
                throw new SocketException((int)SocketError.TimedOut);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            var plain = new SocketPipe(socket, sendOptions, receiveOptions, null, peerSpeaksFirst: false);
            plain.StartLoops();
            return plain;
        }

        var pipe = new SocketPipe(socket, sendOptions, receiveOptions, engine, peerSpeaksFirst: false);
        try
        {
            // Registered after the connect has started: an unconnected socket polls as writable and hung up, which
            // would read as "connected" (and mark a peer close that never happened).
            socket.Blocking = false;
            bool inProgress = false;
            try
            {
                socket.Connect(endpoint);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                inProgress = true;
            }
            pipe.Register();
            if (inProgress)
            {
                // The socket turns writable when the handshake completes or fails; an edge can be stale, so the
                // socket's own state decides.
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(timeoutMs);
                using (timeout.Token.UnsafeRegister(static p => ((SocketPipe)p!).Dispose(), pipe))
                {
                    while (true)
                    {
                        if (!await pipe._writable!.WaitAsync().ConfigureAwait(false))
                            throw ct.IsCancellationRequested ? new OperationCanceledException(ct) : new SocketException((int)SocketError.TimedOut);
                        int error = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                        if (error != 0) throw new SocketException(ErrnoToSocketError(error));
                        if (socket.Poll(0, SelectMode.SelectWrite)) break; // connected
                    }
                }
            }
            pipe.StartLoops();
            return pipe;
        }
        catch
        {
            pipe.Dispose();
            throw;
        }
    }

    // SO_ERROR holds an errno; the few a connect reports, as the runtime names them.
    private static int ErrnoToSocketError(int errno) => errno switch
    {
        111 => (int)SocketError.ConnectionRefused,
        110 => (int)SocketError.TimedOut,
        113 => (int)SocketError.HostUnreachable,
        101 => (int)SocketError.NetworkUnreachable,
        104 => (int)SocketError.ConnectionReset,
        _ => (int)SocketError.SocketError,
    };

    private void Register()
    {
        if (_engine is not null && _registration < 0) _registration = _engine.Register(_socket, _readable!, _writable!);
    }

    /// <summary>
    /// With the runtime's engine, starts the receive loop. With our epoll loops, registers the socket: reads receive
    /// on the reading thread (<see cref="SocketReceiveReader"/>) and sends on the flushing one, so there is no loop.
    /// </summary>
    private void StartLoops()
    {
        if (_engine is null)
        {
            _ = ReceiveLoopAsync();
            return;
        }
        try
        {
            Register();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The socket closed under us: both ends see the end of the stream.
            _readable!.Close();
            _send.Abort();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        PipeWriter writer = _receive!.Writer;
        Exception? error = null;
        try
        {
            int chunk = SocketReceiveReader.ReceiveChunk;
            while (true)
            {
                Memory<byte> memory = writer.GetMemory(chunk);
                int received = await _socket.ReceiveAsync(memory, SocketFlags.None).ConfigureAwait(false);
                if (received == 0) break; // the peer closed its sending side
                writer.Advance(received);
                chunk = SocketReceiveReader.NextChunk(chunk, filled: received == memory.Length);
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

    /// <summary>Counts bytes the socket accepted (<see cref="BytesSent"/>).</summary>
    internal void AddBytesSent(int sent) => Interlocked.Add(ref _bytesSent, sent);

    /// <summary>The connection completed its output and all of it is sent: our side of the stream ends.</summary>
    internal void ShutdownSend()
    {
        if (Volatile.Read(ref _disposed) != 0) return;
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed under us: the peer sees the end of the stream anyway.
        }
    }

    /// <summary>
    /// Sends what the socket takes of <paramref name="data"/> (at least one byte). With our epoll loops a send
    /// the socket cannot take now waits for the next writable edge; nothing is allocated unless it waits.
    /// The first try is made here, outside an async method: two sends per exchange take everything at once, and
    /// the state machine's start and completion cost more than the call's own bookkeeping.
    /// </summary>
    internal ValueTask<int> SendSomeAsync(ReadOnlyMemory<byte> data)
    {
        if (_engine is null) return SendWhenWritableAsync(data);
        int sent;
        SocketError status;
        try
        {
            sent = Epoll.SocketCalls.Send(_handle!, data.Span, out status);
        }
        catch (ObjectDisposedException e)
        {
            return ValueTask.FromException<int>(e);
        }
        if (status == SocketError.Success) return new ValueTask<int>(sent);
        if (status != SocketError.WouldBlock) return ValueTask.FromException<int>(new SocketException((int)status));
        return SendWhenWritableAsync(data);
    }

    /// <summary>The socket did not take <paramref name="data"/> now (our loops), or the runtime's engine sends it.</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<int> SendWhenWritableAsync(ReadOnlyMemory<byte> data)
    {
        if (_engine is null) return await _socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
        while (true)
        {
            if (!await _writable!.WaitAsync().ConfigureAwait(false)) throw new ObjectDisposedException(nameof(SocketPipe));
            int sent = Epoll.SocketCalls.Send(_handle!, data.Span, out SocketError status);
            if (status == SocketError.Success) return sent;
            if (status != SocketError.WouldBlock) throw new SocketException((int)status);
        }
    }

    /// <summary>Closes the socket at once; both loops end and complete their pipe ends.</summary>
    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _socket.Dispose();
        if (_engine is not null)
        {
            _readable!.Close();
            _writable!.Close();
            if (_registration >= 0) _engine.Unregister(_registration);
        }
        _receive?.Writer.CancelPendingFlush();
        _send.Abort();
    }
}
