using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using FastMcp.Audit;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Proxy;
using FastMcp.Http;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// The hold stage: a call a require_approval rule stopped (docs/approvals.md). Hold mode keeps the request waiting
/// (an SSE client gets keep-alive comments and progress notifications meanwhile) until approvers decide or the
/// approval expires; grant mode refuses with the approval id and, once approved, lets the identical call from the
/// same identity through for a window. Nothing is forwarded without the approval, and every step is recorded.
/// One instance per held exchange (only calls an approval rule matched get here, off the hot path); it reaches the
/// connection's pipe, audit and forwarding through <see cref="IHoldingConnection"/>.
/// </summary>
internal sealed class ApprovalHold
{
    private readonly IHoldingConnection _connection;
    private readonly GatewayRuntime _rt;
    private readonly Exchange _exchange;
    private readonly HttpRequestHead _request;
    private readonly PipeWriter _output;
    private readonly PooledBufferWriter _scratch;
    private readonly AuditRecording.Scratch _auditScratch;

    public ApprovalHold(IHoldingConnection connection)
    {
        _connection = connection;
        _rt = connection.Runtime;
        _exchange = connection.Exchange;
        _request = connection.Request;
        _output = connection.Output;
        _scratch = connection.Scratch;
        _auditScratch = connection.AuditScratch;
    }

    private string RemoteAddress => _connection.RemoteAddress;

    /// <summary>
    /// The client's fields this call forwards because the upstream's forwardHeaders names them (the same decision the
    /// request writer makes), values card-masked with their fingerprints added. MCP's own fields are not among them:
    /// the digest binds what they say through the body, and the session id is not the call's.
    /// </summary>
    private List<(string Name, byte[] Value)> ForwardedFields(List<string> fingerprints)
    {
        var fields = new List<(string Name, byte[] Value)>();
        if (_exchange.Route is not { } route) return fields;
        bool federated = _exchange.FederationSession is not null;
        Forwarding.ForwardedHeaderAllowlist allowlist = federated ? Forwarding.ForwardedHeaderAllowlist.None : route.Pool.ForwardedHeaders;
        FastMcp.Http.HttpHeaderTable headers = _request.Headers;
        for (int i = 0; i < headers.Count; i++)
        {
            if (Forwarding.UpstreamRequestWriter.Fate(headers, i, route.Credential is { } credential ? credential.HeaderLine : default, route.Pool.UpstreamHeaderLines,
                    federated, route.Pool.ForwardsCookies, allowlist) != Forwarding.UpstreamRequestWriter.FieldFate.Allowed) continue;
            ReadOnlySpan<byte> value = FastMcp.Http.HttpTokens.TrimOws(headers.ValueAt(i));
            fields.Add((Encoding.ASCII.GetString(headers.NameAt(i)), _rt.Masking is { } masking ? masking.MaskedFieldValue(value, fingerprints) : value.ToArray()));
        }
        return fields;
    }

    /// <summary>
    /// The client's Cookie and Cookie2 fields this call forwards (the upstream's forwardCookies, never on a federated path:
    /// the request writer's decision), values card-masked with their fingerprints added, in the order sent.
    /// </summary>
    private List<(bool Cookie2, byte[] Value)> ForwardedCookieFields(List<string> fingerprints)
    {
        var fields = new List<(bool Cookie2, byte[] Value)>();
        if (_exchange.Route is not { } route) return fields;
        bool federated = _exchange.FederationSession is not null;
        FastMcp.Http.HttpHeaderTable headers = _request.Headers;
        for (int i = 0; i < headers.Count; i++)
        {
            ReadOnlySpan<byte> name = headers.NameAt(i);
            if (!Forwarding.CookieFields.IsRequestCookie(name)) continue;
            if (Forwarding.UpstreamRequestWriter.Fate(headers, i, route.Credential is { } credential ? credential.HeaderLine : default, route.Pool.UpstreamHeaderLines,
                    federated, route.Pool.ForwardsCookies, Forwarding.ForwardedHeaderAllowlist.None) != Forwarding.UpstreamRequestWriter.FieldFate.Passed) continue;
            ReadOnlySpan<byte> value = FastMcp.Http.HttpTokens.TrimOws(headers.ValueAt(i));
            fields.Add((System.Text.Ascii.EqualsIgnoreCase(name, "Cookie2"u8), _rt.Masking is { } masking ? masking.MaskedFieldValue(value, fingerprints) : value.ToArray()));
        }
        return fields;
    }

