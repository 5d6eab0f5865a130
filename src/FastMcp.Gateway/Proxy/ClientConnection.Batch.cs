using System.Buffers;
using System.Text;
using FastMcp.Gateway.Stages;
using FastMcp.Http;
using FastMcp.Mcp;
using FastMcp.Policy;
using System.Runtime.CompilerServices;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// JSON-RPC batches (docs/mcp-handling.md, "Batches"). Only MCP 2025-03-26 has them (also the
/// version assumed when MCP-Protocol-Version is absent); any other version gets 400. A 2025-03-26
/// batch is decided member by member as if each had come alone, and goes upstream only whole: when
/// one member is denied or needs an approval, nothing is forwarded and every request member gets
/// an error. Each member is recorded in the audit on its own.
/// </summary>
internal sealed partial class ClientConnection
{
    private BatchMembers? _batch;
    // The batch as recorded (masked copy or the masked body); member ranges hold in it too.
    private ReadOnlySequence<byte> _batchRecorded;

    /// <summary>True when an allowed member's rule names a masking profile: one batch is masked one way, so it is refused.</summary>
    private static bool PicksMaskProfile(BatchMembers batch)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            if (IsDecided(batch.Calls[i]) && batch.Decisions[i] is { Action: PolicyAction.Allow, MaskProfile: not null }) return true;
        }
        return false;
    }

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> HandleBatchAsync(ReadOnlySequence<byte> body)
    {
        ReadOnlySpan<byte> versionHeader = _request.Headers.Get(KnownHeader.McpProtocolVersion);
        ReadOnlySpan<byte> version = HttpTokens.TrimOws(versionHeader);
        if (version.IsEmpty) version = McpProtocolVersions.AssumedWhenAbsent;
        if (!McpProtocolVersions.AllowsBatches(version))
        {
            return await AnswerAsync(400, JsonRpcErrorCodes.InvalidRequest, BatchesNotAllowed(version), closeAfter: false).ConfigureAwait(false);
        }

        // A mirrored header cannot stand for several members: Mcp-Method or Mcp-Name on a batch is a mismatch.
        McpHeaderMismatch mismatch = McpHeaderCheck.Check(body, _exchange.Call,
            _request.Headers.Get(KnownHeader.McpMethod), _request.Headers.Get(KnownHeader.McpName), versionHeader);
        if (mismatch != McpHeaderMismatch.None)
            return await AnswerAsync(400, JsonRpcErrorCodes.HeaderMismatch, McpRejections.Message(mismatch), closeAfter: false).ConfigureAwait(false);

        BatchMembers batch = _batch ??= new BatchMembers();
        batch.Reset();
        _batchRecorded = default;
        McpBatchError located = McpBatch.LocateMembers(body, batch.Ranges, out int count);
        if (located != McpBatchError.None)
            return await AnswerAsync(400, JsonRpcErrorCodes.InvalidRequest, BatchRefusal(located), closeAfter: false).ConfigureAwait(false);

        for (int i = 0; i < count; i++)
        {
            ReadOnlySequence<byte> member = batch.Member(body, i);
            McpInspectError error = McpInspector.Inspect(member, out batch.Calls[i]);
            // A member is a message of its own: a nested batch, or a kind without a route, is refused with the batch.
            if (error == McpInspectError.None && MessageRouting.For(batch.Calls[i].Kind) is not (MessageRoute.Decide or MessageRoute.AnswerToServer))
                error = McpInspectError.NotAnObject;
            if (error != McpInspectError.None)
            {
                return await AnswerAsync(400, McpRejections.JsonRpcCode(error), MemberRefusal(i, McpRejections.Message(error)), closeAfter: false).ConfigureAwait(false);
            }
            mismatch = McpHeaderCheck.Check(member, batch.Calls[i], default, default, versionHeader);
            if (mismatch != McpHeaderMismatch.None)
            {
                return await AnswerAsync(400, JsonRpcErrorCodes.HeaderMismatch, MemberRefusal(i, McpRejections.Message(mismatch)), closeAfter: false).ConfigureAwait(false);
            }
            batch.Count = i + 1;
            if (batch.Calls[i].Kind == McpMessageKind.Request && batch.AddRequestId(i, member) is int earlier and >= 0)
            {
                return await AnswerAsync(400, JsonRpcErrorCodes.InvalidRequest,
                    Encoding.UTF8.GetBytes($"Invalid request: batch members {earlier + 1} and {i + 1} have the same id"), closeAfter: false).ConfigureAwait(false);
            }
        }
        _exchange.Batch = batch;

        // Decided on the batch as the client sent it (containsCardNumber sees the card numbers); masked afterwards.
        ReadOnlySequence<byte> recorded = body;
        // Requests and notifications are decided by policy, every one of them (so each is recorded with
        // its own decision); answers to server requests pass.
        bool refused = false;
        if (_rt.Authorization is { } authorization)
        {
            for (int i = 0; i < count; i++)
            {
                ref McpCall call = ref batch.Calls[i];
                if (!IsDecided(call)) continue;
                batch.Decisions[i] = authorization.Decide(_exchange.Principal!, call, batch.Member(body, i), _scratch, _exchange.Route!.Name, _request.Query, _exchange.ClientAddress);
                refused |= batch.Decisions[i].Action != PolicyAction.Allow;
            }
            batch.Decided = true;
            // Every member an allow rule with a budget lets through takes from it; one past it refuses the batch.
            for (int i = 0; i < count; i++)
            {
                if (IsDecided(batch.Calls[i]) && !TakeRuleBudget(batch.Decisions[i]))
                    return await RuleRateLimitedAsync(body).ConfigureAwait(false);
            }
        }

        // Card numbers: as for a single message (the masked copy has the batch's length, so member ranges hold in it).
        if (_rt.Masking is { } masking)
        {
            _exchange.Masking = masking;
            RequestCardOutcome outcome = masking.ApplyToRequest(_exchange, body, _request, _maskedCopy, out recorded);
            _batchRecorded = recorded;
            if (!refused && batch.Decided && PicksMaskProfile(batch))
                return await RefuseBatchAsync(body, recorded, "a batch member's rule picks a masking profile: send that call alone", "masking profile in a batch").ConfigureAwait(false);
            if (outcome == RequestCardOutcome.BlockedCard)
                return await RefuseBatchAsync(body, recorded, "the batch contains a card number", "card number blocked").ConfigureAwait(false);
            if (outcome == RequestCardOutcome.BlockedNumber)
                return await RefuseBatchAsync(body, recorded, "the batch contains a card number written as a JSON number", "card number blocked (JSON number)").ConfigureAwait(false);
            if (outcome == RequestCardOutcome.BlockedSensitiveData)
                return await RefuseBatchAsync(body, recorded, "the batch contains sensitive authentication data (a card security code or PIN)", "sensitive authentication data blocked").ConfigureAwait(false);
        }
        // An answer to a server request the gateway denied (and answered itself) never reaches the upstream, in a batch either.
        for (int i = 0; i < count && !_rt.DeniedServerRequests.IsEmpty; i++)
        {
            if (MessageRouting.For(batch.Calls[i].Kind) == MessageRoute.AnswerToServer && AnswersDeniedServerRequest(batch.Member(body, i), batch.Calls[i].IdRange))
                return await RefuseBatchAsync(body, recorded, "a batch member answers a server request the gateway's policy denied", "answer to a denied server request")
                    .ConfigureAwait(false);
        }
        // Tasks created in a batch's answer are not bound to their caller, so no tasks request may ride in one.
        if (_rt.TaskBindings is not null && HasTasksMember(batch))
            return await RefuseBatchAsync(body, recorded, "tasks requests are not accepted in a batch: send each alone", "tasks request in a batch").ConfigureAwait(false);
        // A cancellation rides in a batch only for the caller's own call at the upstream (ClientConnection.Cancellations.cs).
        if (!refused && BatchCancelsOthers(body, batch))
            return await RefuseBatchAsync(body, recorded, "a batch member cancels a request that is not the caller's in flight at the upstream (a held call is withdrawn by a cancellation sent alone)",
                "cancellation in a batch not forwarded: (cancel-not-yours)").ConfigureAwait(false);
        // Refused after masking, so the denial records hold no full card number.
        if (refused) return await RefuseBatchAsync(body, recorded, wholeMessage: null, wholeReason: null).ConfigureAwait(false);

        if (!await RecordBatchRequestsOrRefuseAsync(body, recorded, batch).ConfigureAwait(false)) return true;
        return await ForwardAsync(body, hasBody: true).ConfigureAwait(false);
    }

    /// <summary>Strict audit: one request record per member, all durable before the batch is forwarded.</summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RecordBatchRequestsOrRefuseAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, BatchMembers batch)
    {
        if (_rt.Audit is not { } audit) return true;
        try
        {
            if (!audit.IsWritable) throw new FastMcp.Audit.AuditUnavailableException("audit log not writable");
            for (int i = 0; i < batch.Count; i++)
            {
                ViewMember(body, batch, i);
                await audit.RecordRequestAsync(_exchange, _auditScratch, RemoteAddress, batch.Member(recorded, i)).ConfigureAwait(false);
            }
            return true;
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            ViewWholeBatch(body);
            await AuditUnavailableAsync(body).ConfigureAwait(false);
            return false;
        }
        finally
        {
            ViewWholeBatch(body);
        }
    }

    /// <summary>
    /// Refuses the whole batch: nothing is forwarded. Every request member gets an error, in one JSON
    /// array (HTTP 200): a refused member its own reason (-32001 denied, -32002 approval required,
    /// approvals are never opened for batch members), the others that they were not forwarded
    /// because of it (with the first refused member's code). A batch of notifications and answers has
    /// no id to answer: HTTP 403 with one error, id null. <paramref name="wholeMessage"/> refuses the
    /// batch as such (a card number in block mode). Every request and notification member is recorded
    /// as denied, with its own reason.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RefuseBatchAsync(ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, string? wholeMessage, string? wholeReason)
    {
        Admin.GatewayCounters.Add(ref _rt.Counters.PolicyDenied);
        BatchMembers batch = _exchange.Batch!;
        int first = -1;
        for (int i = 0; i < batch.Count && first < 0 && wholeMessage is null; i++)
        {
            if (IsRefused(batch, i)) first = i;
        }
        string notForwarded = wholeMessage ?? $"not forwarded: batch member {first + 1} was refused";
        if (_rt.Audit is { } audit)
        {
            try
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    if (!IsDecided(batch.Calls[i])) continue;
                    ViewMember(body, batch, i);
                    string reason = wholeReason ?? (IsRefused(batch, i) ? AuditReason(batch.Decisions[i]) : notForwarded);
                    await audit.RecordDenialAsync(_exchange, _auditScratch, RemoteAddress, batch.Member(recorded, i), reason).ConfigureAwait(false);
                }
            }
            catch (FastMcp.Audit.AuditUnavailableException)
            {
                ViewWholeBatch(body);
                return await AuditUnavailableAsync(body).ConfigureAwait(false);
            }
            finally
            {
                ViewWholeBatch(body);
            }
        }

        int firstCode = first < 0 ? JsonRpcErrorCodes.Forbidden : ClientCode(batch.Decisions[first]);
        byte[] othersMessage = Encoding.UTF8.GetBytes(notForwarded);
        _scratch.Clear();
        int answered = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            ref McpCall call = ref batch.Calls[i];
            if (call.Kind != McpMessageKind.Request) continue;
            _scratch.Write(answered++ == 0 ? "["u8 : ","u8);
            bool own = wholeMessage is null && IsRefused(batch, i);
            JsonRpcErrorWriter.Write(_scratch, batch.Member(body, i), call.IdRange, own ? ClientCode(batch.Decisions[i]) : firstCode,
                own ? Encoding.UTF8.GetBytes(ClientMessage(batch.Decisions[i])) : othersMessage);
        }
        if (answered == 0)
        {
            // Notifications only: the refused one's reason, as a denied lone notification gets it.
            _exchange.ResponseStatus = 403;
            byte[] message = first >= 0 ? Encoding.UTF8.GetBytes(ClientMessage(batch.Decisions[first])) : othersMessage;
            GatewayResponses.WriteJsonRpcError(_output, _scratch, 403, firstCode, message, close: ClosesAfterExchange);
        }
        else
        {
            _scratch.Write("]"u8);
            _exchange.ResponseStatus = 200;
            GatewayResponses.WriteHead(_output, 200, "application/json"u8, _scratch.WrittenCount, close: ClosesAfterExchange, default);
            _output.Write(_scratch.WrittenSpan);
        }
        await FlushToClientAsync().ConfigureAwait(false);
        return true;
    }

    private static bool IsDecided(in McpCall call) => MessageRouting.For(call.Kind) == MessageRoute.Decide;

    private static bool IsRefused(BatchMembers batch, int i) =>
        batch.Decided && IsDecided(batch.Calls[i]) && batch.Decisions[i].Action != PolicyAction.Allow;

    private static int ClientCode(in PolicyDecision decision) =>
        decision.Action == PolicyAction.RequireApproval ? JsonRpcErrorCodes.ApprovalRequired : PolicyAuthorization.ClientErrorCode(decision);

    private static string ClientMessage(in PolicyDecision decision) => decision.Action == PolicyAction.RequireApproval
        // An approval is for one call a person can read: it is never opened for a member of a batch.
        ? $"approval required: {decision.Message}; a call that needs approval cannot be sent in a batch, send it on its own"
        : decision.Message;

    private static string AuditReason(in PolicyDecision decision) => decision.Action == PolicyAction.RequireApproval
        ? $"approval required by {decision.Rule?.Name}: not opened for a batch member"
        : $"denied by {decision.Rule?.Name ?? "default"}";

    /// <summary>Points the exchange at one member, so that what is recorded names that member's method, target, id and decision.</summary>
    private void ViewMember(in ReadOnlySequence<byte> body, BatchMembers batch, int index)
    {
        _exchange.Body = batch.Member(body, index);
        _exchange.Recorded = _batchRecorded.IsEmpty ? default : batch.Member(_batchRecorded, index);
        _exchange.Call = batch.Calls[index];
        _exchange.Decision = batch.Decided && IsDecided(batch.Calls[index]) ? batch.Decisions[index] : null;
    }

    /// <summary>Points the exchange back at the whole batch (the answer is the batch's).</summary>
    private void ViewWholeBatch(in ReadOnlySequence<byte> body)
    {
        _exchange.Body = body;
        _exchange.Recorded = _batchRecorded;
        _exchange.Call = default;
        _exchange.Call.Kind = McpMessageKind.Batch;
        _exchange.Decision = null;
    }

    private static byte[] BatchesNotAllowed(ReadOnlySpan<byte> version)
    {
        const int Shown = 64; // the header is the client's; echo a bounded part of it
        string text = Encoding.UTF8.GetString(version.Length > Shown ? version[..Shown] : version);
        return Encoding.UTF8.GetBytes($"Invalid request: batches are not allowed in protocol version {text} (only in 2025-03-26)");
    }

    private static byte[] BatchRefusal(McpBatchError error) => error switch
    {
        McpBatchError.Empty => "Invalid request: empty batch"u8.ToArray(),
        McpBatchError.TooManyMembers => Encoding.UTF8.GetBytes($"Invalid request: a batch may hold at most {McpBatch.MaxMembers} messages"),
        _ => "Invalid request: not a JSON-RPC batch"u8.ToArray(),
    };

    private static byte[] MemberRefusal(int index, ReadOnlySpan<byte> why) =>
        Encoding.UTF8.GetBytes($"batch member {index + 1}: {Encoding.UTF8.GetString(why)}");
}
