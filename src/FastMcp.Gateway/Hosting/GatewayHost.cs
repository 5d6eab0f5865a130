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
    // Connections counted from accept (the dictionary holds those past the cap check): limits.maxConnections.
    private readonly int _maxConnections;
    private int _open;
    private readonly CancellationTokenSource _stopRecording = new();
    private Task? _refusalRecorder;
    private readonly GatewayRuntime _runtime;
    private readonly UpstreamPool _pool;
    private readonly LocalHttpServer? _admin;
    private int _ready;

    public GatewayHost(GatewayOptions options, UpstreamUrl upstream, GatewayStages stages)
    {
        _maxConnections = options.Limits.MaxConnections;
        _pool = new UpstreamPool(upstream, options.Upstream, options.Limits);
        _runtime = new GatewayRuntime(options, new Forwarder(_pool, options.Limits), stages.ResponseTransforms)
        {
            Authentication = stages.Authentication,
            FailedAuthentication = stages.Authentication is { IsAnonymous: false } ? new Stages.FailedAuthenticationLimiter(options.FailedAuthentication) : null,
            Authorization = stages.Authorization,
            Masking = stages.Masking,
            Audit = stages.Audit,
            UpstreamCredential = stages.UpstreamCredential,
            Approvals = stages.Approvals,
        };
        try
        {
            var receive = PipeSettings.Receive(options.Limits.MaxRequestBodyBytes);
            foreach (string address in options.Listen)
            {
                IPEndPoint endpoint = ListenAddress.Parse(address, "listen");
                SocketListener listener = SocketListener.Bind(endpoint, receive);
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
        if (Interlocked.Increment(ref _open) > _maxConnections)
        {
            try
            {
                await Transport.ConnectionRefusal.AnswerAsync(transport).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _open);
                Admin.GatewayCounters.Add(ref _runtime.Counters.ConnectionsRefused);
            }
            return;
        }
        try
        {
            await ServeAsync(transport, remote).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }

    private async Task ServeAsync(SocketPipe transport, IPEndPoint remote)
    {
        var connection = new ClientConnection(transport, remote, _runtime);
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
        _admin?.Dispose();
        _pool.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_runtime.Stopping) await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
    }
}