    /// <summary>
    /// What approvers are shown of the call and what the approval binds, from <paramref name="recorded"/> (the request masked
    /// with the default masking) and the request's query and forwarded fields as they lie now. <paramref name="shown"/>: keep a
    /// copy of <paramref name="recorded"/> for the ApprovalRequested record (it is not the exchange's recorded copy).
    /// </summary>
    public ApprovalRequestView Describe(ReadOnlySequence<byte> recorded, bool shown = false)
    {
        // What approvers see and what the approval binds come from the recorded (masked) request, never from the
        // bytes as sent: in forward mode those still hold the card numbers.
        ref McpCall call = ref _exchange.Call;
        string method = call.Method != McpMethod.Unknown ? McpMethods.Name(call.Method) : TextAt(recorded, call.MethodRange) ?? "";
        string? target = call.HasName ? TextAt(recorded, call.NameRange) : null;
        byte[] maskedArguments = call.HasArguments
            ? recorded.Slice(call.ArgumentsRange.Start.Value, call.ArgumentsRange.End.Value - call.ArgumentsRange.Start.Value).ToArray()
            : "{}"u8.ToArray();
        var fingerprints = new List<string>();
        for (int i = 0; i < _exchange.RequestCards.StoredFingerprints; i++) fingerprints.Add(Convert.ToHexStringLower(_exchange.RequestCards.Fingerprint(i)));
        // The upstream reads the query too: approvers see it, and the digest binds it (its card numbers by fingerprint).
        string maskedQuery = _rt.Masking is { } masking ? masking.MaskedQuery(_request, fingerprints) : System.Text.Encoding.ASCII.GetString(_request.Query);
        // So do the header fields its forwardHeaders lets through (a read-only switch, a toolset): bound the same way.
        string forwardedHeaders = ApprovalDigest.HeadersLine(ForwardedFields(fingerprints));
        // And the cookies forwardCookies passes (a session, an environment): bound by name and keyed MAC, never shown.
        string forwardedCookies = ApprovalCookies.Line(ForwardedCookieFields(fingerprints), ApprovalCookies.Key(_rt.Masking?.FingerprintKey));
        string digest, maskedParams;
        using (JsonDocument request = JsonDocument.Parse(recorded))
        {
            JsonElement? parameters = request.RootElement.TryGetProperty("params", out JsonElement p) ? p : null;
            digest = ApprovalDigest.Compute(method, parameters, fingerprints, maskedQuery, forwardedHeaders, forwardedCookies);
            maskedParams = ApprovalDigest.CanonicalParams(parameters);
        }
        return new ApprovalRequestView(method, target, Encoding.UTF8.GetString(maskedArguments), maskedParams, digest, maskedQuery, forwardedHeaders, forwardedCookies,
            shown ? recorded.ToArray() : null);
    }

