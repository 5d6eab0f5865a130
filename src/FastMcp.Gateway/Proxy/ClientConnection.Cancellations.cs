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
/// same caller, in the same session, to the same upstream (on a federated path: to the member that has it, alone). One
/// naming anything else is not forwarded: recorded as denied by the built-in rule (cancel-not-yours) and answered 202, as a
/// cancellation of a finished request is ignored. One naming the caller's own held call withdraws it instead.
/// </summary>
internal sealed partial class ClientConnection
{
    private readonly InFlightCall _inFlight = new();

    /// <summary>Where this exchange's call goes, as the in-flight table scopes it: a plain route's name, or a federated path.</summary>
    private (string Scope, bool Federated, int Member) InFlightScope() => _exchange.FederationSession is not null && _exchange.Federation is { } federation
        ? (federation.PathText, true, _exchange.FederationMember)
        : (_exchange.Route!.Name, false, 0);

    /// <summary>
    /// The session id a cancellation must name with the call: the upstream's session (plain routes), or the gateway's own
    /// session id as the client sent it (federated paths, where each member's session is the gateway's).
    /// </summary>
    private ReadOnlySpan<byte> InFlightSession(bool federated) => federated ? _request.Headers.Get(KnownHeader.McpSessionId) : _exchange.UpstreamSessionId;

    /// <summary>
    /// Puts the exchange's request (a batch's requests) in the table before it reaches the upstream, or while it is held.
    /// Already there (an approved held call now forwarded): it is no longer held. Nothing allocated in steady state.
    /// </summary>
    private void TrackCallInFlight(in ReadOnlySequence<byte> body, Approvals.PendingApproval? held = null)
    {
        if (_inFlight.InTable)
        {
            _inFlight.Held = held;
            return;
        }
        if (!_exchange.HasCall || _exchange.Principal is not { } principal || _exchange.Route is null) return;
        ref McpCall call = ref _exchange.Call;
        if (call.Kind == McpMessageKind.Request)
        {
            (string scope, bool federated, int member) = InFlightScope();
            _inFlight.Begin(scope, federated, member, principal.Subject, principal.Issuer, InFlightSession(federated));
            (int offset, int length) = call.IdRange.GetOffsetAndLength(int.MaxValue);
            _inFlight.AddId(body.Slice(offset, length));
        }
        else if (call.Kind == McpMessageKind.Batch && _exchange.Batch is { } batch)
        {
            _inFlight.Begin(_exchange.Route.Name, false, 0, principal.Subject, principal.Issuer, _exchange.UpstreamSessionId);
            for (int i = 0; i < batch.Count; i++)
            {
                if (batch.RequestId(i) is { IsEmpty: false } id) _inFlight.AddId(id);
            }
        }
        else
        {
            return;
        }
        _inFlight.Held = held;
        _rt.InFlightCalls.Enter(_inFlight);
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
    /// than any tracked key names nothing.
    /// </summary>
    private InFlightMatch FindCancelledCall(in ReadOnlySequence<byte> message, Range cancelledId, string scope, bool federated, ReadOnlySpan<byte> sessionId)
    {
        (int offset, int length) = cancelledId.GetOffsetAndLength(int.MaxValue);
        if (length == 0 || length > InFlightCall.MaxKeyBytes || _exchange.Principal is not { } principal) return default;
        ReadOnlySequence<byte> token = message.Slice(offset, length);
        // Cancellations only, off the calls' path: a token split across pipe segments is copied.
        ReadOnlySpan<byte> id = token.IsSingleSegment ? token.FirstSpan : token.ToArray();
        return _rt.InFlightCalls.Find(scope, federated, principal.Subject, principal.Issuer, sessionId, id);
    }

    /// <summary>
    /// A plain route's cancellation, once the policy allowed it: null when it is forwarded (it names the caller's call at the
    /// upstream), else the exchange's outcome (refused as not the caller's, or the caller's held call withdrawn).
    /// </summary>
    private async ValueTask<bool?> CancellationStopsAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded)
    {
        UpstreamRoute route = _exchange.Route!;
        InFlightMatch match = FindCancelledCall(body, _exchange.Call.CancelledIdRange, route.Name, federated: false, _exchange.UpstreamSessionId);
        if (!match.Found) return await RefuseCancellationAsync(body, recorded).ConfigureAwait(false);
        if (match.Held is { } held && held.State is not (Approvals.ApprovalState.Approved or Approvals.ApprovalState.Executed))
            return await WithdrawHeldCallAsync(body, recorded, held).ConfigureAwait(false);
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
    /// The caller cancelled its own call while it waits for approval (hold mode): the approval is cancelled and recorded
    /// (ApprovalExpired, "cancelled: withdrawn by the caller …"), the held exchange ends without an answer, and nothing
    /// reaches the upstream, which never got the call. The cancellation itself is recorded as the request it is.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WithdrawHeldCallAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, Approvals.PendingApproval held)
    {
        if (!await RecordRequestOrRefuseAsync(recorded).ConfigureAwait(false)) return true;
        if (_rt.Approvals is { } broker) await broker.CancelAsync(held, WithdrawnReason).ConfigureAwait(false);
        // Decided meanwhile (denied, expired): the hold answers with that; nothing was withdrawn.
        if (WithdrawnByCaller(held)) Log.Info($"approval {held.Id}: withdrawn by {_exchange.Principal!.Subject} (notifications/cancelled); the held call was not forwarded");
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
        InFlightMatch match = FindCancelledCall(body, _exchange.Call.CancelledIdRange, federation.PathText, federated: true, _request.Headers.Get(KnownHeader.McpSessionId));
        if (!match.Found || match.Member >= federation.Members.Length || !session.Initialized[match.Member])
            return await RefuseCancellationAsync(body, recorded).ConfigureAwait(false);
        UpstreamRoute member = federation.Members[match.Member];
        _exchange.Route = member;
        if (match.Held is { } held && held.State is not (Approvals.ApprovalState.Approved or Approvals.ApprovalState.Executed))
            return await WithdrawHeldCallAsync(body, recorded, held).ConfigureAwait(false);
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
    /// A batch may carry cancellations only of the caller's calls in flight at the upstream: one naming anything else (or a
    /// held call, withdrawn only by a cancellation sent alone) refuses the batch whole, as the batch's other refusals do.
    /// </summary>
    private bool BatchCancelsOthers(in ReadOnlySequence<byte> body, BatchMembers batch)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            ref McpCall member = ref batch.Calls[i];
            if (member.Method != McpMethod.NotificationsCancelled) continue;
            InFlightMatch match = FindCancelledCall(batch.Member(body, i), member.CancelledIdRange, _exchange.Route!.Name, federated: false, _exchange.UpstreamSessionId);
            if (!match.Found || match.Held is not null) return true;
        }
        return false;
    }
}
