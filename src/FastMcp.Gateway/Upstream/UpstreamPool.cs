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
    private readonly UpstreamTls? _tls;
    private EndPoint? _endpoint;
    private int _disposed;
    private long _nextTlsFailureLog;
    private int _tlsFailuresNotLogged;

    public UpstreamPool(UpstreamUrl url, UpstreamOptions options, HttpLimits limits)
    {
        Url = url;
        _options = options;
        _limits = limits;
        _receiveOptions = PipeSettings.Receive(limits.MaxResponseMessageBytes);
        if (url.IsHttps) _tls = new UpstreamTls(url, options.Tls, "upstream");
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
        // A non-blocking connect on the gateway's own epoll loops (Transport/Epoll); TLS runs over that socket's pipe.
        SocketPipe connection;
        try
        {
            System.IO.Pipelines.PipeOptions send = _tls is null ? PipeSettings.DefaultSend : PipeSettings.TlsCiphertextSend;
            connection = await SocketPipe.ConnectAsync(endpoint, _options.ConnectTimeoutMs, send, _receiveOptions, ct).ConfigureAwait(false);
        }
        catch
        {
            _endpoint = null;
            throw;
        }
        Interlocked.Increment(ref _opened);
        if (_tls is null) return new UpstreamConnection(connection, _limits);
        return new UpstreamConnection(await HandshakeAsync(connection, ct).ConfigureAwait(false), _limits);
    }

    /// <summary>
    /// The TLS handshake to an https:// upstream, within upstream.connectTimeoutMs. A refused certificate or a failed
    /// handshake becomes an <see cref="IOException"/> (the exchange answers 502) and a warning saying why, at most
    /// one per few seconds (with the count of those not logged) so a misconfigured upstream does not flood the log.
    /// </summary>
    private async ValueTask<TlsPipe> HandshakeAsync(SocketPipe socket, CancellationToken ct)
    {
        var connection = new TlsPipe(socket, PipeSettings.DefaultSend, _receiveOptions);
        var check = new UpstreamTls.CertificateCheck();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.ConnectTimeoutMs);
        try
        {
            await connection.ConnectAsync(_tls!.OptionsFor(check), timeout.Token).ConfigureAwait(false);
            return connection;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            _endpoint = null;
            LogTlsFailure("handshake not finished within upstream.connectTimeoutMs");
            throw new SocketException((int)SocketError.TimedOut);
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException or SocketException)
        {
            _endpoint = null;
            string why = e is System.Security.Authentication.AuthenticationException ? check.Describe() : "connection closed during the handshake";
            LogTlsFailure(why);
            throw new IOException($"TLS to upstream {Url.Text} failed: {why}", e);
        }
    }

    private void LogTlsFailure(string why)
    {
        long now = Environment.TickCount64;
        long next = Volatile.Read(ref _nextTlsFailureLog);
        if (now < next || Interlocked.CompareExchange(ref _nextTlsFailureLog, now + 5_000, next) != next)
        {
            Interlocked.Increment(ref _tlsFailuresNotLogged);
            return;
        }
        int skipped = Interlocked.Exchange(ref _tlsFailuresNotLogged, 0);
        Hosting.Log.Warn($"upstream {Url.Text}: TLS with \"{_tls!.ServerName}\" failed: {why}" + (skipped > 0 ? $" ({skipped} more failure(s) since the last such line)" : ""));
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