    /// <summary>
    /// Decides what happens to the call: grant lookup, a new approval recorded and published, then hold or refuse.
    /// <paramref name="view"/>: what approvers are shown, when it was taken before a rule's maskProfile masked the request
    /// (null: taken here, from <paramref name="recorded"/>).
    /// </summary>
    public async ValueTask<bool> RunAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, PolicyDecision decision, ApprovalRequestView? view = null)
    {
        ApprovalBroker? broker = _rt.Approvals;
        Principal principal = _exchange.Principal!;
        if (broker is null || decision.Rule is not { } rule || principal.IsAnonymous)
        {
            return await _connection.RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.ApprovalRequired,
                Encoding.UTF8.GetBytes($"approval required: {decision.Message} (approvals need an identified caller)"), $"approval required by {decision.Rule?.Name}").ConfigureAwait(false);
        }
        if (_rt.Stopping)
        {
            return await _connection.RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.ApprovalRequired,
                "approval required, but the gateway is stopping: call again later"u8.ToArray(), "approval not started: gateway stopping").ConfigureAwait(false);
        }
        view ??= Describe(recorded);
        (string method, string? target, string maskedArguments, string maskedParams, string digest, string maskedQuery, string forwardedHeaders, string forwardedCookies, _) = view;

        if (rule.ApprovalMode == ApprovalMode.Grant)
        {
            if (broker.FindGrant(principal, rule.Name, digest, _exchange.Route?.Name) is { } grant)
            {
                _exchange.Approval = grant;
                if (!await _connection.RecordRequestOrRefuseAsync(recorded).ConfigureAwait(false)) return true;
                return await _connection.ForwardAsync(body).ConfigureAwait(false); // marks the grant executed
            }
            if (broker.FindPending(principal, rule.Name, digest, _exchange.Route?.Name) is { } waiting)
            {
                return await RefuseApprovalAsync(body, recorded, waiting, "pending",
                    $"approval required: approval {waiting.Id} is still pending; call again once it is approved", $"approval {waiting.Id} still pending").ConfigureAwait(false);
            }
            // Behind a Service that does not route by session the grant (or the pending approval) may be on another replica.
            // A peer that fails or is not believed holds nothing: this replica opens its own approval, as without peers.
            if (broker.Peers is { } peers && await peers.LookupAsync(principal, rule.Name, digest, _exchange.Route?.Name).ConfigureAwait(false) is { } held)
            {
                PendingApproval remote = broker.FromPeer(held.Url, held.Answer, principal, rule, method, target, maskedArguments, maskedParams, digest,
                    RemoteAddress, _exchange.Route, maskedQuery, forwardedHeaders, forwardedCookies);
                if (remote.State == ApprovalState.Approved)
                {
                    _exchange.Approval = remote;
                    if (!await _connection.RecordRequestOrRefuseAsync(recorded).ConfigureAwait(false)) return true;
                    return await _connection.ForwardAsync(body).ConfigureAwait(false); // tells the holder of the execution
                }
                return await RefuseApprovalAsync(body, recorded, remote, "pending",
                    $"approval required: approval {remote.Id} is still pending; call again once it is approved", $"{remote.AuditName} still pending").ConfigureAwait(false);
            }
        }

        Admin.GatewayCounters.Add(ref _rt.Counters.ApprovalsRequested);
        PendingApproval approval = broker.Create(principal, rule, method, target, maskedArguments, maskedParams, digest, RemoteAddress, _exchange.Route, maskedQuery, forwardedHeaders,
            forwardedCookies);
        // Before it can be published (and so cancelled by a stop): from here the stop waits for this client's answer.
        if (rule.ApprovalMode == ApprovalMode.Hold) _connection.Holds(approval);
        if (_rt.Audit is { } audit)
        {
            try
            {
                await audit.RecordApprovalRequestedAsync(_exchange, _auditScratch, RemoteAddress, view.Shown is { } shown ? new ReadOnlySequence<byte>(shown) : recorded, approval).ConfigureAwait(false);
            }
            catch (AuditUnavailableException)
            {
                return await _connection.AuditUnavailableAsync(body).ConfigureAwait(false);
            }
        }
        if (await broker.TryPublishAsync(approval).ConfigureAwait(false) is { } refusal)
        {
            return await _connection.RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.ApprovalRequired, Encoding.UTF8.GetBytes($"approval required, but {refusal}"),
                $"approval {approval.Id} not started: {refusal}").ConfigureAwait(false);
        }
        // A client can ask as often as it calls: per rule, one line per interval (the approvals API and webhook have every one).
        if (_rt.LogRateLimit.TryTake("approval requested", rule.Name, 0, out int heldLines))
            Log.Info($"approval {approval.Id}: {principal.Subject} asks for {method} {target} (rule {rule.Name}, {(rule.ApprovalMode == ApprovalMode.Grant ? "grant" : "hold")})"
                + LogRateLimit.Held(heldLines));

        if (rule.ApprovalMode == ApprovalMode.Grant)
        {
            _exchange.ResponseStatus = 200;
            WriteApprovalError(body, approval, "pending",
                $"approval required: approval {approval.Id} is pending; call again with the same arguments once it is approved", close: false);
            await _connection.FlushToClientAsync().ConfigureAwait(false);
            return true;
        }
        return await HoldAsync(body, recorded, approval, broker).ConfigureAwait(false);
    }

    /// <summary>Hold mode: waits for the decision, then forwards the exact request or answers why not.</summary>
    private async ValueTask<bool> HoldAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, PendingApproval approval, ApprovalBroker broker)
    {
        _exchange.Times.HoldStart = System.Diagnostics.Stopwatch.GetTimestamp();
        // Own the body, so the client pipe can be watched for the client leaving while it waits.
        _exchange.Recorded = recorded;
        body = _connection.TakeBodyOutOfPipe(body);
        recorded = _exchange.Recorded;

        bool sse = AcceptsEventStream();
        bool chunked = _request.IsHttp11;
        if (sse)
        {
            GatewayResponses.WriteStatusLine(_output, 200);
            _output.Write("Content-Type: text/event-stream\r\nCache-Control: no-store\r\nX-Accel-Buffering: no\r\n"u8);
            if (chunked) _output.Write("Transfer-Encoding: chunked\r\n"u8);
            // Unchunked, the stream ends by closing; a client that asked to close is told so too (RFC 9112 9.6).
            if (!chunked || _request.ConnectionClose) _output.Write("Connection: close\r\n"u8);
            _output.Write("\r\n"u8);
            WriteKeepAlive(approval, chunked, tick: 0);
            if ((await _connection.FlushToClientAsync().ConfigureAwait(false)).IsCompleted)
            {
                await broker.CancelAsync(approval, "the client disconnected while waiting").ConfigureAwait(false);
                return false;
            }
        }

        Task<ApprovalState> outcome = approval.Outcome;
        Task<bool> watcher = _connection.WatchForClientLeavingAsync();
        Task<bool> clientLeft = watcher;
        TimeSpan keepAlive = TimeSpan.FromSeconds(broker.Options.KeepAliveSeconds);
        int tick = 0;
        while (!outcome.IsCompleted)
        {
            Task delay = Task.Delay(keepAlive);
            Task first = await Task.WhenAny(outcome, clientLeft, delay).ConfigureAwait(false);
            if (first == clientLeft)
            {
                if (await clientLeft.ConfigureAwait(false))
                {
                    await broker.CancelAsync(approval, "the client disconnected while waiting").ConfigureAwait(false);
                    return false;
                }
                clientLeft = new TaskCompletionSource<bool>().Task; // pipelined bytes arrived: they wait their turn
            }
            else if (first == delay && sse)
            {
                WriteKeepAlive(approval, chunked, ++tick);
                if ((await _connection.FlushToClientAsync().ConfigureAwait(false)).IsCompleted)
                {
                    await broker.CancelAsync(approval, "the client disconnected while waiting").ConfigureAwait(false);
                    return false;
                }
            }
        }
        // Stop watching only if the watch is still pending: a stray cancel would cancel the next request's read.
        if (!watcher.IsCompleted)
        {
            _connection.StopWatchingClient();
            if (await watcher.ConfigureAwait(false)) return false;
        }

        ApprovalState state = await outcome.ConfigureAwait(false);
        _exchange.Times.HoldEnd = System.Diagnostics.Stopwatch.GetTimestamp();
        // Withdrawn by the caller's own notifications/cancelled: a cancelled request is not answered, so the held stream
        // just ends (a JSON answer, which HTTP must give, still says why).
        if (sse && ClientConnection.WithdrawnByCaller(approval))
        {
            if (chunked) ChunkedWriter.WriteTerminator(_output);
            _exchange.ResponseStatus = 200;
            await _connection.FlushToClientAsync().ConfigureAwait(false);
            return chunked && !_rt.Stopping;
        }
        if (state != ApprovalState.Approved)
        {
            string status = ApprovalBroker.Describe(state);
            string message = state switch
            {
                ApprovalState.Denied => $"approval {approval.Id} denied by {approval.DecidedBy}: {approval.Reason}",
                ApprovalState.Expired => $"approval {approval.Id} expired: no decision in time",
                _ => $"approval {approval.Id} cancelled: {approval.Reason}; call again",
            };
            bool close = _rt.Stopping || (sse && !chunked);
            if (sse) await EndHeldStreamWithErrorAsync(body, approval, status, message, chunked).ConfigureAwait(false);
            else
            {
                _exchange.ResponseStatus = 200;
                WriteApprovalError(body, approval, status, message, close);
                await _connection.FlushToClientAsync().ConfigureAwait(false);
            }
            return !close;
        }

        // The call may have waited for hours: it is forwarded only for a caller still admitted now, the token checked
        // again under the identity configuration in force (expiry, a reload, a retired key), and then decided on as now.
        if (await _connection.ReauthenticateHeldCallerAsync().ConfigureAwait(false) is { } readmitted)
        {
            if (HeldCallerCheck.Judge(readmitted, _exchange.Principal!, approval.Id, out string message, out string reason, out AuthFailure challenge) is not HeldCallerRefusal.None and var refusal)
            {
                _connection.ForgetHeldCall();
                Admin.GatewayCounters.Add(ref _rt.Counters.ApprovedCallsUnauthenticated[(int)refusal - 1]);
                return await RefuseApprovedCallAsync(body, recorded, approval, JsonRpcErrorCodes.Unauthorized, message, reason, sse, chunked,
                    ResourceMetadata.StatusCode(challenge), _rt.Authentication!.ChallengeLines(challenge, _request).ToArray()).ConfigureAwait(false);
            }
            // The same caller, as the configuration in force reads its token now (groups and scopes included).
            _exchange.Principal = readmitted.Principal;
        }

        // Approvers approved the call the policy stopped when it came; a reload while it waited may deny it now. It is
        // forwarded only when the policy in force still stops it with the same rule (or now allows it outright).
        if (_connection.DecideHeldCallAgain() is { } now && !AdmitsApproved(now, approval))
            return await RefuseApprovedAsync(body, recorded, approval, now, sse, chunked).ConfigureAwait(false);

        _exchange.Approval = approval;
        Log.Info($"approval {approval.Id}: approved by {approval.ApproverList()}; forwarding");
        if (!sse)
        {
            if (!await _connection.RecordRequestOrRefuseAsync(recorded).ConfigureAwait(false)) return true;
            return await _connection.ForwardAsync(body).ConfigureAwait(false); // marks the approval executed
        }
        return await ForwardIntoHeldStreamAsync(body, recorded, approval, chunked).ConfigureAwait(false);
    }

    /// <summary>Whether the policy in force still lets an approved held call through: it allows it, or still stops it with the rule approvers decided under.</summary>
    private static bool AdmitsApproved(PolicyDecision now, PendingApproval approval) =>
        now.Action == PolicyAction.Allow || (now.Action == PolicyAction.RequireApproval && now.Rule?.Name == approval.RuleName);

    /// <summary>
    /// An approved held call the policy in force refuses (denied now, or stopped by another rule whose approvers were not
    /// asked): recorded as a denial naming the approval, answered with a JSON-RPC error (in the held stream when one is
    /// open), never forwarded.
    /// </summary>
    private async ValueTask<bool> RefuseApprovedAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, PendingApproval approval, PolicyDecision now,
        bool sse, bool chunked)
    {
        _exchange.Decision = now;
        string ruleName = now.Rule?.Name ?? "default";
        (int code, string message, string reason) = now.Action == PolicyAction.Deny
            ? (PolicyAuthorization.ClientErrorCode(now),
                $"{now.Message} (approval {approval.Id} was approved, but the policy in force denies the call: rule {ruleName})",
                $"approval {approval.Id} approved, then denied by {ruleName} under the policy in force (reloaded while the call was held)")
            : (JsonRpcErrorCodes.ApprovalRequired,
                $"approval {approval.Id} was approved under rule {approval.RuleName}, but the policy in force stops this call with rule {ruleName}: call again",
                $"approval {approval.Id} approved under {approval.RuleName}, but the policy in force stops the call with {ruleName} (reloaded while the call was held)");
        Admin.GatewayCounters.Add(ref _rt.Counters.PolicyDenied);
        return await RefuseApprovedCallAsync(body, recorded, approval, code, message, reason, sse, chunked).ConfigureAwait(false);
    }

    /// <summary>
    /// An approved held call refused before its forward: logged, recorded as a denial whose <paramref name="reason"/> names
    /// the approval, answered with a JSON-RPC error (in the held stream when one is open; else with <paramref name="jsonStatus"/>
    /// and <paramref name="headerLines"/>), never forwarded: the approval stays approved.
    /// </summary>
    private async ValueTask<bool> RefuseApprovedCallAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, PendingApproval approval, int code, string message,
        string reason, bool sse, bool chunked, int jsonStatus = 200, byte[]? headerLines = null)
    {
        Log.Info($"approval {approval.Id}: approved by {approval.ApproverList()}; not forwarded: {reason}");
        if (_rt.Audit is { } audit)
        {
            try
            {
                await audit.RecordDenialAsync(_exchange, _auditScratch, RemoteAddress, recorded, reason).ConfigureAwait(false);
            }
            catch (AuditUnavailableException)
            {
                if (!sse) return await _connection.AuditUnavailableAsync(body).ConfigureAwait(false);
                await EndHeldStreamWithErrorAsync(body, approval, "approved", "audit log unavailable: nothing is forwarded unrecorded", chunked, JsonRpcErrorCodes.AuditUnavailable)
                    .ConfigureAwait(false);
                return chunked;
            }
        }
        bool close = _rt.Stopping || (sse && !chunked);
        if (sse) await EndHeldStreamWithErrorAsync(body, approval, "approved", message, chunked, code).ConfigureAwait(false);
        else
        {
            _exchange.ResponseStatus = jsonStatus;
            GatewayResponses.WriteJsonRpcError(_output, _scratch, jsonStatus, body, _exchange.Call.IdRange, code, Encoding.UTF8.GetBytes(message),
                close || _request.ConnectionClose, headerLines, ApprovalErrorData(approval, "approved"));
            await _connection.FlushToClientAsync().ConfigureAwait(false);
        }
        return !close;
    }

    /// <summary>An approved call a client waits for on an event stream: recorded, then forwarded into that stream.</summary>
    private async ValueTask<bool> ForwardIntoHeldStreamAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, PendingApproval approval, bool chunked)
    {
        if (_rt.Audit is { } audit)
        {
            try
            {
                if (!audit.IsWritable) throw new AuditUnavailableException("audit log not writable");
                _exchange.Times.RecordStart = System.Diagnostics.Stopwatch.GetTimestamp();
                await audit.RecordRequestAsync(_exchange, _auditScratch, RemoteAddress, recorded).ConfigureAwait(false);
                _exchange.Times.RecordEnd = System.Diagnostics.Stopwatch.GetTimestamp();
            }
            catch (AuditUnavailableException)
            {
                await EndHeldStreamWithErrorAsync(body, approval, "approved", "audit log unavailable: nothing is forwarded unrecorded", chunked, JsonRpcErrorCodes.AuditUnavailable).ConfigureAwait(false);
                return chunked;
            }
        }
        (bool sent, ForwardingError error, bool mustClose) = await _connection.ForwardIntoOpenStreamAsync(body, chunked).ConfigureAwait(false);
        if (error == ForwardingError.Withdrawn) return await EndWithdrawnAsync(body, sse: true, chunked).ConfigureAwait(false);
        if (!sent)
        {
            await EndHeldStreamWithErrorAsync(body, approval, "approved", Encoding.UTF8.GetString(error.Message(_exchange)), chunked, error.JsonRpcCode()).ConfigureAwait(false);
            string upstream = _exchange.Route!.Describe();
            if (_rt.LogRateLimit.TryTake(UpstreamFailureLog.Kind, upstream, (int)error, out int held))
                Log.Warn(UpstreamFailureLog.Describe(error, upstream, _exchange, System.Text.Encoding.ASCII.GetBytes(_connection.RemoteAddress)) + LogRateLimit.Held(held));
            return chunked;
        }
        if (error == ForwardingError.ClientGone) return false; // sent: the approval was marked executed at the upstream's answer
        if (error != ForwardingError.None)
        {
            await EndHeldStreamWithErrorAsync(body, approval, "approved", Encoding.UTF8.GetString(error.Message(_exchange)), chunked, error.JsonRpcCode()).ConfigureAwait(false);
            return chunked;
        }
        return !mustClose;
    }

    /// <summary>
    /// The approved call its caller withdrew (notifications/cancelled) after its request was recorded, before its forward
    /// wrote a byte of it (InFlight/InFlightState.cs): never sent. The approval ends cancelled as a withdrawn held call's does
    /// (ApprovalExpired, "cancelled: withdrawn by the caller …"; the cancellation may have done it already), the exchange's
    /// outcome is recorded, and the client gets what a withdrawn held call gets: an event stream that ends without an answer,
    /// or the -32002 error with status cancelled.
    /// </summary>
    internal async ValueTask<bool> EndWithdrawnAsync(ReadOnlySequence<byte> body, bool sse, bool chunked)
    {
        PendingApproval approval = _exchange.Approval!;
        if (_rt.Approvals is { } broker) await broker.WithdrawAsync(approval, ClientConnection.WithdrawnReason).ConfigureAwait(false);
        Log.Info($"approval {approval.Id}: withdrawn by {_exchange.Principal!.Subject} (notifications/cancelled) after its approval, before it was forwarded; not forwarded");
        _exchange.ResponseStatus = 200;
        if (_rt.Audit is { } audit)
        {
            try
            {
                await audit.RecordWithdrawnAsync(_exchange, _auditScratch, RemoteAddress, approval).ConfigureAwait(false);
            }
            catch (AuditUnavailableException)
            {
                // Nothing was forwarded and nothing of the upstream's is released: the answer goes out; the outage is recorded by the log itself.
            }
        }
        if (sse)
        {
            if (chunked) ChunkedWriter.WriteTerminator(_output);
            await _connection.FlushToClientAsync().ConfigureAwait(false);
            return chunked && !_rt.Stopping;
        }
        bool close = _rt.Stopping;
        WriteApprovalError(body, approval, ApprovalBroker.Describe(approval.State), $"approval {approval.Id} cancelled: {approval.Reason}; call again", close);
        await _connection.FlushToClientAsync().ConfigureAwait(false);
        return !close;
    }

    private bool AcceptsEventStream()
    {
        ReadOnlySpan<byte> accept = _request.Headers.Get(KnownHeader.Accept);
        return accept.IndexOf("text/event-stream"u8) >= 0;
    }

    /// <summary>A comment (idle timeouts) and, when the client asked for progress, a progress notification naming the approval.</summary>
    private void WriteKeepAlive(PendingApproval approval, bool chunked, int tick)
    {
        _scratch.Clear();
        SseEvent.WriteComment(_scratch, Encoding.UTF8.GetBytes($"approval {approval.Id} pending: waiting for {approval.RequiredApprovals} approval(s) from [{string.Join(", ", approval.ApproverGroups)}]"));
        ref McpCall call = ref _exchange.Call;
        if (!McpCall.IsEmpty(call.ProgressTokenRange))
        {
            var json = new ArrayBufferWriter<byte>(256);
            using (var w = new Utf8JsonWriter(json))
            {
                w.WriteStartObject();
                w.WriteString("jsonrpc", "2.0");
                w.WriteString("method", "notifications/progress");
                w.WriteStartObject("params");
                w.WritePropertyName("progressToken");
                w.WriteRawValue(_exchange.Body.Slice(call.ProgressTokenRange.Start.Value, call.ProgressTokenRange.End.Value - call.ProgressTokenRange.Start.Value).ToArray(), skipInputValidation: true);
                w.WriteNumber("progress", tick);
                int votes = approval.VoteCount;
                w.WriteString("message", $"waiting for approval {approval.Id} ({votes} of {approval.RequiredApprovals})");
                w.WriteEndObject();
                w.WriteEndObject();
            }
            SseEvent.WriteMessageEvent(_scratch, json.WrittenSpan);
        }
        ResponseRelay.WriteEventBytes(_output, _scratch.WrittenSpan, chunked);
    }

    private async ValueTask EndHeldStreamWithErrorAsync(ReadOnlySequence<byte> body, PendingApproval approval, string status, string message, bool chunked,
        int code = JsonRpcErrorCodes.ApprovalRequired)
    {
        var error = new ArrayBufferWriter<byte>(256);
        JsonRpcErrorWriter.Write(error, body, _exchange.Call.IdRange, code, Encoding.UTF8.GetBytes(message), ApprovalErrorData(approval, status));
        _scratch.Clear();
        SseEvent.WriteMessageEvent(_scratch, error.WrittenSpan);
        ResponseRelay.WriteEventBytes(_output, _scratch.WrittenSpan, chunked);
        if (chunked) ChunkedWriter.WriteTerminator(_output);
        _exchange.ResponseStatus = 200;
        await _connection.FlushToClientAsync().ConfigureAwait(false);
    }

    private void WriteApprovalError(ReadOnlySequence<byte> body, PendingApproval approval, string status, string message, bool close) =>
        GatewayResponses.WriteJsonRpcError(_output, _scratch, 200, body, _exchange.Call.IdRange, JsonRpcErrorCodes.ApprovalRequired,
            Encoding.UTF8.GetBytes(message), close || _request.ConnectionClose || _rt.Stopping, default, ApprovalErrorData(approval, status));

    /// <summary>Refuses a call that relates to an existing approval (grant mode, asked again while pending), and records the refusal.</summary>
    private async ValueTask<bool> RefuseApprovalAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, PendingApproval approval, string status, string message, string reason)
    {
        if (_rt.Audit is { } audit)
        {
            try
            {
                await audit.RecordDenialAsync(_exchange, _auditScratch, RemoteAddress, recorded, reason).ConfigureAwait(false);
            }
            catch (AuditUnavailableException)
            {
                return await _connection.AuditUnavailableAsync(body).ConfigureAwait(false);
            }
        }
        _exchange.ResponseStatus = 200;
        WriteApprovalError(body, approval, status, message, close: false);
        await _connection.FlushToClientAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>JSON-RPC error data for approval outcomes: what a client or a person needs to follow up.</summary>
    private static byte[] ApprovalErrorData(PendingApproval approval, string status)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("approvalId", approval.Id);
            w.WriteString("status", status);
            w.WriteString("rule", approval.RuleName);
            w.WriteString("digest", approval.Digest);
            w.WriteString("expiresAt", ApprovalBroker.Iso(approval.ExpiresUtc));
            if (approval.Reason is { } reason) w.WriteString("reason", reason);
            if (approval.DecidedBy is { } by) w.WriteString("decidedBy", by);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static string? TextAt(in ReadOnlySequence<byte> body, Range token)
    {
        Span<byte> buffer = stackalloc byte[1024];
        int n = McpInspector.CopyUnescaped(body, token, buffer);
        return n < 0 ? null : Encoding.UTF8.GetString(buffer[..n]);
    }
}
