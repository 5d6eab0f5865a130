using System.IO.Pipelines;
using FastMcp.Http;

using FastMcp.Gateway.Transport;

namespace FastMcp.Gateway.Upstream;

/// <summary>One keep-alive HTTP/1.1 connection to the upstream, with the parse state it reuses.</summary>
internal sealed class UpstreamConnection : IDisposable
{
    private readonly ConnectionTransport _socket;
    private int _disposed;

    public UpstreamConnection(ConnectionTransport socket, HttpLimits limits)
    {
        _socket = socket;
        Input = socket.Input;
        Output = socket.Output;
        ResponseHead = new HttpResponseHead(limits);
    }

    /// <summary>The socket loop this connection is registered with (-1: the runtime's engine); the pool keeps it for that loop.</summary>
    public int Loop => _socket.Loop;

    // Taken once: plain or TLS, the exchange code reads and writes these pipes directly.
    public PipeReader Input { get; }
    public PipeWriter Output { get; }
    public HttpResponseHead ResponseHead { get; }

    /// <summary>Served at least one exchange before (a stale reused connection may fail on send).</summary>
    public bool Reused { get; set; }

    /// <summary>Set when the exchange did not leave the connection at a message boundary.</summary>
    public bool Broken { get; set; }

    /// <summary>
    /// True when the upstream has closed an idle pooled connection, or it holds bytes nobody asked for (sent after a
    /// complete response, examined or not): either way it must not carry another request, or the next exchange
    /// (maybe another client's) would read those bytes as its answer. Checked when the connection goes back to the
    /// pool and again when it is taken out.
    /// </summary>
    /// <summary>
    /// Bytes the upstream sent that no request asked for, found after a complete response or on an idle connection
    /// (0: none). Set by the relay and by <see cref="IsDeadWhileIdle"/>; the pool logs them when it closes the connection.
    /// </summary>
    public long StrayBytes { get; set; }

    public bool IsDeadWhileIdle()
    {
        if (Volatile.Read(ref _disposed) != 0) return true;
        ReadResult result;
        try
        {
            if (!Input.TryRead(out result)) return false;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            return true; // completed under us, or the socket failed
        }
        if (!result.Buffer.IsEmpty) StrayBytes = result.Buffer.Length;
        bool dead = result.IsCompleted || result.IsCanceled || !result.Buffer.IsEmpty;
        Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        return dead;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try { _socket.Input.Complete(); } catch (InvalidOperationException) { }
        try { _socket.Output.Complete(); } catch (InvalidOperationException) { }
        _socket.Dispose();
    }
}
