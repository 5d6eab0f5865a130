using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using FastMcp.Gateway.Federation;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.InFlight;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// A caller cancels only its own calls (docs/mcp-handling.md, "Cancellations"). The request this connection has in flight
/// (forwarded, or held for approval) is kept in <see cref="GatewayRuntime.InFlightCalls"/> until its exchange ends; a
/// client's notifications/cancelled is forwarded only when its params.requestId names, byte for byte, such a call of the
/// same caller, in the same session, to the same upstream (on a federated path: to the member that has it, alone), once that
/// call was written there, and no other caller has a call under the same id at that upstream when it has no session. One
/// naming anything else is not forwarded: recorded as denied by the built-in rule (cancel-not-yours), or (cancel-ambiguous),
/// and answered 202, as a cancellation of a finished request is ignored. One naming the caller's own call not yet written
/// (held, or approved and waiting to be sent) withdraws it instead.
/// </summary>
internal sealed partial class ClientConnection
{
    private readonly InFlightCall _inFlight = new();

    /// <summary>
    /// Where this exchange's call goes, as the in-flight table scopes it: a plain route's name, or a federated path and the
    /// member; the upstream's configured name; and whether it goes there without an upstream session.
    /// </summary>
    private (string Scope, bool Federated, int Member, string Upstream, bool Sessionless) InFlightScope()
    {
        if (_exchange.FederationSession is { } session && _exchange.Federation is { } federation)
        {
            int member = _exchange.FederationMember;
            string upstream = member < federation.Members.Length ? federation.Members[member].Name : "";
            bool sessionless = member >= session.MemberSessions.Length || session.MemberSessions[member] is null;
            return (federation.PathText, true, member, upstream, sessionless);
        }
        return (_exchange.Route!.Name, false, 0, _exchange.Route.Name, _exchange.UpstreamSessionId.IsEmpty);
    }

    /// <summary>
    /// The session id a cancellation must name with the call: the upstream's session (plain routes), or the gateway's own
    /// session id as the client sent it (federated paths, where each member's session is the gateway's).
    /// </summary>
    private ReadOnlySpan<byte> InFlightSession(bool federated) => federated ? _request.Headers.Get(KnownHeader.McpSessionId) : _exchange.UpstreamSessionId;

    /// <summary>
    /// Puts the exchange's request (a batch's requests) in the table before it reaches the upstream: held (with
    /// <paramref name="held"/>, the approval it waits on) until its forward writes it, else as being forwarded. Returns the
    /// entry the forward reports its write to (null: not tracked). Nothing allocated in steady state.
    /// </summary>
    private InFlightCall? TrackCallInFlight(in ReadOnlySequence<byte> body, Approvals.PendingApproval? held = null)
    {
        if (_inFlight.InTable) return _inFlight;
        if (!_exchange.HasCall || _exchange.Principal is not { } principal || _exchange.Route is null) return null;
        ref McpCall call = ref _exchange.Call;
        if (call.Kind == McpMessageKind.Request)
        {
            (string scope, bool federated, int member, string upstream, bool sessionless) = InFlightScope();
            _inFlight.Begin(scope, federated, member, principal.Subject, principal.Issuer, InFlightSession(federated), upstream, sessionless, principal.IsAnonymous, held);
            (int offset, int length) = call.IdRange.GetOffsetAndLength(int.MaxValue);
            _inFlight.AddId(body.Slice(offset, length));
        }
        else if (call.Kind == McpMessageKind.Batch && _exchange.Batch is { } batch)
        {
            _inFlight.Begin(_exchange.Route.Name, false, 0, principal.Subject, principal.Issuer, _exchange.UpstreamSessionId, _exchange.Route.Name,
                _exchange.UpstreamSessionId.IsEmpty, principal.IsAnonymous);
            for (int i = 0; i < batch.Count; i++)
            {
                if (batch.RequestId(i) is { IsEmpty: false } id) _inFlight.AddId(id);
            }
        }
        else
        {
            return null;
        }
        _rt.InFlightCalls.Enter(_inFlight);
        return _inFlight.InTable ? _inFlight : null;
    }

    /// <summary>The exchange ended (answered, refused, or its connection closed): its call is no longer in flight.</summary>
    private void StopTrackingCall() => _rt.InFlightCalls.Leave(_inFlight);

