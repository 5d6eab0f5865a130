using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;
using FastMcp.Identity;
using FastMcp.Policy;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;
using FastMcp.Mcp;
using HttpMethod = FastMcp.Http.HttpMethod;
using System.Runtime.CompilerServices;
using System.Diagnostics;

using FastMcp.Gateway.Transport;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// One client connection: reads requests from its pipe one after another (pipelined requests
/// included), runs each through the stages, forwards it and relays the answer.
/// </summary>
internal sealed partial class ClientConnection : IResponseGate, IHoldingConnection, IDisposable
{
    private static readonly byte[] Continue100 = "HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray();
    /// <summary>What a client is told when masking.requests "block" refuses a security code or PIN member (PCI DSS 3.3.1).</summary>
    private static readonly byte[] SensitiveDataRefusal = "request contains sensitive authentication data (a card security code, PIN or PIN block)"u8.ToArray();

    private readonly ConnectionTransport _transport;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly GatewayRuntime _rt;
    private readonly HttpRequestHead _request;
    private readonly Exchange _exchange;
    private readonly PooledBufferWriter _decodedBody = new(4 * 1024);
    private readonly PooledBufferWriter _scratch = new(1024);
    private readonly ResponseRelay _relay;
    private readonly PooledBufferWriter _maskedCopy = new(1024);
    // The request's one card-number scan, read by the policy's containsCardNumber and by request masking (made on first use).
    private FastMcp.Pan.MessageCardScan? _cardScan;
    private readonly AuditRecording.Scratch _auditScratch = new();
    private readonly Clients.ConnectionClient _client;
    // The current stage's timeout (ConnectionDeadline: arming it is a field write).
    private readonly ConnectionDeadline _timer = new();
    private int _idle;
    // The hold-mode approval the current exchange waits on (ApprovalHold); kept until the connection goes on to another
    // request, so that a stop waits for the answer to reach the client and the close (see OwesHeldAnswer).
    private Approvals.PendingApproval? _heldApproval;
    private bool _servedRequest;
    private int _disposed;

    // Admitted on the slots reserved for authenticated connections: the first request must carry a valid token.
    // 1 while it waits to present one (it may be evicted then), 0 once its first request claimed or lost the slot.
    private int _waitingOnReserve;
    private bool _authenticatedSlot;

    public ClientConnection(ConnectionTransport transport, IPEndPoint remote, GatewayRuntime runtime, bool onReserve = false)
    {
        _waitingOnReserve = onReserve ? 1 : 0;
        _transport = transport;
        _input = transport.Input;
        _output = transport.Output;
        _rt = runtime;
        _request = new HttpRequestHead(runtime.Limits);
        _exchange = new Exchange(_request);
        _relay = new ResponseRelay(runtime.Limits, runtime.ResponseTransforms, runtime.Options.Timeouts.ClientWriteMs, () => transport.BytesSent, this, this, this)
        {
            ChecksAnswers = !runtime.Options.Passthrough,
            UnansweredCalls = runtime.UnansweredCalls,
        };
        _client = new Clients.ConnectionClient(remote.Address);
        // Strict audit: a durable record's exchange goes on on this connection's own socket loop.
        _auditScratch.ResumeOn = Transport.Epoll.ReadinessEngine.Of(transport.Loop);
        // Mutual TLS: the certificate the handshake validated is part of who is calling (audit origin.certificate).
        _certificate = transport is Transport.TlsPipe tls ? Clients.ClientCertificate.Of(tls.Stream.RemoteCertificate) : null;
    }

    private readonly Clients.ClientCertificate? _certificate;

    /// <summary>The client the current request is attributed to (behind trusted proxies: the one they name).</summary>
    public string RemoteAddress => _client.Address;

    // Sent upstream as X-Forwarded-For.
    private byte[] _clientAddress => _client.AddressBytes;

    /// <summary>The connection has presented a valid token: it holds a slot out of the unauthenticated share.</summary>
    public bool HoldsAuthenticatedSlot => _authenticatedSlot;

    /// <summary>
    /// Gives up a reserved slot this connection holds without having presented a token (its first request not
    /// started being handled): the socket is closed. False when it has claimed the slot or was evicted already.
    /// </summary>
    public bool TryEvictFromReserve()
    {
        if (Interlocked.CompareExchange(ref _waitingOnReserve, 2, 1) != 1) return false;
        _transport.Dispose();
        return true;
    }

    private void MarkAuthenticated()
    {
        if (_authenticatedSlot) return;
        _authenticatedSlot = true;
        _rt.Slots?.Authenticated();
    }

    /// <summary>
    /// The exchange held for an approval that was not approved (cancelled at stop, denied, expired, or refused as it began):
    /// what it still has to write is the gateway's own JSON-RPC error, bounded by timeouts.clientWriteMs, not an upstream's
    /// answer. A stop lets it reach the client whatever its deadline: a client that loses it cannot tell a refusal from
    /// a network failure, and may call again.
    /// </summary>
    public bool OwesHeldAnswer => Volatile.Read(ref _heldApproval) is { } held && held.State is not (Approvals.ApprovalState.Approved or Approvals.ApprovalState.Executed);

    /// <summary>Asks the connection to close: at once when idle, else after the current exchange.</summary>
    public void RequestStop()
    {
        if (Volatile.Read(ref _idle) != 0) _input.CancelPendingRead();
    }

