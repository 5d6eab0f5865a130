using System.Net;
using System.Net.Sockets;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Transport;
using FastMcp.Http;
using System.Runtime.CompilerServices;

namespace FastMcp.Gateway.Upstream;

/// <summary>
/// Keep-alive connections to one upstream, each a <see cref="Transport.SocketPipe"/>. Connections go
/// back to the pool only after a complete exchange; anything else is closed.
/// </summary>
internal sealed class UpstreamPool : IDisposable
{
    // Most recently returned first (warm connections); a lock and an array, so returning allocates nothing.
    private readonly Stack<UpstreamConnection> _idle = new();
    private readonly UpstreamOptions _options;
    private readonly HttpLimits _limits;
    private readonly System.IO.Pipelines.PipeOptions _receiveOptions;
    private EndPoint? _endpoint;
    private int _disposed;

    public UpstreamPool(UpstreamUrl url, UpstreamOptions options, HttpLimits limits)
    {
        Url = url;
        _options = options;
        _limits = limits;
        _receiveOptions = PipeSettings.Receive(limits.MaxResponseMessageBytes);
    }

    public UpstreamUrl Url { get; }

    /// <summary>
    /// Header lines ("Name: value\r\n") sent on every request to this upstream and never taken from a client:
    /// the stdio bridge's per-start secret. Empty for ordinary http upstreams.
    /// </summary>
    public byte[] UpstreamHeaderLines { get; init; } = [];

    /// <summary>Connections opened over the pool's life (diagnostics and tests of reuse).</summary>
    public long ConnectionsOpened => Interlocked.Read(ref _opened);
    private long _opened;

    /// <summary>An idle pooled connection, or a new one.</summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    public async ValueTask<UpstreamConnection> RentAsync(CancellationToken ct)
    {
        while (TryTakeIdle(out UpstreamConnection? pooled))
        {
            if (!pooled.IsDeadWhileIdle()) return pooled;
            pooled.Dispose();
        }
        return await ConnectAsync(ct).ConfigureAwait(false);
    }

    public async ValueTask<UpstreamConnection> ConnectAsync(CancellationToken ct)
    {
        EndPoint endpoint = _endpoint ??= await Url.ResolveAsync(ct).ConfigureAwait(false);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.ConnectTimeoutMs);
        try
        {
            await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            socket.Dispose();
            _endpoint = null;
            throw new SocketException((int)SocketError.TimedOut);
        }
        catch
        {
            socket.Dispose();
            _endpoint = null;
            throw;
        }
        Interlocked.Increment(ref _opened);
        SocketPipe connection = SocketPipe.Start(socket, PipeSettings.DefaultSend, _receiveOptions);
        return new UpstreamConnection(connection, _limits);
    }

    /// <summary>Takes a connection back after an exchange; broken or surplus ones are closed.</summary>
    public void Return(UpstreamConnection connection)
    {
        if (connection.Broken || Volatile.Read(ref _disposed) != 0)
        {
            connection.Dispose();
            return;
        }
        connection.Reused = true;
        lock (_idle)
        {
            if (_idle.Count < _options.MaxIdleConnections)
            {
                _idle.Push(connection);
                return;
            }
        }
        connection.Dispose();
    }

    private bool TryTakeIdle([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out UpstreamConnection? connection)
    {
        lock (_idle) return _idle.TryPop(out connection);
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _disposed, 1);
        while (TryTakeIdle(out UpstreamConnection? c)) c.Dispose();
    }
}