    /// <summary>The reason a held call's approval is cancelled with when its caller withdraws it (ApprovalExpired "cancelled: …").</summary>
    internal const string WithdrawnReason = "withdrawn by the caller (notifications/cancelled)";

    /// <summary>Whether <paramref name="approval"/> was cancelled because its caller withdrew the call (the hold then ends without an answer).</summary>
    internal static bool WithdrawnByCaller(Approvals.PendingApproval approval) =>
        approval.State == Approvals.ApprovalState.Cancelled && string.Equals(approval.Reason, WithdrawnReason, StringComparison.Ordinal);

    /// <summary>
    /// Looks up the call a notifications/cancelled (<paramref name="message"/>, whose params.requestId is <paramref name="cancelledId"/>)
    /// names among the caller's in flight to <paramref name="scope"/> in the session <paramref name="sessionId"/>. An id longer
    /// than any tracked key names nothing. <paramref name="cancel"/>: withdraw it if held (see <see cref="InFlightCalls.Find"/>).
    /// </summary>
    private InFlightMatch FindCancelledCall(in ReadOnlySequence<byte> message, Range cancelledId, string scope, bool federated, ReadOnlySpan<byte> sessionId,
        bool cancel = false)
    {
        (int offset, int length) = cancelledId.GetOffsetAndLength(int.MaxValue);
        if (length == 0 || length > InFlightCall.MaxKeyBytes || _exchange.Principal is not { } principal) return default;
        ReadOnlySequence<byte> token = message.Slice(offset, length);
        // Cancellations only, off the calls' path: a token split across pipe segments is copied.
        ReadOnlySpan<byte> id = token.IsSingleSegment ? token.FirstSpan : token.ToArray();
        return _rt.InFlightCalls.Find(scope, federated, principal.Subject, principal.Issuer, principal.IsAnonymous, sessionId, id, cancel);
    }

