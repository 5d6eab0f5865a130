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
/// Idle connections are kept per socket loop. An exchange asks for one on its client's loop and a new one is
/// registered there, so the request, the upstream's answer and the relay to the client all run on one thread:
/// a connection from another loop would move the rest of the exchange to that loop's thread and core (issue #14).
/// </summary>
internal sealed class UpstreamPool : IDisposable
{
    // One stack per loop, plus one (index 0) for connections on the runtime's engine. Most recently returned first
    // (warm connections); a lock and an array each, so returning allocates nothing. Made at the first return, by
    // when the loops run.
    private Stack<UpstreamConnection>[]? _idle;
    private int _idleCount;
    private readonly UpstreamOptions _options;
    private readonly HttpLimits _limits;
    private readonly System.IO.Pipelines.PipeOptions _receiveOptions;
    private readonly UpstreamTls? _tls;
    private EndPoint? _endpoint;
    private int _disposed;
    private readonly Hosting.ThrottledWarning _tlsFailureWarning = new(Hosting.LogRateLimit.IntervalMs);
    private readonly Hosting.ThrottledWarning _strayBytesWarning = new(Hosting.LogRateLimit.IntervalMs);

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

    /// <summary>The upstream's forwardCookies, from the options in force (a reload copies a new value into them).</summary>
    public bool ForwardsCookies => _options.ForwardCookies;

    /// <summary>Logs the first client field this upstream's forwardHeaders left out (shared by the pools a retarget replaces).</summary>
    public DroppedHeaderNotice? DroppedHeaders { get; init; }

    private Forwarding.ForwardedHeaderAllowlist? _allowlist;

    /// <summary>
    /// The upstream's forwardHeaders, compiled; recompiled once when a reload has put a new list in the options in force.
    /// Per request this is one reference comparison.
    /// </summary>
    public Forwarding.ForwardedHeaderAllowlist ForwardedHeaders
    {
        get
        {
            List<string> current = _options.ForwardHeaders;
            Forwarding.ForwardedHeaderAllowlist? compiled = Volatile.Read(ref _allowlist);
            if (compiled is not null && ReferenceEquals(compiled.Source, current)) return compiled;
            // Two requests racing here compile the same list twice; either result is right.
            compiled = Forwarding.ForwardedHeaderAllowlist.Compile(current);
            Volatile.Write(ref _allowlist, compiled);
            return compiled;
        }
    }

    /// <summary>Connections opened over the pool's life (diagnostics and tests of reuse).</summary>
    public long ConnectionsOpened => Interlocked.Read(ref _opened);
    private long _opened;

    /// <summary>
    /// An idle pooled connection on socket loop <paramref name="loop"/> (the client connection's), or a new one registered
    /// with that loop. With -1 (a caller on no loop), an idle connection on any loop, or a new one on the next loop in turn.
    /// Not itself async: an idle connection (nearly every forward) is handed over without starting an async method.
    /// </summary>
    public ValueTask<UpstreamConnection> RentAsync(int loop, CancellationToken ct)
    {
        while (TryTakeIdle(loop, out UpstreamConnection? pooled))
        {
            if (!pooled.IsDeadWhileIdle()) return new ValueTask<UpstreamConnection>(pooled);
            Discard(pooled);
        }
        return ConnectAsync(loop, ct);
    }

