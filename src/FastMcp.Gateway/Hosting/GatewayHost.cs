using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using FastMcp.Gateway.Admin;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Transport;
using FastMcp.Gateway.Upstream;

namespace FastMcp.Gateway.Hosting;

/// <summary>
/// Owns the gateway's listeners, its client connections and the upstream pool, and runs the
/// graceful stop: stop accepting, let in-flight exchanges finish up to a deadline, then close.
/// </summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    private readonly List<SocketListener> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly ConcurrentDictionary<ClientConnection, byte> _connections = new();
    // Connections counted from accept (the dictionary holds those past the cap check): limits.maxConnections, with
    // limits.reservedAuthenticatedConnections of them kept for connections that presented a valid token.
    private readonly ConnectionSlots _slots;
    // Connections on the reserve that have not presented a token yet: one gives its slot up to a newcomer over the limit.
    private readonly ConcurrentDictionary<ClientConnection, byte> _waitingOnReserve = new();
    private readonly CancellationTokenSource _stopRecording = new();
    private Task? _refusalRecorder;
    private RateLimiting.RateLimitRecorder? _rateLimitRecorder;
    private readonly GatewayRuntime _runtime;
    private readonly UpstreamPool _pool;
    private readonly LocalHttpServer? _admin;
    private readonly Upstream.Stdio.StdioBridge? _stdio;
    private int _ready;

    /// <param name="stdio">The bridge <paramref name="upstream"/> points at when the upstream is a stdio server: its secret is
    /// sent on every upstream request, and its server processes are stopped when the gateway stops.</param>
    public GatewayHost(GatewayOptions options, UpstreamUrl upstream, GatewayStages stages, Upstream.Stdio.StdioBridge? stdio = null)
    {
        _stdio = stdio;
        // Without tokens (anonymous or pass-through mode) no connection could ever claim the reserve.
        int reserve = stages.Authentication is { IsAnonymous: false } ? options.Limits.EffectiveReservedAuthenticatedConnections() : 0;
        _slots = new ConnectionSlots(options.Limits.MaxConnections, Math.Clamp(reserve, 0, options.Limits.MaxConnections - 1));
        _pool = new UpstreamPool(upstream, options.Upstream, options.Limits) { UpstreamHeaderLines = stdio?.SecretHeaderLines ?? [] };
        _runtime = new GatewayRuntime(options, new Forwarder(_pool, options.Limits), stages.ResponseTransforms)
        {
            Authentication = stages.Authentication,
            FailedAuthentication = stages.Authentication is { IsAnonymous: false } ? new Stages.FailedAuthenticationLimiter(options.FailedAuthentication) : null,
            Authorization = stages.Authorization,
            Masking = stages.Masking,
            Audit = stages.Audit,
            UpstreamCredential = stages.UpstreamCredential,
            Approvals = stages.Approvals,
            Slots = _slots,
        };
        try
        {
            var receive = PipeSettings.Receive(options.Limits.MaxRequestBodyBytes);
            var send = PipeSettings.Send(options.Limits.MaxBufferedResponseBytes);
            foreach (string address in options.Listen)
            {
                IPEndPoint endpoint = ListenAddress.Parse(address, "listen");
                SocketListener listener = SocketListener.Bind(endpoint, receive, send);
                _listeners.Add(listener);
            }
            if (!string.IsNullOrEmpty(options.Admin.Listen))
            {
                var admin = new AdminEndpoints(Readiness,
                    stages.Approvals is { } broker && stages.Authentication is { } auth ? new ApprovalEndpoints(broker, auth) : null,
                    new MetricsEndpoint(_runtime, () => _connections.Count));
                _admin = new LocalHttpServer(ListenAddress.Parse(options.Admin.Listen, "admin.listen"), admin.HandleAsync);
            }
        }
        catch
        {
            foreach (SocketListener l in _listeners) l.Dispose();
            _admin?.Dispose();
            throw;
        }
        foreach (SocketListener l in _listeners) _acceptLoops.Add(l.AcceptLoopAsync(OnConnectionAsync));
        if (_runtime.FailedAuthentication is not null && _runtime.Audit is not null) _refusalRecorder = RecordRefusedAuthenticationLoopAsync();
        // Always with an audit log: a reloaded policy may bring rules with budgets of their own.
        if (_runtime.Audit is not null)
        {
            _rateLimitRecorder = new RateLimiting.RateLimitRecorder(_runtime.RateLimits, _runtime.Audit);
            _rateLimitRecorder.Start();
        }
        Volatile.Write(ref _ready, 1);
    }

    public GatewayRuntime Runtime => _runtime;
    public UpstreamPool Pool => _pool;
    /// <summary>
    /// GET /readyz: a gateway whose audit log cannot be written refuses every call with 503, so it must not
    /// receive traffic; the load balancer sends it elsewhere until the log recovers.
    /// </summary>
    private Admin.GatewayReadiness Readiness()
    {
        if (_runtime.Stopping) return Admin.GatewayReadiness.Stopping;
        if (Volatile.Read(ref _ready) == 0) return Admin.GatewayReadiness.Starting;
        if (_runtime.Audit is { IsWritable: false }) return Admin.GatewayReadiness.AuditUnwritable;
        if (_runtime.Audit?.Log.Shipper is { BacklogTooLarge: true }) return Admin.GatewayReadiness.ShippingBacklog;
        return Admin.GatewayReadiness.Ready;
    }

    public IReadOnlyList<IPEndPoint> Endpoints => _listeners.ConvertAll(l => l.LocalEndPoint);
    public IPEndPoint? AdminEndpoint => _admin?.LocalEndPoint;
    public int OpenConnections => _connections.Count;

    private async Task OnConnectionAsync(SocketPipe transport, IPEndPoint remote)
    {
        ConnectionSlots.Admission admission = _slots.Admit();
        if (admission == ConnectionSlots.Admission.Refused && EvictOneWaitingOnReserve()) admission = _slots.AdmitInPlaceOfEvicted();
        if (admission == ConnectionSlots.Admission.Refused)
        {
            try
            {
                await Transport.ConnectionRefusal.AnswerAsync(transport).ConfigureAwait(false);
            }
            finally
            {
                _slots.Release(admission, authenticated: false);
                Admin.GatewayCounters.Add(ref _runtime.Counters.ConnectionsRefused);
            }
            return;
        }
        bool onReserve = admission == ConnectionSlots.Admission.Reserve;
        var connection = new ClientConnection(transport, remote, _runtime, onReserve);
        if (onReserve) _waitingOnReserve.TryAdd(connection, 0);
        try
        {
            await ServeAsync(connection).ConfigureAwait(false);
        }
        finally
        {
            if (onReserve) _waitingOnReserve.TryRemove(connection, out _);
            _slots.Release(admission, connection.HoldsAuthenticatedSlot);
        }
    }

    /// <summary>Closes one connection still waiting on the reserve without a token; false when there is none.</summary>
    private bool EvictOneWaitingOnReserve()
    {
        foreach (ClientConnection waiting in _waitingOnReserve.Keys)
        {
            if (!waiting.TryEvictFromReserve()) continue;
            _waitingOnReserve.TryRemove(waiting, out _);
            Log.Debug($"client {waiting.RemoteAddress}: closed to free a reserved slot (it had not presented a token)");
            return true;
        }
        return false;
    }

    private async Task ServeAsync(ClientConnection connection)
    {
        _connections.TryAdd(connection, 0);
        try
        {
            // A connection that arrives while stopping is closed right away.
            if (_runtime.Stopping) return;
            await connection.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            connection.Dispose();
        }
    }

    /// <summary>Every interval, one audit record per address whose attempts were refused with 429 (and once more at stop).</summary>
    private async Task RecordRefusedAuthenticationLoopAsync()
    {
        Stages.FailedAuthenticationLimiter limiter = _runtime.FailedAuthentication!;
        try
        {
            while (!_stopRecording.IsCancellationRequested)
            {
                try { await Task.Delay(limiter.RecordInterval, _stopRecording.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
                foreach ((string address, long refused) in limiter.DrainRefused())
                {
                    try
                    {
                        await _runtime.Audit!.RecordRefusedAuthenticationAsync(address, refused, limiter.RecordInterval).ConfigureAwait(false);
                    }
                    catch (FastMcp.Audit.AuditUnavailableException)
                    {
                        Log.Warn($"audit log unavailable: {refused} refused authentication attempt(s) from {address} could not be recorded");
                    }
                }
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            // The log closed under the loop at shutdown.
        }
    }

    /// <summary>Stops accepting, lets in-flight exchanges finish within <paramref name="deadline"/>, then closes the rest.</summary>
    public async Task StopAsync(TimeSpan deadline)
    {
        _runtime.BeginStopping();
        foreach (SocketListener l in _listeners) l.Stop();
        foreach (ClientConnection c in _connections.Keys) c.RequestStop();
        // Held calls cannot wait for a decision this process will not be there to apply.
        if (_runtime.Approvals is { } approvals) await approvals.CancelAllAsync("the gateway is stopping").ConfigureAwait(false);
        var clock = Stopwatch.StartNew();
        while (!_connections.IsEmpty && clock.Elapsed < deadline)
        {
            foreach (ClientConnection c in _connections.Keys) c.RequestStop();
            await Task.Delay(20).ConfigureAwait(false);
        }
        if (!_connections.IsEmpty) Log.Warn($"shutdown deadline reached: closing {_connections.Count} connection(s) with exchanges in flight");
        foreach (ClientConnection c in _connections.Keys) c.Abort();
        _stopRecording.Cancel();
        if (_refusalRecorder is not null) await _refusalRecorder.ConfigureAwait(false);
        if (_rateLimitRecorder is not null) await _rateLimitRecorder.StopAsync().ConfigureAwait(false);
        _admin?.Dispose();
        // After the exchanges: a call still in flight was given its chance to be answered.
        if (_stdio is not null) await _stdio.StopAsync().ConfigureAwait(false);
        _pool.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_runtime.Stopping) await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
    }
}
