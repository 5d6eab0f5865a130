using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using FastMcp.Gateway.Admin;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Transport;
using FastMcp.Gateway.Upstream;

using FastMcp.Gateway.Stages;

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
    private AdminRequestRecorder? _adminRequestRecorder;
    private Sessions.SessionRefusalRecorder? _sessionRefusalRecorder;
    private readonly GatewayRuntime _runtime;
    private readonly RouteTable _routes;
    private readonly UpstreamProbe _probe;
    private readonly LocalHttpServer? _admin;
    private readonly ListenerTls? _tls;
    private readonly IReadOnlyDictionary<string, Upstream.Stdio.StdioBridge> _stdio;
    private int _ready;
    private readonly ThrottledWarning _lostAuthenticationLine = new(LogRateLimit.IntervalMs);

    /// <param name="upstream">The default route's upstream ("upstream" + "endpointPath"); null when routes are configured without one.</param>
    /// <param name="stdio">The bridges of stdio upstreams, by upstream name: the routes send each one's secret, and their server
    /// processes are stopped when the gateway stops.</param>
    public GatewayHost(GatewayOptions options, UpstreamUrl? upstream, GatewayStages stages, IReadOnlyDictionary<string, Upstream.Stdio.StdioBridge>? stdio = null)
    {
        _stdio = stdio ?? new Dictionary<string, Upstream.Stdio.StdioBridge>();
        // Without tokens (anonymous or pass-through mode) no connection could ever claim the reserve.
        int reserve = stages.Authentication is { IsAnonymous: false } ? options.Limits.EffectiveReservedAuthenticatedConnections() : 0;
        _slots = new ConnectionSlots(options.Limits.MaxConnections, Math.Clamp(reserve, 0, options.Limits.MaxConnections - 1));
        // Pass-through mode sends no credential upstream (the default upstream's comes with the identity stage it skips).
        _routes = RouteTable.Build(options, upstream, stages.UpstreamCredential, injectCredentials: !options.Passthrough, _stdio);
        // Sessions forgotten past a bound are ended at their upstream in the background (docs/configuration.md, "sessions").
        var sessionEnds = new Sessions.SessionEnder(_routes.Upstreams, options.Limits, System.Text.Encoding.ASCII.GetBytes(options.PublicScheme));
        foreach (Federation.FederatedRoute federated in _routes.Federated)
        {
            UpstreamRoute[] members = federated.Members;
            federated.Sessions.EndForgotten = session => sessionEnds.EndMembers(members, session);
        }
        // Server requests on a federated path get the gateway's ids (Federation/ServerRequestRelay.cs); other paths skip it.
        IResponseTransform[] transforms = _routes.Federated.Count > 0 ? [.. stages.ResponseTransforms, new Federation.ServerRequestRelay()] : stages.ResponseTransforms;
        // Anonymous callers are all one principal: a task cannot be bound to one of them (Tasks/TaskBindings.cs).
        Tasks.TaskBindings? taskBindings = stages.Authentication is { IsAnonymous: false }
            ? new Tasks.TaskBindings(options.Tasks.MaxPerUpstream, options.Tasks.MaxPerCaller)
            : null;
        Tasks.TaskSeal? taskSeal = GatewayStages.CreateTaskSeal(options);
        if (taskBindings is null) taskSeal = null;
        // Task ids are bound and lists filtered before masking can rewrite an id; sealed after both (only bound ids are).
        if (taskSeal is not null) transforms = [new Tasks.TaskIdSealing(taskBindings!, taskSeal), .. transforms];
        if (taskBindings is not null) transforms = [new Tasks.TaskCreationBinding(taskBindings), new Tasks.TaskListFiltering(taskBindings), .. transforms];
        _runtime = new GatewayRuntime(options, _routes, transforms)
        {
            TaskBindings = taskBindings,
            TaskSeal = taskSeal,
            Authentication = stages.Authentication,
            FailedAuthentication = stages.Authentication is { IsAnonymous: false } ? new Stages.FailedAuthenticationLimiter(options.FailedAuthentication) : null,
            Authorization = stages.Authorization,
            Masking = stages.Masking,
            Audit = stages.Audit,
            Approvals = stages.Approvals,
            Slots = _slots,
            // Anonymous callers are all one principal: there is no one to tell apart.
            SessionBindings = stages.Authentication is { IsAnonymous: false }
                ? new Sessions.SessionBindings(options.Sessions.MaxPerUpstream, options.Sessions.MaxPerCaller, forwardUnknown: options.Sessions.Unknown == "forward",
                    sessionEnds.End)
                : null,
            SessionEnds = sessionEnds,
            AdminRequests = new AdminRequestTrail(stages.Audit, options.Admin.RecordedRequestsPerMinute),
            SessionSeal = GatewayStages.CreateSessionSeal(options),
            SessionRefusals = stages.Authentication is { IsAnonymous: false }
                ? new Sessions.SessionRefusalTally(Sessions.SessionRefusalTally.FingerprintKey(stages.Masking?.FingerprintKey))
                : null,
            Tracer = options.Tracing.Enabled ? new Tracing.Tracer(options.Tracing, typeof(GatewayHost).Assembly.GetName().Version?.ToString() ?? "unknown") : null,
        };
        try
        {
            var receive = PipeSettings.Receive(options.Limits.MaxRequestBodyBytes);
            var send = PipeSettings.Send(options.Limits.MaxBufferedResponseBytes);
            if (options.Tls is not null) _tls = new ListenerTls(options.Tls, _runtime.Counters);
            foreach (string address in options.Listen)
            {
                IPEndPoint endpoint = ListenAddress.Parse(address, "listen");
                SocketListener listener = SocketListener.Bind(endpoint, receive, send, tls: _tls is not null);
                _listeners.Add(listener);
            }
            if (!string.IsNullOrEmpty(options.Admin.Listen))
            {
                var access = new AdminAccess(stages.Authentication, stages.Approvals, options.Admin.OperatorGroups, _runtime.AdminRefusals);
                ApprovalEndpoints? approvalApi = stages.Approvals is { } broker && stages.Authentication is not null
                    ? new ApprovalEndpoints(broker, access, _runtime.AdminRequests)
                    : null;
                var admin = new AdminEndpoints(Readiness, DownUpstreams, approvalApi, new MetricsEndpoint(_runtime, () => _connections.Count), access,
                    AdminViewRules.From(options.Admin), _runtime.AdminRequests,
                    approvalApi is not null && stages.Approvals!.Peers is { } peers ? new PeerEndpoints(stages.Approvals, peers, approvalApi) : null, stages.ToolPins);
                _admin = new LocalHttpServer(ListenAddress.Parse(options.Admin.Listen, "admin.listen"), admin.HandleAsync, _runtime.AdminLimits);
            }
        }
        catch
        {
            foreach (SocketListener l in _listeners) l.Dispose();
            _admin?.Dispose();
            // Its workers only wait for work: stopping them is immediate.
            sessionEnds.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _routes.Dispose();
            _runtime.Tracer?.Dispose();
            throw;
        }
        _probe = new UpstreamProbe(_routes.Upstreams);
        foreach (SocketListener l in _listeners) _acceptLoops.Add(l.AcceptLoopAsync(OnConnectionAsync));
        if (_runtime.FailedAuthentication is not null && _runtime.Audit is not null) _refusalRecorder = RecordRefusedAuthenticationLoopAsync();
        // Always with an audit log: a reloaded policy may bring rules with budgets of their own.
        if (_runtime.Audit is not null)
        {
            _rateLimitRecorder = new RateLimiting.RateLimitRecorder(_runtime.RateLimits, _runtime.Audit);
            _rateLimitRecorder.Start();
        }
        if (_runtime.AdminRequests.Records)
        {
            _adminRequestRecorder = new AdminRequestRecorder(_runtime.AdminRequests);
            _adminRequestRecorder.Start();
        }
        if (_runtime.SessionRefusals is { } refusals && _runtime.Audit is { } audit)
        {
            _sessionRefusalRecorder = new Sessions.SessionRefusalRecorder(refusals, TimeSpan.FromSeconds(options.Sessions.RecordIntervalSeconds), audit, DescribeUpstream);
            _sessionRefusalRecorder.Start();
        }
        Volatile.Write(ref _ready, 1);
    }

    public GatewayRuntime Runtime => _runtime;
    /// <summary>The first route's pool (the default route's when there is one).</summary>
    public UpstreamPool Pool => _routes.Upstreams[0].Pool;
    public RouteTable Routes => _routes;
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
        // Ready while at least one upstream is up: the routes to the others answer 502 meanwhile (listed by /readyz).
        // An upstream whose oauth credential holds no token counts as down: its routes answer 503 until one is obtained.
        foreach (UpstreamRoute upstream in _routes.Upstreams)
        {
            if (upstream.Health.IsUp && upstream.Credential is not { IsAvailable: false }) return Admin.GatewayReadiness.Ready;
        }
        return Admin.GatewayReadiness.NoUpstreamUp;
    }

    /// <summary>What records call the upstream named <paramref name="name"/>: its url, or stdio:COMMAND.</summary>
    private string? DescribeUpstream(string name)
    {
        foreach (UpstreamRoute route in _routes.Upstreams)
        {
            if (route.Name == name) return route.Describe();
        }
        // A federated path is recorded by its own name ("federation:<path>"), as its exchanges are.
        foreach (Federation.FederatedRoute federated in _routes.Federated)
        {
            if (federated.AuditUpstream == name) return name;
        }
        return null;
    }

    /// <summary>The upstreams marked down now, or without a usable credential, each once (whatever paths lead to it).</summary>
    private List<(string Name, string Reason)> DownUpstreams()
    {
        var down = new List<(string Name, string Reason)>();
        foreach (UpstreamRoute upstream in _routes.Upstreams)
        {
            if (!upstream.Health.IsUp) down.Add((upstream.Name, upstream.Health.Reason));
            else if (upstream.Credential?.UnavailableReason is { } reason) down.Add((upstream.Name, reason));
        }
        return down;
    }

    public IReadOnlyList<IPEndPoint> Endpoints => _listeners.ConvertAll(l => l.LocalEndPoint);
    public IPEndPoint? AdminEndpoint => _admin?.LocalEndPoint;
    public int OpenConnections => _connections.Count;

    private async Task OnConnectionAsync(ConnectionTransport transport, IPEndPoint remote)
    {
        ConnectionSlots.Admission admission = _slots.Admit();
        if (admission == ConnectionSlots.Admission.Refused && EvictOneWaitingOnReserve()) admission = _slots.AdmitInPlaceOfEvicted();
        if (admission == ConnectionSlots.Admission.Refused)
        {
            try
            {
                // Over the limit a TLS connection is closed without a handshake: the 503 would cost one to send.
                if (transport is SocketPipe plain) await Transport.ConnectionRefusal.AnswerAsync(plain).ConfigureAwait(false);
                else transport.Dispose();
            }
            finally
            {
                _slots.Release(admission, authenticated: false);
                Admin.GatewayCounters.Add(ref _runtime.Counters.ConnectionsRefused);
            }
            return;
        }
        if (transport is TlsPipe tls && !await HandshakeAsync(tls, remote).ConfigureAwait(false))
        {
            _slots.Release(admission, authenticated: false);
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

    /// <summary>
    /// The TLS handshake, within timeouts.firstRequestMs (the slot is held meanwhile; a client that never finishes
    /// loses it). A failure is counted by reason and logged at debug level only: scanners and health checks that
    /// open and close TCP connections would otherwise flood the log.
    /// </summary>
    private async Task<bool> HandshakeAsync(TlsPipe tls, IPEndPoint remote)
    {
        TlsHandshakeFailure failure = await _tls!.AcceptAsync(tls, TimeSpan.FromMilliseconds(_runtime.Options.Timeouts.FirstRequestMs)).ConfigureAwait(false);
        if (failure == TlsHandshakeFailure.None)
        {
            if (Log.DebugEnabled && tls.Stream.RemoteCertificate is { } client) Log.Debug($"client {remote.Address}: TLS client certificate \"{client.Subject}\"");
            return true;
        }
        Admin.GatewayCounters.Add(ref _runtime.Counters.TlsHandshakeFailures[(int)failure]);
        if (Log.DebugEnabled) Log.Debug($"client {remote.Address}: TLS handshake failed ({TlsHandshakeFailures.Label(failure)})");
        return false;
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
            while (true)
            {
                try { await Task.Delay(limiter.RecordInterval, _stopRecording.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { }
                // Read before the drain: a stop that comes while this pass records still gets one more pass,
                // so attempts refused during it are not left unrecorded.
                bool last = _stopRecording.IsCancellationRequested;
                foreach ((string? address, long refused) in limiter.DrainRefused())
                {
                    try
                    {
                        await _runtime.Audit!.RecordRefusedAuthenticationAsync(address, refused, limiter.RecordInterval).ConfigureAwait(false);
                    }
                    catch (FastMcp.Audit.AuditUnavailableException)
                    {
                        // One per address and pass: many addresses must not flood the log while the audit log is out.
                        if (_lostAuthenticationLine.TryTake(out int held))
                            Log.Warn($"audit log unavailable: {refused} refused authentication attempt(s) from {address ?? "addresses no longer tracked"} could not be recorded"
                                + LogRateLimit.Held(held));
                    }
                }
                if (last) break;
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
        // A held call the stop cancelled is answered by the gateway itself (-32002 cancelled): that answer reaches its client
        // whatever the deadline, bounded by one client write and the close's linger, so that the client can tell the
        // refusal from a lost connection (and does not blindly call again). Closing it with the others dropped the answer.
        TimeSpan answerBound = deadline + TimeSpan.FromMilliseconds(_runtime.Options.Timeouts.ClientWriteMs) + LingeringClose.Linger;
        while (clock.Elapsed < answerBound && OwesHeldAnswers()) await Task.Delay(20).ConfigureAwait(false);
        if (!_connections.IsEmpty) Log.Warn($"shutdown deadline reached: closing {_connections.Count} connection(s) with exchanges in flight");
        foreach (ClientConnection c in _connections.Keys) c.Abort();
        _stopRecording.Cancel();
        if (_refusalRecorder is not null) await _refusalRecorder.ConfigureAwait(false);
        if (_rateLimitRecorder is not null) await _rateLimitRecorder.StopAsync().ConfigureAwait(false);
        if (_adminRequestRecorder is not null) await _adminRequestRecorder.StopAsync().ConfigureAwait(false);
        if (_sessionRefusalRecorder is not null) await _sessionRefusalRecorder.StopAsync().ConfigureAwait(false);
        _admin?.Dispose();
        await _probe.DisposeAsync().ConfigureAwait(false);
        // Before the pools close; ends still queued are not sent (the upstreams' idle timeouts remain).
        if (_runtime.SessionEnds is { } sessionEnds) await sessionEnds.DisposeAsync().ConfigureAwait(false);
        // After the exchanges: a call still in flight was given its chance to be answered.
        foreach (Upstream.Stdio.StdioBridge bridge in _stdio.Values) await bridge.StopAsync().ConfigureAwait(false);
        _routes.Dispose();
        // Closed connections still unwind: one whose client already has a stream's last bytes writes the stream's end
        // record, an abandoned one its record. The caller seals the audit log once this returns, so they finish first,
        // bounded (neither their client nor, from here, their upstream can hold them).
        var unwinding = Stopwatch.StartNew();
        while (!_connections.IsEmpty && unwinding.Elapsed < LingeringClose.Linger) await Task.Delay(10).ConfigureAwait(false);
        if (!_connections.IsEmpty) Log.Warn($"stop: {_connections.Count} closed connection(s) still running; records they write now may be refused");
        // The spans of the exchanges that just ended go out within one export's timeout.
        if (_runtime.Tracer is { } tracer) await Task.Run(tracer.Dispose).ConfigureAwait(false);
    }

    private bool OwesHeldAnswers()
    {
        foreach (ClientConnection c in _connections.Keys)
        {
            if (c.OwesHeldAnswer) return true;
        }
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_runtime.Stopping) await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
    }
}