    public async ValueTask<UpstreamConnection> ConnectAsync(int loop, CancellationToken ct)
    {
        EndPoint endpoint = _endpoint ??= await Url.ResolveAsync(ct).ConfigureAwait(false);
        // A non-blocking connect on the gateway's own epoll loops (Transport/Epoll); TLS runs over that socket's pipe.
        SocketPipe connection;
        try
        {
            System.IO.Pipelines.PipeOptions send = _tls is null ? PipeSettings.DefaultSend : PipeSettings.TlsCiphertextSend;
            connection = await SocketPipe.ConnectAsync(endpoint, _options.ConnectTimeoutMs, send, _receiveOptions, loop, ct).ConfigureAwait(false);
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

    /// <summary>Closes a connection that must not carry another exchange, saying so when the upstream sent bytes nobody asked for.</summary>
    private void Discard(UpstreamConnection connection)
    {
        if (connection.StrayBytes > 0) LogStrayBytes(connection.StrayBytes);
        connection.Dispose();
    }

    // An upstream that answers with more than its framing says (a wrong Content-Length, a stray CRLF, a second response)
    // costs a connection per exchange and may be compromised: worth a line, at most one per 10 s per upstream.
    private void LogStrayBytes(long bytes)
    {
        if (!_strayBytesWarning.TryTake(out int skipped)) return;
        Hosting.Log.Warn($"upstream {Url.Text}: sent {bytes} byte(s) no request asked for (after a complete response, or while idle); " +
            "the connection was closed, not reused (RFC 9112 6.3)" + Hosting.LogRateLimit.Held(skipped));
    }

    private void LogTlsFailure(string why)
    {
        if (!_tlsFailureWarning.TryTake(out int skipped)) return;
        Hosting.Log.Warn($"upstream {Url.Text}: TLS with \"{_tls!.ServerName}\" failed: {why}" + Hosting.LogRateLimit.Held(skipped));
    }

    /// <summary>
    /// Takes a connection back after an exchange; broken or surplus ones are closed, and so is one holding bytes past the
    /// response (RFC 9112 6.3: never read as a response of their own) or closed by the upstream: the last check before
    /// a connection is shared, whatever path the exchange took.
    /// </summary>
    public void Return(UpstreamConnection connection)
    {
        if (connection.Broken || Volatile.Read(ref _disposed) != 0 || connection.IsDeadWhileIdle())
        {
            connection.Broken = true;
            Discard(connection);
            return;
        }
        connection.Reused = true;
        Stack<UpstreamConnection>[] stacks = IdleStacks();
        int own = connection.Loop + 1;
        if (Interlocked.Increment(ref _idleCount) > _options.MaxIdleConnections)
        {
            // Full: one idle connection of another loop makes room (idle connections follow the loops that use them,
            // so a loop cannot keep the whole bound while another opens and closes one per exchange); with none, this
            // one is the surplus.
            Interlocked.Decrement(ref _idleCount);
            if (_options.MaxIdleConnections == 0 || !TryTakeAny(stacks, except: own, out UpstreamConnection? evicted))
            {
                connection.Dispose();
                return;
            }
            evicted.Dispose();
            Interlocked.Increment(ref _idleCount);
        }
        lock (stacks[own]) stacks[own].Push(connection);
    }

    /// <summary>An idle connection from any stack but <paramref name="except"/> (-1: from any).</summary>
    private bool TryTakeAny(Stack<UpstreamConnection>[] stacks, int except, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out UpstreamConnection? connection)
    {
        connection = null;
        for (int i = 0; i < stacks.Length; i++)
        {
            if (i != except && TryPop(stacks[i], out connection)) return true;
        }
        return false;
    }

    private Stack<UpstreamConnection>[] IdleStacks()
    {
        if (_idle is { } made) return made;
        var stacks = new Stack<UpstreamConnection>[Transport.Epoll.ReadinessEngine.Count + 1];
        for (int i = 0; i < stacks.Length; i++) stacks[i] = new Stack<UpstreamConnection>();
        return Interlocked.CompareExchange(ref _idle, stacks, null) ?? stacks;
    }

    private bool TryTakeIdle(int loop, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out UpstreamConnection? connection)
    {
        connection = null;
        if (_idle is not { } stacks) return false;
        // On a loop: only that loop's connections; a new one there beats an idle one that moves the exchange.
        if (loop >= 0 && loop + 1 < stacks.Length) return TryPop(stacks[loop + 1], out connection);
        return TryTakeAny(stacks, except: -1, out connection);
    }

    private bool TryPop(Stack<UpstreamConnection> stack, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out UpstreamConnection? connection)
    {
        bool taken;
        lock (stack) taken = stack.TryPop(out connection);
        if (taken) Interlocked.Decrement(ref _idleCount);
        return taken;
    }

    public void Dispose()
    {
        Interlocked.Exchange(ref _disposed, 1);
        while (TryTakeIdle(-1, out UpstreamConnection? c)) c.Dispose();
    }
}