    /// <summary>
    /// The caller cancels the call its notifications/cancelled names: held, it is withdrawn there and then; being written,
    /// this waits (bounded by the route's response timeout, which bounds the write too) until it was, and looks again; so a
    /// cancellation never reaches the upstream before its call. Not found: default.
    /// </summary>
    private async ValueTask<InFlightMatch> CancelCallAsync(ReadOnlySequence<byte> body, string scope, bool federated, int timeoutMs)
    {
        InFlightMatch match = FindCancelledCall(body, _exchange.Call.CancelledIdRange, scope, federated, InFlightSession(federated), cancel: true);
        if (match.Written is not { } written) return match;
        try
        {
            await written.WaitAsync(TimeSpan.FromMilliseconds(timeoutMs)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Still not written: it is not at the upstream, so there is nothing to forward to (fail closed).
            return default;
        }
        match = FindCancelledCall(body, _exchange.Call.CancelledIdRange, scope, federated, InFlightSession(federated));
        return match.State == InFlightState.Forwarded ? match : default;
    }

    /// <summary>
    /// Whether another caller has a call under the same id at the upstream a cancellation is about to reach without a
    /// session (<see cref="InFlightCalls.OtherCallerHas"/>): then it is not forwarded.
    /// </summary>
    private bool CancellationIsAmbiguous(in ReadOnlySequence<byte> message, Range cancelledId, InFlightMatch match)
    {
        if (!match.AtSessionlessUpstream || match.Upstream is not { } upstream || _exchange.Principal is not { } principal) return false;
        (int offset, int length) = cancelledId.GetOffsetAndLength(int.MaxValue);
        ReadOnlySequence<byte> token = message.Slice(offset, length);
        ReadOnlySpan<byte> id = token.IsSingleSegment ? token.FirstSpan : token.ToArray();
        return _rt.InFlightCalls.OtherCallerHas(upstream, principal.Subject, principal.Issuer, id);
    }

    /// <summary>
    /// A plain route's cancellation, once the policy allowed it: null when it is forwarded (it names the caller's call, written
    /// to the upstream, and no other caller's there under the same id), else the exchange's outcome (refused as not the
    /// caller's or as ambiguous, or the caller's held call withdrawn).
    /// </summary>
    private async ValueTask<bool?> CancellationStopsAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded)
    {
        UpstreamRoute route = _exchange.Route!;
        InFlightMatch match = await CancelCallAsync(body, route.Name, federated: false, route.Options.ResponseTimeoutMs).ConfigureAwait(false);
        if (!match.Found) return await RefuseCancellationAsync(body, recorded).ConfigureAwait(false);
        if (match.State == InFlightState.Withdrawn) return await WithdrawHeldCallAsync(body, recorded, match.Approval).ConfigureAwait(false);
        if (CancellationIsAmbiguous(body, _exchange.Call.CancelledIdRange, match)) return await RefuseAmbiguousCancellationAsync(body, recorded).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// A cancellation that names no call of the caller's in flight there: not forwarded, recorded as denied by (cancel-not-yours)
    /// and counted with the policy's denials. A notification gets 202 (a cancellation of an unknown or finished request is
    /// ignored, so a client that raced its answer is not broken); one sent as a request gets a JSON-RPC error.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RefuseCancellationAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded)
    {
        _exchange.Decision = PolicyEngine.RefuseCancelNotYours();
        const string reason = "cancellation not forwarded: no request with this id is in flight for this caller on this upstream";
        if (_exchange.Call.Kind != McpMessageKind.Notification)
            return await RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.InvalidParams, "no request with this id is in flight for this caller"u8.ToArray(), reason).ConfigureAwait(false);
        if (!await CountAndRecordDenialAsync(recorded, reason).ConfigureAwait(false))
            return await AuditUnavailableAsync(body).ConfigureAwait(false);
        return await AcceptNotificationAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// A cancellation of the caller's own call, written to an upstream without a session, where another caller has a call in
    /// flight under the same id: the upstream could only stop whichever it finds first, maybe the other caller's, so it is not
    /// forwarded (the gateway does not rewrite ids). Recorded as denied by (cancel-ambiguous), counted with the policy's
    /// denials and in fastmcp_cancellations_ambiguous_total; answered as a cancellation that is not the caller's.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RefuseAmbiguousCancellationAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded)
    {
        _exchange.Decision = PolicyEngine.RefuseCancelAmbiguous();
        Admin.GatewayCounters.Add(ref _rt.Counters.CancellationsAmbiguous);
        const string reason = "cancellation not forwarded: another caller has a request with this id in flight at this upstream, which has no session to tell them apart";
        if (_exchange.Call.Kind != McpMessageKind.Notification)
        {
            return await RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.InvalidParams,
                "another caller has a request with this id in flight at this upstream: not forwarded"u8.ToArray(), reason).ConfigureAwait(false);
        }
        if (!await CountAndRecordDenialAsync(recorded, reason).ConfigureAwait(false))
            return await AuditUnavailableAsync(body).ConfigureAwait(false);
        return await AcceptNotificationAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The caller cancelled its own call before it was written to the upstream (held for approval, or approved and not yet
    /// written): the table already marked it withdrawn, so its forward will not write it. The approval is cancelled and
    /// recorded (ApprovalExpired, "cancelled: withdrawn by the caller …"), the held exchange ends without an answer, and
    /// nothing reaches the upstream, which never got the call. The cancellation itself is recorded as the request it is.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WithdrawHeldCallAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, Approvals.PendingApproval? held)
    {
        if (!await RecordRequestOrRefuseAsync(recorded).ConfigureAwait(false)) return true;
        if (held is not null && _rt.Approvals is { } broker) await broker.WithdrawAsync(held, WithdrawnReason).ConfigureAwait(false);
        // Decided meanwhile (denied, expired): the hold answers with that; it was not going to be forwarded anyway.
        if (held is not null && WithdrawnByCaller(held))
            Log.Info($"approval {held.Id}: withdrawn by {_exchange.Principal!.Subject} (notifications/cancelled); the held call was not forwarded");
        return await AcceptNotificationAsync().ConfigureAwait(false);
    }

    /// <summary>The answer a notification gets when the gateway takes it itself: 202 Accepted, no body.</summary>
    private async ValueTask<bool> AcceptNotificationAsync()
    {
        _exchange.ResponseStatus = 202;
        GatewayResponses.WriteSimple(_output, 202, "application/json"u8, default, close: ClosesAfterExchange);
        await FlushToClientAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// A federated path's cancellation goes only to the member that has the call it names (decided and recorded for that
    /// member), never to every member; one naming no call of the caller's in this session is refused as on a plain route.
    /// </summary>
    private async ValueTask<bool> CancelOnMemberAsync(FederatedRoute federation, FederationSession session, ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded)
    {
        int timeoutMs = 0;
        foreach (UpstreamRoute m in federation.Members) timeoutMs = Math.Max(timeoutMs, m.Options.ResponseTimeoutMs);
        InFlightMatch match = await CancelCallAsync(body, federation.PathText, federated: true, timeoutMs).ConfigureAwait(false);
        if (!match.Found || match.Member >= federation.Members.Length || !session.Initialized[match.Member])
            return await RefuseCancellationAsync(body, recorded).ConfigureAwait(false);
        UpstreamRoute member = federation.Members[match.Member];
        _exchange.Route = member;
        if (match.State == InFlightState.Withdrawn) return await WithdrawHeldCallAsync(body, recorded, match.Approval).ConfigureAwait(false);
        if (CancellationIsAmbiguous(body, _exchange.Call.CancelledIdRange, match)) return await RefuseAmbiguousCancellationAsync(body, recorded).ConfigureAwait(false);
        (Admission admission, byte[] message) = await AdmitForMemberAsync(member, body, recorded, new HashSet<CompiledRule>()).ConfigureAwait(false);
        if (admission != Admission.Allowed && await FanOutStopsAsync(admission, body, recorded) is { } stop) return stop;
        if (admission == Admission.Refused)
        {
            PolicyDecision denied = _exchange.Decision!.Value;
            return await AnswerDeniedNotificationAsync(body, denied).ConfigureAwait(false);
        }
        MemberAnswer answer = await MemberCall.SendAsync(member, _rt.Limits, "POST", message, session.MemberSessions[match.Member], session.MemberVersions[match.Member],
            _clientAddress, _rt.PublicScheme, _request.Headers.GetMemory(KnownHeader.Authorization), CancellationToken.None).ConfigureAwait(false);
        if (!answer.Ok && _rt.LogRateLimit.TryTake("federated notification", member.Name, FailureDetail(answer), out int held2))
            Log.Warn($"federated {federation.PathText}: upstream '{member.Name}' did not take a cancellation ({(answer.Error != ForwardingError.None ? answer.Error.ToString() : $"HTTP {answer.Status}")})" + LogRateLimit.Held(held2));
        _exchange.Route = null;
        return await AcceptNotificationAsync().ConfigureAwait(false);
    }

    /// <summary>A federated cancellation the member's policy refused (recorded by the admission): the client is told, as on a plain route.</summary>
    private async ValueTask<bool> AnswerDeniedNotificationAsync(ReadOnlySequence<byte> body, PolicyDecision denied)
    {
        Admin.GatewayCounters.Add(ref _rt.Counters.PolicyDenied);
        _exchange.ResponseStatus = 403;
        GatewayResponses.WriteJsonRpcError(_output, _scratch, 403, body, _exchange.Call.IdRange, Stages.PolicyAuthorization.ClientErrorCode(denied),
            Encoding.UTF8.GetBytes(denied.Message), close: ClosesAfterExchange);
        await FlushToClientAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// A batch may carry cancellations only of the caller's calls written to the upstream: one naming anything else (a held
    /// call, withdrawn only by a cancellation sent alone; one still being written; one another caller has under the same id at
    /// a sessionless upstream) refuses the batch whole, as the batch's other refusals do.
    /// </summary>
    private bool BatchCancelsOthers(in ReadOnlySequence<byte> body, BatchMembers batch)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            ref McpCall member = ref batch.Calls[i];
            if (member.Method != McpMethod.NotificationsCancelled) continue;
            ReadOnlySequence<byte> message = batch.Member(body, i);
            InFlightMatch match = FindCancelledCall(message, member.CancelledIdRange, _exchange.Route!.Name, federated: false, _exchange.UpstreamSessionId);
            if (!match.Found || match.State != InFlightState.Forwarded || CancellationIsAmbiguous(message, member.CancelledIdRange, match)) return true;
        }
        return false;
    }
}