    public async Task RunAsync()
    {
        try
        {
            if (_rt.ClientAddressing.ProxyProtocol && !await ReadProxyHeaderAsync().ConfigureAwait(false)) return;
            while (!_rt.Stopping)
            {
                // The request head is awaited here rather than in a method of its own: a keep-alive connection waits for
                // every request, and each async level between this loop and the read costs a box, a continuation and a
                // completion per request (ClientConnection.RequestHead.cs).
                BeginRequestHead();
                RequestHeadStep step;
                try
                {
                    do
                    {
                        ReadResult result;
                        try
                        {
                            result = await _input.ReadAsync(_timer.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                            step = RequestHeadTimedOut();
                            break;
                        }
                        step = TakeRequestHead(result);
                    }
                    while (step == RequestHeadStep.ReadMore);
                }
                finally
                {
                    Volatile.Write(ref _idle, 0);
                }
                if (step != RequestHeadStep.Parsed)
                {
                    if (step == RequestHeadStep.Rejected) await RejectAsync(_headRejection).ConfigureAwait(false);
                    break;
                }
                _servedRequest = true;
                _exchange.Reset();
                _admittedTask = null;
                _client.Resolve(_request.Headers, _rt.ClientAddressing);
                _exchange.ClientHop = _client.Hop;
                _exchange.ClientAddress = _client.Ip;
                _exchange.ClientCertificate = _certificate;
                // A trace started here is sampled at tracing.sampleRatio (never without an exporter); a continued one keeps its flag.
                _exchange.Trace = Tracing.TraceContext.Begin(_request.Headers, sampleNewTraces: _rt.Tracer?.SampleNewTrace() ?? false);
                Admin.GatewayCounters.Add(ref _rt.Counters.Requests);
                bool keepAlive;
                try
                {
                    keepAlive = await HandleRequestAsync().ConfigureAwait(false);
                }
                finally
                {
                    try
                    {
                        EndPostBody();
                    }
                    finally
                    {
                        StopTrackingCall();
                        _rt.Tracer?.Record(_exchange, RemoteAddress);
                    }
                }
                _rt.Metrics.RecordExchange(_exchange);
                ReleaseExchangeBuffers();
                if (!keepAlive || _request.ConnectionClose) break;
                Volatile.Write(ref _heldApproval, null);
            }
        }
        catch (ClientWriteTimeoutException e) when (e.BufferedBytes < 0)
        {
            if (_rt.LogRateLimit.TryTake("client write timeout", "", 0, out int held))
                Log.Warn($"client {RemoteAddress}: read nothing of the gateway's answer for {_rt.Options.Timeouts.ClientWriteMs} ms (stage '{ExchangeStages.Name(_exchange.Stage)}'); connection closed" + LogRateLimit.Held(held));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            Log.Debug($"client {RemoteAddress}: connection ended in stage '{ExchangeStages.Name(_exchange.Stage)}': {e.GetType().Name}: {FastMcp.Http.PlainError.Describe(e)}");
        }
        finally
        {
            await Transport.LingeringClose.RunAsync(_input, _output).ConfigureAwait(false);
            Dispose();
        }
    }

    // ---- request head (the framing steps: ClientConnection.RequestHead.cs) ----------------------

    /// <summary>Answers a malformed or oversized request and marks the connection for closing.</summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder))]
    private async ValueTask RejectAsync(HttpRejectReason reason)
    {
        Admin.GatewayCounters.Add(ref _rt.Counters.Rejected);
        int status = reason.StatusCode();
        _exchange.ResponseStatus = status;
        GatewayResponses.WriteJsonRpcError(_output, _scratch, status, JsonRpcErrorCodes.InvalidRequest, Encoding.ASCII.GetBytes(reason.Describe()), close: true);
        await FlushToClientAsync().ConfigureAwait(false);
        Log.Debug($"client {RemoteAddress}: rejected {status} ({reason})");
    }

    // ---- routing ---------------------------------------------------------------------------

    /// <summary>
    /// Handles one request. False: close the connection afterwards. Not itself async, nor are the steps below it up to the
    /// one that waits (a forward, a held call): what completes at once (a token already verified, a record handed to the
    /// audit log) is taken as it is, so an exchange suspends in as few async levels as possible; a step that does wait
    /// goes on in a small async continuation. Whoever awaits it calls <see cref="EndPostBody"/> afterwards.
    /// </summary>
    private ValueTask<bool> HandleRequestAsync()
    {
        if (Volatile.Read(ref _waitingOnReserve) != 0) return ClaimSlotThenHandleAsync();
        return HandleClaimedRequestAsync();
    }

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ClaimSlotThenHandleAsync()
    {
        if (!await ClaimReservedSlotAsync().ConfigureAwait(false)) return false;
        return await HandleClaimedRequestAsync().ConfigureAwait(false);
    }

    private ValueTask<bool> HandleClaimedRequestAsync()
    {
        bool bodyUnread = _request.Framing != BodyFraming.None;
        // Routes are compared byte for byte in order (Upstream/RouteTable.cs): no lookup allocates.
        UpstreamRoute? route = _rt.Routes.Match(_request.Path);
        Federation.FederatedRoute? federated = route is null ? _rt.Routes.MatchFederated(_request.Path) : null;
        if (route is null && federated is null)
        {
            if (_rt.Authentication is { IsAnonymous: false } meta && _request.Method == HttpMethod.Get && meta.IsMetadataPath(_request.Path))
            {
                GatewayResponses.WriteSimple(_output, 200, "application/json"u8, meta.MetadataDocument, close: bodyUnread || ClosesAfterExchange);
                return FlushThenAsync(keepAlive: !bodyUnread);
            }
            return AnswerAsync(404, JsonRpcErrorCodes.InvalidRequest, "no MCP endpoint at this path"u8, bodyUnread);
        }
        _exchange.Route = route;
        _exchange.Federation = federated;
        _sessionRequestEngine = null; // set again when this request is a GET decided by the policy
        _exchange.Stage = ExchangeStage.CheckOrigin;
        if (!_rt.OriginGuard.IsAllowed(_request))
            return AnswerAsync(403, JsonRpcErrorCodes.InvalidRequest, "origin or host not allowed"u8, bodyUnread);
        if (_request.Method is not (HttpMethod.Post or HttpMethod.Get or HttpMethod.Delete))
            return AnswerAsync(405, JsonRpcErrorCodes.InvalidRequest, "method not allowed"u8, bodyUnread, "Allow: GET, POST, DELETE\r\n"u8);
        if (_request.Method != HttpMethod.Post && bodyUnread)
            return AnswerAsync(400, JsonRpcErrorCodes.InvalidRequest, "GET and DELETE take no body"u8, closeAfter: true);
        // The gateway decides on the body as UTF-8 JSON; an upstream that inflates a coding or decodes another charset
        // would run something else. Refused before the body is read (pass-through decides nothing, so it is exempt).
        if (!_rt.Options.Passthrough)
        {
            if (!ContentCoding.IsIdentity(_request.Headers))
                return AnswerAsync(415, JsonRpcErrorCodes.InvalidRequest,
                    "unsupported Content-Encoding: request bodies are inspected as sent, so none but identity is accepted"u8, bodyUnread);
            if (_request.Method == HttpMethod.Post && !JsonMediaType.IsUtf8Json(_request.Headers))
                return AnswerAsync(415, JsonRpcErrorCodes.InvalidRequest,
                    "unsupported Content-Type: a POST body must be application/json in UTF-8 (no parameter but charset=utf-8)"u8, bodyUnread);
        }

        // A client address past its request budget is refused before its token costs anything.
        if (_rt.RateLimits.PerClientAddress is { } perAddress && !perAddress.TryTake(RemoteAddress, out int addressWait))
            return RateLimitedAsync(RateLimiting.RateLimitScope.ClientAddress, addressWait, bodyUnread);

        _exchange.Stage = ExchangeStage.Identify;
        if (_rt.Authentication is { } authentication)
        {
            // A source past its failed-authentication budget is refused before its token costs anything.
            if (_rt.FailedAuthentication is { } limiter && limiter.IsExhausted(RemoteAddress, out int retryAfter))
            {
                return AnswerAsync(429, JsonRpcErrorCodes.Unauthorized, "too many failed authentication attempts from this address"u8, bodyUnread,
                    Encoding.ASCII.GetBytes($"Retry-After: {retryAfter}\r\n"));
            }
            ValueTask<AuthResult> authenticating = authentication.AuthenticateAsync(_request, _certificate);
            if (!authenticating.IsCompletedSuccessfully) return HandleWhenAuthenticatedAsync(authenticating, authentication);
            return HandleAuthenticated(authenticating.Result, authentication);
        }
        _exchange.Principal = Principal.Anonymous;
        return HandleIdentifiedAsync();
    }

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> HandleWhenAuthenticatedAsync(ValueTask<AuthResult> authenticating, Authentication authentication) =>
        await HandleAuthenticated(await authenticating.ConfigureAwait(false), authentication).ConfigureAwait(false);

    private ValueTask<bool> HandleAuthenticated(AuthResult auth, Authentication authentication)
    {
        if (!auth.Succeeded) return RefuseAuthenticationAsync(auth, authentication);
        _exchange.Principal = auth.Principal;
        MarkAuthenticated();
        return HandleIdentifiedAsync();
    }

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RefuseAuthenticationAsync(AuthResult auth, Authentication authentication)
    {
        bool bodyUnread = _request.Framing != BodyFraming.None;
        _rt.Metrics.CountAuthenticationFailure(auth.Failure);
        // Asking for a DPoP nonce is a protocol round trip, not a failed guess: only the holder of a valid token and
        // of its key gets that far, so it spends no failed-authentication budget.
        if (auth.Failure != AuthFailure.UseDpopNonce) _rt.FailedAuthentication?.CountFailure(RemoteAddress);
        await RecordAuthenticationFailureAsync(auth).ConfigureAwait(false);
        int status = ResourceMetadata.StatusCode(auth.Failure);
        return await AnswerAsync(status, JsonRpcErrorCodes.Unauthorized, Encoding.UTF8.GetBytes(auth.Description ?? auth.Failure.ToString()), bodyUnread,
            authentication.ChallengeLines(auth.Failure, _request)).ConfigureAwait(false);
    }

    /// <summary>The caller is known (or anonymous): rate limits, its session, then the request by method.</summary>
    private ValueTask<bool> HandleIdentifiedAsync()
    {
        bool bodyUnread = _request.Framing != BodyFraming.None;
        UpstreamRoute? route = _exchange.Route;
        Federation.FederatedRoute? federated = _exchange.Federation;
        // A subject past its request budget is refused before policy, masking, audit or the upstream do any work.
        if (_rt.RateLimits.PerSubject is { } perSubject && !perSubject.TryTake(_exchange.Principal!.Subject, out int subjectWait))
            return RateLimitedAsync(RateLimiting.RateLimitScope.Subject, subjectWait, bodyUnread);

        // Another caller's session (or, by default, one not seen issued here) is unknown to this caller: 404, as MCP
        // answers an unknown session, whether it is a POST, the GET stream or a DELETE (ClientConnection.Sessions.cs).
        if (route is not null && !SessionIsCallers(route))
            return AnswerAsync(404, JsonRpcErrorCodes.InvalidRequest, "session not found: initialize again"u8, bodyUnread);

        if (_request.Method == HttpMethod.Post) return HandlePostAsync();
        if (federated is not null && _request.Method == HttpMethod.Get) return RelayFederatedStreamsAsync(federated);
        if (federated is not null) return EndFederatedSessionAsync(federated);
        // Nothing reaches the upstream undecided: a GET or DELETE is decided as the session's initialize would be now.
        _exchange.Stage = ExchangeStage.Decide;
        if (!SessionRequestAllowed(route!.Name, out PolicyDecision decision)) return RefuseSessionRequestAsync(decision);
        // Each one is a request the allowing rule lets reach the upstream: it spends that rule's budget as a call does.
        if (!TakeRuleBudget(decision)) return RuleRateLimitedAsync(default);
        // A GET or DELETE has no body, but its header fields go upstream: the request rule applies to them too. The allowing
        // rule's profile (else the default) is that rule, and masks what the GET's stream relays.
        if (_rt.Masking is not null)
        {
            if (PickSessionRequestMasking() is not { } masking) return RefuseMissingProfileAsync();
            if (masking.ApplyToHeaderFields(_exchange, _request) == RequestCardOutcome.BlockedCard)
                return RefuseAsync(default, default, 403, JsonRpcErrorCodes.Forbidden, "request contains a card number"u8.ToArray(), "card number blocked");
        }
        return RecordThenForwardAsync(default, inspectedAsIs: false, default, hasBody: false);
    }

    /// <summary>
    /// A connection admitted on the reserve keeps its slot only if its first request, to the MCP endpoint, carries
    /// a valid token; anything else is answered 503 and the connection closed (limits.reservedAuthenticatedConnections).
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ClaimReservedSlotAsync()
    {
        // Evicted for a newcomer meanwhile: the socket is closing, nothing to answer.
        if (Interlocked.CompareExchange(ref _waitingOnReserve, 0, 1) != 1) return false;
        if (_rt.Authentication is { IsAnonymous: false } authentication && (_rt.Routes.Match(_request.Path) is not null || _rt.Routes.MatchFederated(_request.Path) is not null)
            && _rt.OriginGuard.IsAllowed(_request)
            && !(_rt.FailedAuthentication?.IsExhausted(RemoteAddress, out _) ?? false))
        {
            if ((await authentication.AuthenticateAsync(_request, _certificate).ConfigureAwait(false)).Succeeded)
            {
                MarkAuthenticated();
                return true;
            }
            // A failed token here spends the address's failed-authentication budget like any other.
            _rt.FailedAuthentication?.CountFailure(RemoteAddress);
        }
        Admin.GatewayCounters.Add(ref _rt.Counters.ConnectionsRefused);
        GatewayResponses.WriteJsonRpcError(_output, _scratch, 503, JsonRpcErrorCodes.InvalidRequest,
            "too many open connections: the slots left are reserved for authenticated callers"u8, close: true, "Retry-After: 1\r\n"u8);
        await FlushToClientAsync().ConfigureAwait(false);
        return false;
    }

    /// <summary>Answers with a JSON-RPC error (id null) and says whether the connection stays open.</summary>
    private ValueTask<bool> AnswerAsync(int status, int code, ReadOnlySpan<byte> message, bool closeAfter, ReadOnlySpan<byte> extraHeaders = default)
    {
        _exchange.ResponseStatus = status;
        GatewayResponses.WriteJsonRpcError(_output, _scratch, status, code, message, closeAfter || ClosesAfterExchange, extraHeaders);
        return FlushThenAsync(!closeAfter);
    }

    /// <summary>
    /// The connection closes once this exchange is answered (the client asked, or spoke HTTP/1.0 without keep-alive, or
    /// the gateway is stopping): every final response then says "Connection: close" (RFC 9112 9.6), the gateway's own too.
    /// </summary>
    private bool ClosesAfterExchange => _request.ConnectionClose || _rt.Stopping;

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FlushThenAsync(bool keepAlive)
    {
        await FlushToClientAsync().ConfigureAwait(false);
        return keepAlive;
    }

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder))]
    private async ValueTask RecordAuthenticationFailureAsync(AuthResult auth)
    {
        if (_rt.Audit is not { IsWritable: true } audit) return;
        try
        {
            await audit.RecordAuthenticationFailureAsync(_exchange, _auditScratch, RemoteAddress, auth.Failure.ToString()).ConfigureAwait(false);
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            // The refusal stands either way; the outage itself is recorded by the audit log.
        }
    }

    // ---- POST ------------------------------------------------------------------------------

    // The POST body as read from the pipe (or decoded), released by EndPostBody when the exchange ends.
    private ReadOnlySequence<byte> _postBody;
    private bool _postBodyPending;

    /// <summary>
    /// Reads the body, then handles the message. Not itself async: a body already in the pipe is read without suspending,
    /// and the handling's own task is returned as it is, so a forward suspends in fewer async levels per request.
    /// Whoever awaits it calls <see cref="EndPostBody"/> once it completed or threw.
    /// </summary>
    private ValueTask<bool> HandlePostAsync()
    {
        if (_request.Framing == BodyFraming.None)
        {
            _exchange.ResponseStatus = 400;
            GatewayResponses.WriteJsonRpcError(_output, _scratch, 400, JsonRpcErrorCodes.ParseError, "empty request body"u8, close: ClosesAfterExchange);
            return FlushThenAsync(keepAlive: true);
        }
        ValueTask<bool> read = ReadPostBodyAsync();
        if (!read.IsCompletedSuccessfully) return HandlePostBodyWhenReadAsync(read);
        return HandlePostBody(read.Result);
    }

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> HandlePostBodyWhenReadAsync(ValueTask<bool> read) =>
        await HandlePostBody(await read.ConfigureAwait(false)).ConfigureAwait(false);

    /// <summary>The body was read (false: the connection ends, anything owed was answered): the message is handled.</summary>
    private ValueTask<bool> HandlePostBody(bool read)
    {
        if (!read) return new ValueTask<bool>(false);
        _postBodyPending = true;
        _exchange.Body = _postBody;
        return HandleMcpMessageAsync(_postBody);
    }

    /// <summary>Reads the POST body into <see cref="_postBody"/>. False: the connection ends (a rejection was written, or the client left).</summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadPostBodyAsync()
    {
        if (_request.ExpectsContinue)
        {
            _output.Write(Continue100);
            await FlushToClientAsync().ConfigureAwait(false);
        }

        bool bodyInPipe = _request.Framing == BodyFraming.ContentLength;
        _bodyInPipe = bodyInPipe;
        _bodyReleased = false;
        ArmTimer(_rt.Options.Timeouts.RequestBodyMs);
        if (bodyInPipe)
        {
            ReadResult result;
            try
            {
                // A shutdown's CancelPendingRead can land just after the head was read: read on.
                while ((result = await _input.ReadAtLeastAsync((int)_request.ContentLength, _timer.Token).ConfigureAwait(false)).IsCanceled
                    && !result.IsCompleted && result.Buffer.Length < _request.ContentLength)
                {
                    _input.AdvanceTo(result.Buffer.Start);
                }
            }
            catch (OperationCanceledException)
            {
                await RejectAsync(HttpRejectReason.BodyTimeout).ConfigureAwait(false);
                return false;
            }
            if (result.Buffer.Length < _request.ContentLength)
            {
                _input.AdvanceTo(result.Buffer.End);
                return false; // client closed mid-body: nothing to answer
            }
            _postBody = result.Buffer.Slice(0, _request.ContentLength);
            return true;
        }
        _decodedBody.Clear();
        BodyReadResult read = await BodyReader.ReadWholeAsync(_input, BodyFraming.Chunked, -1, _decodedBody, _rt.Limits.MaxRequestBodyBytes, _rt.Limits, _timer.Token)
            .ConfigureAwait(false);
        switch (read)
        {
            case BodyReadResult.Complete:
                break;
            case BodyReadResult.TooLarge:
                await RejectAsync(HttpRejectReason.BodyTooLarge).ConfigureAwait(false);
                return false;
            case BodyReadResult.TimedOut:
                await RejectAsync(HttpRejectReason.BodyTimeout).ConfigureAwait(false);
                return false;
            case BodyReadResult.Invalid:
                await RejectAsync(HttpRejectReason.InvalidChunkSize).ConfigureAwait(false);
                return false;
            default:
                return false;
        }
        _postBody = new ReadOnlySequence<byte>(_decodedBody.WrittenMemory);
        return true;
    }

    /// <summary>The exchange of a POST whose body was read is over (or failed): the pipe and the body buffers are released.</summary>
    private void EndPostBody()
    {
        if (!_postBodyPending) return;
        _postBodyPending = false;
        ReadOnlySequence<byte> body = _postBody;
        _postBody = default;
        // A held approval may have copied the body and released the pipe already.
        if (_bodyInPipe && !_bodyReleased) _input.AdvanceTo(body.End);
        _decodedBody.TrimTo(64 * 1024);
        _heldBody.Clear();
        _heldBody.TrimTo(64 * 1024);
    }

    /// <summary>
    /// Inspects the message and hands it to what handles its kind. Not itself async (every path ends in the task of the
    /// method it hands over to), so it adds no async level to a forward.
    /// </summary>
    private ValueTask<bool> HandleMcpMessageAsync(ReadOnlySequence<byte> body)
    {
        if (_rt.Options.Passthrough) return ForwardAsync(body, hasBody: true);

        _exchange.Stage = ExchangeStage.Inspect;
        McpInspectError inspectError = McpInspector.Inspect(body, out _exchange.Call);
        if (inspectError != McpInspectError.None)
            return AnswerAsync(McpRejections.HttpStatus(inspectError), McpRejections.JsonRpcCode(inspectError), McpRejections.Message(inspectError), closeAfter: false);
        _exchange.HasCall = true;
        ref McpCall call = ref _exchange.Call;
        _exchange.ToolLabel = _rt.Metrics.ToolIndex(body, call);
        if (_rt.Tracer is not null) Tracing.Tracer.CaptureCall(_exchange, body);
        // A federated path: the gateway holds the session and routes by prefix (ClientConnection.Federation.cs).
        if (_exchange.Federation is { } federation) return HandleFederatedMessageAsync(federation, body);
        MessageRoute route = MessageRouting.For(call.Kind);
        switch (route)
        {
            case MessageRoute.Batch:
                return HandleBatchAsync(body);
            case MessageRoute.Decide:
            case MessageRoute.AnswerToServer:
                break;
            default:
                // A message kind without a route is refused, never forwarded undecided.
                return AnswerAsync(400, JsonRpcErrorCodes.InvalidRequest, "Invalid request: message kind not handled"u8, closeAfter: false);
        }

        McpHeaderMismatch mismatch = McpHeaderCheck.Check(body, call,
            _request.Headers.Get(KnownHeader.McpMethod), _request.Headers.Get(KnownHeader.McpName), _request.Headers.Get(KnownHeader.McpProtocolVersion));
        if (mismatch != McpHeaderMismatch.None)
        {
            _exchange.ResponseStatus = 400;
            GatewayResponses.WriteJsonRpcError(_output, _scratch, 400, body, call.IdRange, JsonRpcErrorCodes.HeaderMismatch, McpRejections.Message(mismatch), close: ClosesAfterExchange);
            return FlushThenAsync(keepAlive: true);
        }
        return DecideMaskRecordForwardAsync(body, route, inspected: true);
    }

    /// <summary>
    /// Policy, request masking, the audit record, then the upstream of <see cref="Exchange.Route"/>. <paramref name="inspected"/>:
    /// <paramref name="body"/> is the one McpInspector validated (not a rewrite of it).
    /// </summary>
    private ValueTask<bool> DecideMaskRecordForwardAsync(ReadOnlySequence<byte> body, MessageRoute route, bool inspected = false)
    {
        ref McpCall call = ref _exchange.Call;
        // Requests and notifications are decided by policy on what the client sent (a containsCardNumber rule must
        // see the card numbers); responses to server requests pass. The decision is acted on after masking, so that
        // whatever is forwarded, recorded or shown to approvers is masked.
        PolicyDecision? decision = null;
        _exchange.Stage = ExchangeStage.Decide;
        FastMcp.Pan.MessageCardScan? cards = ScanForCards(body);
        if (_rt.Authorization is { } authorization && route == MessageRoute.Decide)
        {
            _exchange.Times.DecideStart = Stopwatch.GetTimestamp();
            _exchange.DecidedUnder = authorization.Engine;
            decision = authorization.Decide(_exchange.Principal!, call, body, _scratch, _exchange.Route!.Name, _request.Query, _exchange.ClientAddress, cards);
            _exchange.Times.DecideEnd = Stopwatch.GetTimestamp();
            _exchange.Decision = decision;
            if (!TakeRuleBudget(decision.Value))
                return RuleRateLimitedAsync(body);
            // A held call is decided again once approved (ApprovalHold), on what the client sent: masking is about to
            // change the body and query in place. Held calls only, off the hot path.
            if (decision.Value is { Action: PolicyAction.RequireApproval, Rule.ApprovalMode: ApprovalMode.Hold }) KeepHeldCallAsSent(body);
        }

        // Card numbers in the request: masked in place (body and mirroring headers), or forwarded as sent, or
        // blocked; what is recorded is always masked (docs/pan-detection.md).
        _exchange.Stage = ExchangeStage.MaskRequest;
        ReadOnlySequence<byte> recorded = body;
        ApprovalRequestView? approversView = null;
        if (_rt.Masking is { } masking)
        {
            PanMasking defaultMasking = masking;
            // An allow rule may pick a masking profile for the exchange it forwards, a require_approval rule for the call
            // once approved or granted (checked to exist at load; should it be missing all the same, the call is masked by
            // default and refused).
            string? missingProfile = null;
            if (PanMasking.ProfileFor(decision) is { } profile)
            {
                if (masking.Profile(profile) is { } picked) masking = picked;
                else missingProfile = profile;
            }
            // Approvers are shown a held call masked with the default, before the profile masks it for the caller.
            bool unshowable = false;
            if (decision is { Action: PolicyAction.RequireApproval } && masking != defaultMasking)
            {
                approversView = DescribeForApprovers(defaultMasking, body);
                unshowable = approversView is null;
            }
            _exchange.Masking = masking;
            RequestCardOutcome outcome = masking.ApplyToRequest(_exchange, body, _request, _maskedCopy, out recorded, cards);
            _exchange.Recorded = recorded;
            if (missingProfile is not null)
                return RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.Forbidden, "the masking profile this call needs is not configured"u8.ToArray(),
                    $"masking profile '{missingProfile}' missing");
            if (outcome == RequestCardOutcome.BlockedCard || unshowable)
                return RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.Forbidden, "request contains a card number"u8.ToArray(), "card number blocked");
            if (outcome == RequestCardOutcome.BlockedNumber)
                return RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.Forbidden, "request contains a card number written as a JSON number"u8.ToArray(),
                    "card number blocked (JSON number)");
            if (outcome == RequestCardOutcome.BlockedSensitiveData)
                return RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.Forbidden, SensitiveDataRefusal, "sensitive authentication data blocked");
        }

        _exchange.Recorded = recorded;

        // An answer to a server request the gateway denied (and answered itself) never reaches the upstream.
        if (route == MessageRoute.AnswerToServer && AnswersDeniedServerRequest(body))
            return RefuseAsync(body, recorded, 403, JsonRpcErrorCodes.InvalidRequest,
                "this answers a server request the gateway's policy denied: the client was never sent it, and the upstream has had the gateway's answer"u8.ToArray(),
                "answer to a denied server request");
        // A task that is not the caller's is refused whatever the policy says, as an unknown task (ClientConnection.Tasks.cs);
        // an answer to a server request naming one gets 403, as an answer the gateway refuses does.
        string? taskRefusal = TaskRefusal(body, route);
        if (taskRefusal is null && _taskApproval is { } remoteApproval)
            return ConfirmTaskApprovalThenActAsync(remoteApproval, body, recorded, route, decision, approversView, inspected);
        return ActOnDecision(body, recorded, route, decision, approversView, inspected, taskRefusal);
    }

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ConfirmTaskApprovalThenActAsync(Tasks.RemoteTaskApproval remoteApproval, ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded,
        MessageRoute route, PolicyDecision? decision, ApprovalRequestView? approversView, bool inspected)
    {
        string? taskRefusal = await ConfirmTaskApprovalAsync(remoteApproval).ConfigureAwait(false);
        return await ActOnDecision(body, recorded, route, decision, approversView, inspected, taskRefusal).ConfigureAwait(false);
    }

    /// <summary>The rest of <see cref="DecideMaskRecordForwardAsync"/>: a task refusal, the decision, a cancellation, then the record and the forward.</summary>
    private ValueTask<bool> ActOnDecision(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, MessageRoute route, PolicyDecision? decision,
        ApprovalRequestView? approversView, bool inspected, string? taskRefusal)
    {
        if (taskRefusal is not null)
        {
            // The caller's own task, whose creating call the policy no longer allows: said plainly (it is theirs).
            if (_taskCallRefused)
            {
                _exchange.Decision = PolicyEngine.RefuseTaskCallNotAllowed();
                return RefuseAsync(body, recorded, route == MessageRoute.AnswerToServer ? 403 : 200, JsonRpcErrorCodes.Forbidden,
                    Encoding.UTF8.GetBytes(TaskCallNotAllowed + taskRefusal), taskRefusal);
            }
            _exchange.Decision = PolicyEngine.RefuseTaskNotYours();
            return RefuseAsync(body, recorded, route == MessageRoute.AnswerToServer ? 403 : 200, JsonRpcErrorCodes.InvalidParams, TaskNotFound, taskRefusal);
        }

        if (decision is { } d)
        {
            if (d.Action == PolicyAction.Deny)
                return RefuseAsync(body, recorded, 200, PolicyAuthorization.ClientErrorCode(d), Encoding.UTF8.GetBytes(d.Message), $"denied by {(d.Rule?.Name ?? "default")}");
            if (d.Action == PolicyAction.RequireApproval)
                return RequireApprovalAsync(body, recorded, d, approversView);
        }

        // A cancellation the policy allows is forwarded only for the caller's own call in flight there (ClientConnection.Cancellations.cs).
        if (_exchange.Call.Method == McpMethod.NotificationsCancelled && route == MessageRoute.Decide) return CancelOrRecordThenForwardAsync(body, recorded, inspected);
        return RecordThenForwardInspected(body, recorded, inspected);
    }

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> CancelOrRecordThenForwardAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, bool inspected)
    {
        if (await CancellationStopsAsync(body, recorded).ConfigureAwait(false) is { } cancelled) return cancelled;
        return await RecordThenForwardInspected(body, recorded, inspected).ConfigureAwait(false);
    }

    private ValueTask<bool> RecordThenForwardInspected(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, bool inspected)
    {
        // No card found: nothing was masked, so what is recorded is the inspected body itself, valid JSON.
        bool inspectedAsIs = inspected && _exchange.RequestCards.Count == 0 && recorded.Start.Equals(body.Start) && recorded.End.Equals(body.End);
        return RecordThenForwardAsync(recorded, inspectedAsIs, body, hasBody: true);
    }

    /// <summary>
    /// With masking on, the request body as the client sent it is scanned for card numbers once, before the policy: the
    /// policy's containsCardNumber and request masking both read this scan (docs/pan-detection.md, "One scan per request").
    /// Null for a body over several pipe segments: each then scans what it reads, as before.
    /// </summary>
    private FastMcp.Pan.MessageCardScan? ScanForCards(in ReadOnlySequence<byte> body)
    {
        if (_rt.Masking is not { } masking || !body.IsSingleSegment) return null;
        FastMcp.Pan.MessageCardScan scan = _cardScan ??= new FastMcp.Pan.MessageCardScan();
        scan.Scan(body.FirstSpan, masking.Masker);
        return scan;
    }

    /// <summary>
    /// Counts a refusal with the policy's denials and records it (when auditing is on); false when the audit log could
    /// not take the record, and the caller must answer that instead (fail closed).
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> CountAndRecordDenialAsync(ReadOnlySequence<byte> recorded, string reason)
    {
        Admin.GatewayCounters.Add(ref _rt.Counters.PolicyDenied);
        if (_rt.Audit is not { } audit) return true;
        try
        {
            await audit.RecordDenialAsync(_exchange, _auditScratch, RemoteAddress, recorded, reason).ConfigureAwait(false);
            return true;
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            return false;
        }
    }

    /// <summary>
    /// A call the gateway itself refuses never reaches the upstream: the client gets a JSON-RPC
    /// error with its id (HTTP 200 for requests, as MCP clients expect), and the refusal is recorded.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RefuseAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, int status, int code, byte[] message, string reason)
    {
        if (!await CountAndRecordDenialAsync(recorded, reason).ConfigureAwait(false))
            return await AuditUnavailableAsync(body).ConfigureAwait(false);
        // A notification has no id to answer: it gets a plain 403 with a JSON-RPC error body.
        if (_exchange.Call.Kind == McpMessageKind.Notification) status = 403;
        _exchange.ResponseStatus = status;
        GatewayResponses.WriteJsonRpcError(_output, _scratch, status, body, _exchange.Call.IdRange, code, message, close: ClosesAfterExchange);
        await FlushToClientAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>Strict audit: the request is recorded durably before it is forwarded, or not forwarded at all.</summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RecordRequestOrRefuseAsync(ReadOnlySequence<byte> recorded, bool inspectedAsIs = false)
    {
        _exchange.Stage = ExchangeStage.RecordRequest;
        if (_rt.Audit is not { } audit) return true;
        try
        {
            if (!audit.IsWritable) throw new FastMcp.Audit.AuditUnavailableException("audit log not writable");
            long waitStart = _exchange.Times.RecordStart = Stopwatch.GetTimestamp();
            await audit.RecordRequestAsync(_exchange, _auditScratch, RemoteAddress, recorded, inspectedAsIs).ConfigureAwait(false);
            _exchange.Times.RecordEnd = Stopwatch.GetTimestamp();
            _rt.Metrics.AuditWait.ObserveSince(waitStart);
            return true;
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            await AuditUnavailableAsync(_exchange.Body).ConfigureAwait(false);
            return false;
        }
    }

    /// <summary>
    /// Records the request (<see cref="RecordRequestOrRefuseAsync"/>), then forwards it. A record that completes at once
    /// (Batched, or no audit) hands over to the forward's own task: no async level of its own between the two.
    /// </summary>
    private ValueTask<bool> RecordThenForwardAsync(ReadOnlySequence<byte> recorded, bool inspectedAsIs, ReadOnlySequence<byte> body, bool hasBody)
    {
        ValueTask<bool> recording = RecordRequestOrRefuseAsync(recorded, inspectedAsIs);
        if (!recording.IsCompletedSuccessfully) return ForwardWhenRecordedAsync(recording, body, hasBody);
        return recording.Result ? ForwardAsync(body, hasBody) : new ValueTask<bool>(true);
    }

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ForwardWhenRecordedAsync(ValueTask<bool> recording, ReadOnlySequence<byte> body, bool hasBody) =>
        !await recording.ConfigureAwait(false) || await ForwardAsync(body, hasBody).ConfigureAwait(false);

    /// <summary>A record the audit log refused on a path that goes on without it: counted, and said in the log line <paramref name="line"/>.</summary>
    private void RecordLost(string line)
    {
        Admin.GatewayCounters.Add(ref _rt.Counters.AuditUnavailable);
        LogLostRecord(line);
    }

    // Once per stream or event while the audit log is out: rate-limited per line (the audit log reports the outage itself).
    private void LogLostRecord(string line)
    {
        if (_rt.LogRateLimit.TryTake("record lost", line, 0, out int held)) Log.Error(line + LogRateLimit.Held(held));
    }

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> AuditUnavailableAsync(ReadOnlySequence<byte> body)
    {
        Admin.GatewayCounters.Add(ref _rt.Counters.AuditUnavailable);
        _exchange.ResponseStatus = 503;
        Range id = _exchange.HasCall ? _exchange.Call.IdRange : default;
        GatewayResponses.WriteJsonRpcError(_output, _scratch, 503, body, id, JsonRpcErrorCodes.AuditUnavailable,
            "audit log unavailable: nothing is forwarded unrecorded"u8, close: ClosesAfterExchange, "Retry-After: 1\r\n"u8);
        await FlushToClientAsync().ConfigureAwait(false);
        return true;
    }

    // ---- response gate (audit of responses) ---------------------------------------------------

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    public async ValueTask<bool> BeforeReleaseAsync(Exchange exchange, ReadOnlyMemory<byte> message, bool viewed)
    {
        exchange.Stage = ExchangeStage.RecordResponse;
        if (_rt.Audit is not { } audit) return true;
        try
        {
            await audit.RecordResponseAsync(exchange, _auditScratch, RemoteAddress, message, viewed).ConfigureAwait(false);
            return true;
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            return false;
        }
    }

    public bool RecordStreamMessage(Exchange exchange, ReadOnlyMemory<byte> message, in McpResponseView view)
    {
        if (_rt.Audit is not { } audit) return true;
        exchange.Stage = ExchangeStage.RecordResponse;
        try
        {
            audit.RecordStreamMessage(exchange, _auditScratch, RemoteAddress, message, view);
            return true;
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            RecordLost("audit log unavailable on an event stream: a message was not relayed and the stream was ended");
            return false;
        }
    }

    public void RecordWithheldEvent(Exchange exchange, ReadOnlyMemory<byte> data, WithheldEventReason reason)
    {
        Admin.GatewayCounters.Add(ref _rt.Counters.UpstreamErrors);
        // One per event an upstream sends: rate-limited per upstream and reason.
        string upstream = exchange.Route is { } route ? route.Describe() : _rt.Options.Upstream.Describe();
        if (_rt.LogRateLimit.TryTake("withheld event", upstream, (int)reason, out int held))
        {
            Log.Warn(reason switch
            {
                WithheldEventReason.Unreadable => $"event stream of {upstream}: an upstream event was not a readable JSON-RPC message; it was withheld and the stream ended",
                WithheldEventReason.Undecodable => $"event stream of {upstream}: an upstream event was not UTF-8 text; it was withheld and the stream ended",
                WithheldEventReason.TooLarge => $"event stream of {upstream}: an upstream event had not ended within limits.maxResponseMessageBytes; it was withheld and the stream ended",
                WithheldEventReason.UnaskedAnswer => $"event stream of {upstream}: a JSON-RPC answer to a request it was not sent on this stream; it was withheld and the stream ended",
                _ => $"event stream of {upstream}: an upstream event could not be made safe for the client; it was withheld and the stream ended",
            } + LogRateLimit.Held(held));
        }
        if (_rt.Audit is not { } audit) return;
        exchange.Stage = ExchangeStage.RecordResponse;
        try
        {
            audit.RecordWithheldEvent(exchange, _auditScratch, RemoteAddress, data, reason);
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            RecordLost("audit log unavailable on an event stream: a withheld event has no record (the outage is recorded)");
        }
    }

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder))]
    public async ValueTask AfterStreamAsync(Exchange exchange, ReadOnlyMemory<byte> answer, bool viewed)
    {
        exchange.Stage = ExchangeStage.RecordResponse;
        if (_rt.Audit is not { } audit) return;
        try
        {
            await audit.RecordStreamEndAsync(exchange, _auditScratch, RemoteAddress, answer, viewed).ConfigureAwait(false);
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            LogLostRecord("audit log unavailable at the end of an event stream: its response record is missing (the outage is recorded)");
        }
    }


    // ---- held exchanges (Stages/ApprovalHold.cs calls these through IHoldingConnection) ----------------

    // The held call's body and query as the client sent them, for its decision once approved (IHoldingConnection.DecideHeldCallAgain).
    private byte[]? _heldBodyAsSent;
    private byte[]? _heldQueryAsSent;

    private void KeepHeldCallAsSent(ReadOnlySequence<byte> body)
    {
        _heldBodyAsSent = body.ToArray();
        _heldQueryAsSent = _request.Query.ToArray();
    }

    /// <summary>
    /// The held call decided under the policy in force now, on the call as the client sent it (the same body ranges: masking
    /// keeps every length), for the upstream it was held for. Null without a policy or a kept copy. The copy is dropped.
    /// </summary>
    PolicyDecision? IHoldingConnection.DecideHeldCallAgain()
    {
        byte[]? body = _heldBodyAsSent, query = _heldQueryAsSent;
        (_heldBodyAsSent, _heldQueryAsSent) = (null, null);
        if (_rt.Authorization is not { } authorization || body is null) return null;
        return authorization.Decide(_exchange.Principal!, _exchange.Call, new ReadOnlySequence<byte>(body), _scratch, _exchange.Route!.Name, query, _exchange.ClientAddress);
    }

    void IHoldingConnection.ForgetHeldCall() => (_heldBodyAsSent, _heldQueryAsSent) = (null, null);

    async ValueTask<AuthResult?> IHoldingConnection.ReauthenticateHeldCallerAsync()
    {
        if (_rt.Authentication is not { IsAnonymous: false } authentication) return null;
        return await authentication.ReauthenticateHeldAsync(_request, _certificate).ConfigureAwait(false);
    }

    private readonly PooledBufferWriter _heldBody = new(0);
    private bool _bodyInPipe;
    private bool _bodyReleased;

    /// <summary>A call a require_approval rule stopped: its own hold decides what happens (docs/approvals.md).</summary>
    private ValueTask<bool> RequireApprovalAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, PolicyDecision decision, ApprovalRequestView? view)
    {
        _exchange.Stage = ExchangeStage.Hold;
        return new ApprovalHold(this).RunAsync(body, recorded, decision, view);
    }

    /// <summary>
    /// Copies a request body that still lies in the client pipe into the connection's own buffer and releases the
    /// pipe, so it can be read again (watched for the client leaving) while the exchange goes on. Every view of the
    /// body (the exchange's, the recorded copy when it is the body itself) moves with it. Returns the body to use.
    /// </summary>
    private ReadOnlySequence<byte> TakeBodyOutOfPipe(ReadOnlySequence<byte> body)
    {
        if (!_bodyInPipe || _bodyReleased) return body;
        SequencePosition start = body.Start;
        _heldBody.Clear();
        foreach (ReadOnlyMemory<byte> m in body) _heldBody.Write(m.Span);
        _input.AdvanceTo(body.End);
        _bodyReleased = true;
        var held = new ReadOnlySequence<byte>(_heldBody.WrittenMemory);
        if (_exchange.Recorded.Start.Equals(start)) _exchange.Recorded = held;
        if (_batchRecorded.Start.Equals(start)) _batchRecorded = held;
        _exchange.Body = held;
        return held;
    }

    /// <summary>
    /// Completes with true when the client closed its side, false when it sent more bytes (pipelining) or the watch was
    /// cancelled. Pooled: every event-stream response runs one (it allocated two state-machine boxes per call before).
    /// Awaited once; the hold and the federated stream, which race it against other tasks, take it as a Task.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WatchForClientLeavingAsync()
    {
        try
        {
            ReadResult result = await _input.ReadAsync().ConfigureAwait(false);
            bool gone = result.IsCompleted && result.Buffer.IsEmpty && !result.IsCanceled;
            _input.AdvanceTo(result.Buffer.Start);
            return gone;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            return true;
        }
    }


    /// <summary>
    /// Forwards an approved call and relays the answer into the event stream the hold already opened to the client.
    /// Sent is false when the request never reached the upstream (Error says why).
    /// </summary>
    private async ValueTask<(bool Sent, ForwardingError Error, bool MustClose)> ForwardIntoOpenStreamAsync(ReadOnlySequence<byte> body, bool chunked)
    {
        _exchange.Stage = ExchangeStage.Forward;
        UpstreamRoute route = _exchange.Route!;
        ArmTimer(route.Options.ResponseTimeoutMs);
        Forwarder forwarder = route.Forwarder;
        _exchange.Times.ForwardStart = Stopwatch.GetTimestamp();
        InFlight.InFlightCall? inFlight = TrackCallInFlight(body);
        (ForwardingError error, UpstreamConnection? upstream, byte[] credentialLine) = await forwarder.SendRequestAsync(_request, _exchange.SealedTask.Forwarded(body), true,
            _clientAddress, _rt.PublicScheme, route.Credential, _exchange.Trace, _transport.Loop, _timer.Token, _memberSessionLine, _exchange.SealedSession.UpstreamLine,
            inFlight).ConfigureAwait(false);
        if (error == ForwardingError.None)
        {
            (error, _) = await forwarder.ReadHeadAsync(upstream!, _request.Method == HttpMethod.Head, _timer.Token).ConfigureAwait(false);
            upstream = Forwarder.EndHeadWait(upstream!, error, _request, route.Credential, credentialLine);
        }
        ReportHealth(route, error);
        if (error != ForwardingError.None) return (false, error, false);
        BindIssuedSession(route, upstream!.ResponseHead);
        MarkApprovalExecuted(upstream!.ResponseHead.StatusCode);
        _exchange.Times.ForwardEnd = Stopwatch.GetTimestamp();
        _exchange.Times.UpstreamStatus = upstream!.ResponseHead.StatusCode;
        // An upstream event stream relayed into the held one ends with the token as any POST answer stream does (streamsEndWithToken "all").
        if (upstream.ResponseHead.IsEventStream && upstream.ResponseHead.Framing != BodyFraming.None) WatchStream(upstream.Input);
        try
        {
            (ForwardingError relayError, bool mustClose) = await _relay.RelayIntoOpenStreamAsync(upstream!, _output, _exchange, chunked, _rt.Audit is null ? null : this, _timer.Token)
                .ConfigureAwait(false);
            return (true, relayError, mustClose);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            upstream!.Broken = true;
            if (e is ClientWriteTimeoutException { BufferedBytes: >= 0 } timeout) await RecordAbandonedResponseAsync(timeout).ConfigureAwait(false);
            throw;
        }
        finally
        {
            StopWatchingStream(upstream);
            Admin.GatewayCounters.Max(ref _rt.Counters.PeakBufferedResponseBytes, _relay.PeakBufferedBytes);
            forwarder.Pool.Return(upstream!);
        }
    }

    GatewayRuntime IHoldingConnection.Runtime => _rt;
    Exchange IHoldingConnection.Exchange => _exchange;
    HttpRequestHead IHoldingConnection.Request => _request;
    PipeWriter IHoldingConnection.Output => _output;

    /// <summary>Flushes what the gateway wrote itself within timeouts.clientWriteMs (<see cref="ClientFlush"/>).</summary>
    private ValueTask<FlushResult> FlushToClientAsync() => ClientFlush.WithinAsync(_output, _rt.Options.Timeouts.ClientWriteMs, _rt.Counters);

    ValueTask<FlushResult> IHoldingConnection.FlushToClientAsync() => FlushToClientAsync();
    PooledBufferWriter IHoldingConnection.Scratch => _scratch;
    AuditRecording.Scratch IHoldingConnection.AuditScratch => _auditScratch;
    ValueTask<bool> IHoldingConnection.RefuseAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, int status, int code, byte[] message, string reason) =>
        RefuseAsync(body, recorded, status, code, message, reason);
    ValueTask<bool> IHoldingConnection.RecordRequestOrRefuseAsync(ReadOnlySequence<byte> recorded) => RecordRequestOrRefuseAsync(recorded);
    ValueTask<bool> IHoldingConnection.AuditUnavailableAsync(ReadOnlySequence<byte> body) => AuditUnavailableAsync(body);
    ValueTask<bool> IHoldingConnection.ForwardAsync(ReadOnlySequence<byte> body) => ForwardAsync(body, hasBody: true);
    ValueTask<(bool Sent, ForwardingError Error, bool MustClose)> IHoldingConnection.ForwardIntoOpenStreamAsync(ReadOnlySequence<byte> body, bool chunked) =>
        ForwardIntoOpenStreamAsync(body, chunked);
    ReadOnlySequence<byte> IHoldingConnection.TakeBodyOutOfPipe(ReadOnlySequence<byte> body) => TakeBodyOutOfPipe(body);
    Task<bool> IHoldingConnection.WatchForClientLeavingAsync() => WatchForClientLeavingAsync().AsTask();
    void IHoldingConnection.StopWatchingClient() => _input.CancelPendingRead();
    void IHoldingConnection.Holds(Approvals.PendingApproval approval)
    {
        Volatile.Write(ref _heldApproval, approval);
        // Held, it is the caller's call in flight all the same: its own cancellation withdraws it.
        TrackCallInFlight(_exchange.Body, approval);
    }


    // ---- forward and relay -----------------------------------------------------------------

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ForwardAsync(ReadOnlySequence<byte> body, bool hasBody)
    {
        _exchange.Stage = ExchangeStage.Forward;
        UpstreamRoute route = _exchange.Route!;
        ArmTimer(route.Options.ResponseTimeoutMs);
        Forwarder forwarder = route.Forwarder;
        long sent = _exchange.Times.ForwardStart = Stopwatch.GetTimestamp();
        // In flight from before the upstream can read it: once it was written, the caller's own cancellation of it is forwarded.
        InFlight.InFlightCall? inFlight = TrackCallInFlight(body);
        // A sealed task id was opened: the upstream gets its own id (Tasks/SealedTaskBody.cs); the client's body stays the exchange's.
        (ForwardingError error, UpstreamConnection? upstream, byte[] credentialLine) = await forwarder.SendRequestAsync(_request, _exchange.SealedTask.Forwarded(body), hasBody,
            _clientAddress, _rt.PublicScheme, route.Credential, _exchange.Trace, _transport.Loop, _timer.Token, _memberSessionLine, _exchange.SealedSession.UpstreamLine,
            inFlight).ConfigureAwait(false);
        if (error == ForwardingError.None)
        {
            // The response head is awaited here rather than in the forwarder: every forward suspends on it, and each async
            // level between the connection's loop and the read costs a box, a continuation and a completion per request.
            PipeReader upstreamInput = upstream!.Input;
            bool requestWasHead = _request.Method == HttpMethod.Head;
            var framer = new HeadFramer();
            bool sawBytes = false;
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await upstreamInput.ReadAsync(_timer.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (Forwarder.ReadFailure(e) is { } failure)
                {
                    error = failure;
                    break;
                }
                if (forwarder.TakeHead(upstream, result, ref framer, requestWasHead, ref sawBytes, out error)) break;
            }
            upstream = Forwarder.EndHeadWait(upstream, error, _request, route.Credential, credentialLine);
        }
        // Only an approved held call can be withdrawn (a call that was not held is tracked as already being forwarded).
        if (error == ForwardingError.Withdrawn) return await new ApprovalHold(this).EndWithdrawnAsync(body, sse: false, chunked: false).ConfigureAwait(false);
        ReportHealth(route, error);
        if (error == ForwardingError.None)
        {
            _exchange.Times.ForwardEnd = Stopwatch.GetTimestamp();
            _exchange.Times.UpstreamStatus = upstream!.ResponseHead.StatusCode;
            _rt.Metrics.Upstream.ObserveSince(sent);
            BindIssuedSession(route, upstream.ResponseHead);
            ForgetEndedSession(route);
        }
        if (_exchange.Approval is not null) MarkApprovalExecuted(error == ForwardingError.None ? upstream!.ResponseHead.StatusCode : error.StatusCode());
        if (error != ForwardingError.None)
        {
            await AnswerForwardingErrorAsync(error, body).ConfigureAwait(false);
            return true;
        }
        bool clientClose = _request.ConnectionClose || _rt.Stopping;
        // An event stream can be quiet for minutes: watch the client meanwhile, so a client that leaves ends the
        // upstream exchange at once instead of at the next event (the upstream keeps a session's stream open
        // until then and refuses to open another).
        // A pooled ValueTask: awaited exactly once, by whichever StopClientWatchAsync runs first (watching says).
        ValueTask<bool> clientWatch = default;
        bool watching = false;
        if (upstream!.ResponseHead.IsEventStream)
        {
            // The body leaves the pipe first (one copy, event streams only), so the pipe can be read meanwhile.
            if (hasBody) body = TakeBodyOutOfPipe(body);
            clientWatch = WatchClientWhileStreamingAsync(upstream);
            watching = true;
            if (upstream.ResponseHead.Framing != BodyFraming.None) WatchStream(upstream.Input);
        }
        try
        {
            (ForwardingError relayError, bool mustClose) = await _relay.RelayAsync(upstream!, _output, _exchange, _request.IsHttp11, clientClose, _rt.Audit is null ? null : this, _timer.Token)
                .ConfigureAwait(false);
            if (watching)
            {
                watching = false;
                if (await StopClientWatchAsync(clientWatch).ConfigureAwait(false)) return false;
            }
            if (relayError == ForwardingError.ClientGone) return false;
            if (relayError != ForwardingError.None)
            {
                await AnswerForwardingErrorAsync(relayError, body).ConfigureAwait(false);
                return true;
            }
            return !mustClose;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            upstream!.Broken = true;
            if (e is ClientWriteTimeoutException { BufferedBytes: >= 0 } timeout) await RecordAbandonedResponseAsync(timeout).ConfigureAwait(false);
            if (watching)
            {
                watching = false;
                if (await StopClientWatchAsync(clientWatch).ConfigureAwait(false)) return false;
            }
            throw;
        }
        finally
        {
            StopWatchingStream(upstream);
            Admin.GatewayCounters.Max(ref _rt.Counters.PeakBufferedResponseBytes, _relay.PeakBufferedBytes);
            forwarder.Pool.Return(upstream!);
        }
    }

    // Made at the first stream that ends with its token (most connections never open one).
    private StreamTokenWatch? _streamWatch;

    /// <summary>
    /// A stream that ends with its token (identity.streamsEndWithToken: GET streams, or all) is checked per event, and its
    /// upstream read woken at the expiry through the connection's deadline (the response timeout is over once the head came).
    /// A GET stream is also checked per event for a policy reload that no longer allows its caller, and under a policy with
    /// time conditions decided again per event and at least every StreamPolicyWatch.HeartbeatMs while quiet; a tasks
    /// request's stream likewise for the call that created its task (WatchTaskStream).
    /// </summary>
    private void WatchStream(System.IO.Pipelines.PipeReader upstream)
    {
        StreamPolicyWatch? policyWatch = WatchStreamPolicy(_exchange);
        if (policyWatch is not null) policyWatch.Add(_exchange.Route?.Name, _exchange.Masking);
        else policyWatch = WatchTaskStream();
        if (policyWatch is not null) _relay.PolicyWatch = policyWatch;
        bool heartbeat = policyWatch is { NeedsHeartbeat: true };
        if (!StreamTokenWatch.Applies(_rt, _request))
        {
            // No token watch to wake a quiet stream: the policy watch wakes it itself for its time conditions.
            if (heartbeat) policyWatch!.Wake(_timer, upstream);
            return;
        }
        StreamTokenWatch watch = _streamWatch ??= new StreamTokenWatch(_rt);
        watch.MaxWakeMs = heartbeat ? StreamPolicyWatch.HeartbeatMs : int.MaxValue / 2;
        watch.Begin(_request, _timer, upstream, RemoteAddress, _exchange.Principal?.Subject);
        _relay.TokenWatch = watch;
    }

    private void StopWatchingStream(UpstreamConnection? upstream)
    {
        if (_relay.PolicyWatch is { } policyWatch && policyWatch.Stop() && upstream is not null) upstream.Broken = true;
        _relay.PolicyWatch = null;
        if (_relay.TokenWatch is not { } watch) return;
        _relay.TokenWatch = null;
        if (watch.Stop() && upstream is not null) upstream.Broken = true;
    }

    /// <summary>
    /// An approved call is executed once its forward has an outcome, before any answer reaches the client: whoever reads
    /// the answer and then asks /approvals/{id} sees it executed (grant mode counts the execution).
    /// </summary>
    private void MarkApprovalExecuted(int status)
    {
        if (_exchange.Approval is { } approval) _rt.Approvals?.MarkExecuted(approval, status);
    }

    /// <summary>A client that read nothing within clientWriteMs: counted, and the exchange recorded as abandoned.</summary>
    private async ValueTask RecordAbandonedResponseAsync(ClientWriteTimeoutException timeout)
    {
        // The peak first: whoever sees the timeout counted (/metrics, tests) sees what was held with it.
        Admin.GatewayCounters.Max(ref _rt.Counters.PeakBufferedResponseBytes, timeout.BufferedBytes);
        Admin.GatewayCounters.Add(ref _rt.Counters.ClientWriteTimeouts);
        if (_rt.LogRateLimit.TryTake("client write timeout", "", 1, out int held))
            Log.Warn($"client {RemoteAddress}: read nothing of its response for {_rt.Options.Timeouts.ClientWriteMs} ms with {timeout.BufferedBytes} bytes held for it; exchange closed" + LogRateLimit.Held(held));
        if (_rt.Audit is not { } audit) return;
        try
        {
            await audit.RecordResponseAbandonedAsync(_exchange, _auditScratch, RemoteAddress, timeout.BufferedBytes, _rt.Limits.MaxBufferedResponseBytes,
                _rt.Options.Timeouts.ClientWriteMs).ConfigureAwait(false);
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            // The exchange is closed either way; the outage itself is recorded by the audit log.
        }
    }

    /// <summary>When the client closes while its event stream is relayed, closes the upstream exchange (true: it left).</summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WatchClientWhileStreamingAsync(UpstreamConnection upstream)
    {
        bool gone = await WatchForClientLeavingAsync().ConfigureAwait(false);
        if (gone)
        {
            upstream.Broken = true;
            upstream.Dispose(); // the relay's pending upstream read ends now
            Log.Debug($"client {RemoteAddress}: left during an event stream; upstream exchange closed");
        }
        return gone;
    }

    /// <summary>Ends the watch (cancelling its read only while it is pending) and says whether the client left.</summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> StopClientWatchAsync(ValueTask<bool> watch)
    {
        if (!watch.IsCompleted) _input.CancelPendingRead();
        return await watch.ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder))]
    private async ValueTask AnswerForwardingErrorAsync(ForwardingError error, ReadOnlySequence<byte> body)
    {
        if (error == ForwardingError.AuditUnavailable) Admin.GatewayCounters.Add(ref _rt.Counters.AuditUnavailable);
        else Admin.GatewayCounters.Add(ref _rt.Counters.UpstreamErrors);
        // (ResponseStatus holds the upstream's status when it answered.)
        _exchange.ResponseStatus = error.StatusCode(_exchange.ResponseStatus);
        Range id = _exchange.HasCall ? _exchange.Call.IdRange : default;
        GatewayResponses.WriteJsonRpcError(_output, _scratch, _exchange.ResponseStatus, body, id, error.JsonRpcCode(), error.Message(_exchange), close: ClosesAfterExchange);
        // Logged before the answer leaves: whoever reads the answer finds the line already written. Rate-limited per
        // upstream and error kind (any client can make a dead upstream fail every request); the line is built only when written.
        string upstream = _exchange.Route is { } route ? route.Describe() : _rt.Options.Upstream.Describe();
        if (_rt.LogRateLimit.TryTake(UpstreamFailureLog.Kind, upstream, (int)error, out int held))
            Log.Warn(UpstreamFailureLog.Describe(error, upstream, _exchange, _clientAddress) + LogRateLimit.Held(held));
        // Recorded too (failure path only): a recorded request is never left without its outcome, and an upstream that
        // tried to send the client elsewhere or answered in bytes the stages cannot read is on record.
        if (_rt.Audit is { } audit && error != ForwardingError.AuditUnavailable)
        {
            try
            {
                await audit.RecordForwardingFailureAsync(_exchange, _auditScratch, RemoteAddress, error.ToString(), System.Text.Encoding.UTF8.GetString(error.Message(_exchange)))
                    .ConfigureAwait(false);
            }
            catch (FastMcp.Audit.AuditUnavailableException)
            {
                // The error answer carries no upstream data: it still goes out; the outage is recorded by the log itself.
            }
        }
        await FlushToClientAsync().ConfigureAwait(false);
    }

    /// <summary>A connect that failed marks the route's upstream down; a response head marks it up (/readyz, fastmcp_upstream_up).</summary>
    private static void ReportHealth(UpstreamRoute route, ForwardingError error)
    {
        if (error == ForwardingError.None) route.Health.ReportReachable();
        else if (error == ForwardingError.UpstreamUnreachable) route.Health.ReportUnreachable("connect failed while forwarding");
    }

    /// <summary>
    /// An idle keep-alive connection holds no exchange buffers (1,000 idle connections would otherwise
    /// keep tens of MB); the next exchange rents them again from the shared pool.
    /// </summary>
    private void ReleaseExchangeBuffers()
    {
        _decodedBody.Release();
        _scratch.Release();
        _maskedCopy.Release();
        _exchange.SealedTask.Release();
        _heldBody.Release();
        _auditScratch.Release();
        _relay.ReleaseBuffers();
        _batch?.Release();
    }

    private void ArmTimer(int milliseconds) => _timer.Arm(milliseconds);

    /// <summary>Closes the socket under a running exchange (shutdown deadline); the loop then ends by itself.</summary>
    public void Abort() => _transport.Dispose();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        StopTrackingCall();
        try { _input.Complete(); } catch (InvalidOperationException) { }
        try { _output.Complete(); } catch (InvalidOperationException) { }
        _transport.Dispose();
        _timer.Dispose();
        _relay.Dispose();
        _decodedBody.Dispose();
        _scratch.Dispose();
        _maskedCopy.Dispose();
        _exchange.SealedTask.Release();
        _heldBody.Dispose();
        _auditScratch.Dispose();
        _batch?.Dispose();
    }
}
