using System.Buffers;
using System.Threading.Channels;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Federation;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// GET on a federated path: the session's server-to-client stream. The gateway opens the GET stream of every member in
/// the session (each with the member's own session, each recorded as on a plain path) and relays their events into one
/// stream to the client: notifications (list_changed, resources/updated, logging, progress) as the member sent them,
/// and requests (sampling, elicitation, roots) under ids the gateway gives, so the client's answer goes back to the
/// member that asked. Every event passes the same response stages (masking) as on a plain path, and is recorded as on a
/// plain GET stream: each message on its own before it is relayed (a message the audit log cannot take ends the client's
/// stream). An event that cannot be made safe, or whose data is not a readable JSON-RPC message, is withheld, recorded,
/// and ends that member's stream. The stream ends when every member's has ended, or when the client leaves.
/// A GET with Last-Event-ID resumes one member's stream (a member may end a call's stream mid-call and replay the rest
/// on resumption, SEP-1699): with one member its ids are relayed as sent; with several each id reaches the client as
/// "&lt;member&gt;&lt;separator&gt;&lt;id&gt;" (Federation/ServerRequestRelay.cs), so the gateway knows whose it is.
/// </summary>
internal sealed partial class ClientConnection
{
    private async ValueTask<bool> RelayFederatedStreamsAsync(FederatedRoute federation)
    {
        if (FindFederatedSession(federation, out int status, out byte[] problem) is not { } session)
            return await AnswerAsync(status, JsonRpcErrorCodes.InvalidRequest, problem, closeAfter: false).ConfigureAwait(false);
        ReadOnlySpan<byte> lastEventIdHeader = _request.Headers.Get(KnownHeader.LastEventId);
        byte[] resumeFrom = [];
        int resumeMember = -1;
        if (!lastEventIdHeader.IsEmpty)
        {
            if (lastEventIdHeader.IndexOfAnyInRange((byte)0, (byte)0x1F) >= 0 || lastEventIdHeader.Contains((byte)0x7F))
                return await AnswerAsync(400, JsonRpcErrorCodes.InvalidRequest, "Last-Event-ID holds a control character"u8, closeAfter: false).ConfigureAwait(false);
            if (federation.Members.Length == 1)
            {
                resumeMember = 0;
                resumeFrom = lastEventIdHeader.ToArray();
            }
            else
            {
                resumeMember = federation.MemberOf(System.Text.Encoding.UTF8.GetString(lastEventIdHeader), out string memberEventId);
                if (resumeMember < 0)
                    return await AnswerAsync(400, JsonRpcErrorCodes.InvalidRequest,
                        System.Text.Encoding.UTF8.GetBytes($"Last-Event-ID names no upstream of this federated path (event ids here are <upstream>{federation.Separator}<id>)"),
                        closeAfter: false).ConfigureAwait(false);
                resumeFrom = System.Text.Encoding.UTF8.GetBytes(memberEventId);
            }
        }
        var streams = new List<MemberStream>(federation.Members.Length);
        PolicyDecision? firstRefusal = null;
        bool anyAllowed = false;
        var charged = new HashSet<CompiledRule>();
        try
        {
            for (int i = 0; i < federation.Members.Length; i++)
            {
                // A resumption is of one member's stream; the others' go on where they are.
                if (!session.Initialized[i] || (resumeMember >= 0 && i != resumeMember)) continue;
                UpstreamRoute member = federation.Members[i];
                _exchange.Route = member;
                // Each member's GET is decided as the caller's initialize on that member would be now: one the caller may
                // not initialize on gets no GET on their behalf (its refusal recorded).
                (bool allowed, bool auditRefused) = await DecideMemberSessionRequestAsync(member.Name).ConfigureAwait(false);
                if (auditRefused) return await AuditUnavailableAsync(default).ConfigureAwait(false);
                if (!allowed)
                {
                    firstRefusal ??= _exchange.Decision;
                    continue;
                }
                anyAllowed = true;
                // Past the allowing rule's budget: 429, and no member after this one gets a GET.
                if (!TakeSessionRequestBudget(charged)) return await RuleRateLimitedAsync(default).ConfigureAwait(false);
                // The member's events are masked with the profile of the rule that allowed the GET on it (else the default).
                if (_rt.Masking is not null && PickSessionRequestMasking() is null) return await RefuseMissingProfileAsync().ConfigureAwait(false);
                PanMasking? memberMasking = _exchange.Masking;
                // Each member's GET is recorded before it is sent (Strict: durably), as on a plain path.
                if (!await RecordRequestOrRefuseAsync(default).ConfigureAwait(false)) return true;
                (MemberStream? stream, int memberStatus, ForwardingError error) = await MemberStream.OpenAsync(member, i, _rt.Limits, session.MemberSessions[i],
                    session.MemberVersions[i], _clientAddress, _rt.PublicScheme, CancellationToken.None, resumeFrom,
                    _request.Headers.GetMemory(KnownHeader.Authorization)).ConfigureAwait(false);
                if (stream is null)
                {
                    Log.Debug($"federated {federation.PathText}: upstream '{member.Name}' gave no event stream ({(error != ForwardingError.None ? error.ToString() : $"HTTP {memberStatus}")})");
                    continue;
                }
                stream.Masking = memberMasking;
                streams.Add(stream);
            }
            _exchange.Route = null;
            if (!anyAllowed && firstRefusal is { } refusal) return await AnswerNoMemberAllowedAsync(refusal).ConfigureAwait(false);
            if (streams.Count == 0)
                return await AnswerAsync(405, JsonRpcErrorCodes.InvalidRequest, "no upstream of this federated path offers an event stream for this session"u8,
                    closeAfter: false, "Allow: POST, DELETE\r\n"u8).ConfigureAwait(false);
            return await MultiplexMemberStreamsAsync(session, streams).ConfigureAwait(false);
        }
        finally
        {
            foreach (MemberStream stream in streams) stream.Dispose();
            _exchange.FederationSession = null;
        }
    }

    /// <summary>
    /// Relays the members' events into one stream. A fresh merged stream answers no request of the client's; a GET with
    /// Last-Event-ID replays one member's stream, a call's maybe, whose answer it may carry when that call's stream ended
    /// before it (Forwarding/UnaskedAnswer.cs).
    /// </summary>
    private async ValueTask<bool> MultiplexMemberStreamsAsync(FederationSession session, List<MemberStream> streams)
    {
        // An HTTP/1.0 client cannot read chunks: its stream is delimited by closing.
        bool chunked = _request.IsHttp11;
        _exchange.ResponseStatus = 200;
        GatewayResponses.WriteStatusLine(_output, 200);
        _output.Write("Content-Type: text/event-stream\r\nCache-Control: no-cache\r\nX-Accel-Buffering: no\r\n"u8);
        _output.Write(chunked ? "Transfer-Encoding: chunked\r\n\r\n"u8 : "Connection: close\r\n\r\n"u8);

        // A bounded channel: a client that reads slowly holds the members' reads back instead of growing memory.
        Channel<MemberEvent> channel = Channel.CreateBounded<MemberEvent>(new BoundedChannelOptions(64) { SingleReader = true });
        using var stop = new CancellationTokenSource();
        var pumps = new Task[streams.Count];
        for (int i = 0; i < streams.Count; i++) pumps[i] = streams[i].PumpAsync(channel.Writer, i, stop.Token);
        _ = Task.WhenAll(pumps).ContinueWith(static (_, writer) => ((ChannelWriter<MemberEvent>)writer!).TryComplete(), channel.Writer, TaskScheduler.Default);
        Task<bool> watch = WatchForClientLeavingAsync().AsTask();
        // The merged stream ends at the next event after a policy reload that no longer lets the caller initialize on a
        // merged member; under time conditions, also when the policy in force stops allowing it (checked per member).
        StreamPolicyWatch? policyWatch = WatchStreamPolicy();
        if (policyWatch is not null)
        {
            foreach (MemberStream stream in streams) policyWatch.Add(stream.Member.Name, stream.Masking);
        }
        bool heartbeat = policyWatch is { NeedsHeartbeat: true };
        // And with the client's token (identity.streamsEndWithToken): both woken by the connection's deadline.
        StreamTokenWatch? tokenWatch = null;
        if (StreamTokenWatch.Applies(_rt, _request))
        {
            tokenWatch = _streamWatch ??= new StreamTokenWatch(_rt);
            tokenWatch.MaxWakeMs = heartbeat ? StreamPolicyWatch.HeartbeatMs : int.MaxValue / 2;
            tokenWatch.Begin(_request, _timer, upstream: null, RemoteAddress, _exchange.Principal?.Subject);
        }
        else if (heartbeat)
        {
            policyWatch!.Wake(_timer, upstream: null);
        }
        Task tokenWake = TokenWake(tokenWatch is not null || heartbeat);
        bool clientGone = false, auditRefused = false, tokenEnded = false, policyEnded = false;
        Task<bool>? pendingReady = null;
        using var evt = new PooledBufferWriter(4 * 1024);
        using var joined = new PooledBufferWriter(0);
        using var memberJoined = new PooledBufferWriter(0);
        using var buffers = new TransformBuffers();
        try
        {
            if ((await FlushToClientAsync().ConfigureAwait(false)).IsCompleted) return false;
            while (true)
            {
                // Kept across a wake that did not end the stream: one wait on the channel at a time.
                Task<bool> ready = pendingReady ?? channel.Reader.WaitToReadAsync(stop.Token).AsTask();
                pendingReady = null;
                Task first = await Task.WhenAny(ready, watch, tokenWake).ConfigureAwait(false);
                if (first == tokenWake && !ready.IsCompleted)
                {
                    if (tokenWatch is not null && tokenWatch.WokenToEnd())
                    {
                        tokenEnded = true;
                        break;
                    }
                    if (policyWatch is not null && policyWatch.WokenToEnd())
                    {
                        policyEnded = true;
                        break;
                    }
                    tokenWake = TokenWake(wakes: true);
                    pendingReady = ready;
                    continue;
                }
                if (first == watch && !ready.IsCompleted)
                {
                    if (await watch.ConfigureAwait(false))
                    {
                        clientGone = true;
                        break;
                    }
                    // The client sent bytes on this connection (it will be read after the stream): stop watching.
                    watch = new TaskCompletionSource<bool>().Task;
                }
                if (!await ready.ConfigureAwait(false)) break; // every member's stream ended
                while (channel.Reader.TryRead(out MemberEvent item))
                {
                    MemberStream stream = streams[item.Stream];
                    if (stream.Ended) continue; // queued before its stream was ended at a withheld event
                    if (tokenWatch is not null && tokenWatch.Check() != StreamEndReason.None)
                    {
                        tokenEnded = true;
                        break;
                    }
                    if (policyWatch is not null && policyWatch.Check() != StreamEndReason.None)
                    {
                        policyEnded = true;
                        break;
                    }
                    evt.Clear();
                    evt.Write(item.Bytes);
                    _exchange.Route = stream.Member;
                    _exchange.FederationSession = session;
                    _exchange.FederationMember = stream.Index;
                    if (item.Oversized)
                    {
                        // Cut at the bound, its card numbers could be cut too: recorded without its data, as on a plain path.
                        RecordWithheldEvent(_exchange, default, WithheldEventReason.TooLarge);
                        stream.End();
                        continue;
                    }
                    // Masked with this member's masking as last decided (the watch picks it again after a reload).
                    _exchange.Masking = policyWatch is null ? stream.Masking : policyWatch.Masking(item.Stream);
                    bool safe = ApplyEventTransforms(evt, buffers);
                    ReadOnlyMemory<byte> json = default;
                    McpResponseView view = default;
                    // Read even when a stage refused it: a refusal for being unreadable is recorded as such.
                    StreamEventContent content = StreamEventMessage.Read(evt.WrittenMemory, joined, out json, out view);
                    if (!safe || content is StreamEventContent.Unreadable or StreamEventContent.Undecodable)
                    {
                        // Nothing after it from this member is trusted either: its stream ends, the others go on.
                        RecordWithheldEvent(_exchange, StreamEventMessage.Data(evt.WrittenMemory, joined),
                            ResponseRelay.WithheldReason(content, stagesPassed: false));
                        stream.End();
                        continue;
                    }
                    // An answer here would be taken by the client for one of its own pending calls, maybe one it sent another
                    // member: a member answering what it was not asked is not trusted for the rest of its stream either.
                    // A resumption may answer a call of the caller's whose stream ended before its answer (Forwarding/UnaskedAnswer.cs).
                    if (content == StreamEventContent.Message && view.Kind is McpMessageKind.Response or McpMessageKind.ErrorResponse
                        && UnaskedAnswer.Is(_exchange, json, view, isBody: false, _rt.UnansweredCalls))
                    {
                        RecordWithheldEvent(_exchange, StreamEventMessage.Data(evt.WrittenMemory, joined), WithheldEventReason.UnaskedAnswer);
                        stream.End();
                        continue;
                    }
                    if (content == StreamEventContent.Message && view.Kind is McpMessageKind.Request or McpMessageKind.Batch
                        && ServerRequests is { DecidesNothing: false } policy)
                    {
                        MemberRequestOutcome outcome = await DecideMemberRequestAsync(policy, session, stream, item.Bytes, json, view, joined).ConfigureAwait(false);
                        if (outcome == MemberRequestOutcome.AuditRefused)
                        {
                            auditRefused = true;
                            break;
                        }
                        if (outcome != MemberRequestOutcome.Allowed) continue;
                    }
                    if (content == StreamEventContent.Message && ServerNotificationDecision.Applies(view) && NotificationRules is { } rules)
                    {
                        // Decided on the member's own event, with the member as the upstream (its URIs reach the client as it sent them).
                        ServerNotificationVerdict verdict = ServerNotificationDecision.Decide(rules, _exchange.Principal ?? Principal.Anonymous, evt.WrittenMemory, json, view,
                            item.Bytes, memberJoined, stream.Member.Name, _exchange.ClientAddress, out PolicyDecision decision);
                        if (verdict == ServerNotificationVerdict.Unreadable)
                        {
                            RecordWithheldEvent(_exchange, StreamEventMessage.Data(evt.WrittenMemory, joined), WithheldEventReason.Unreadable);
                            stream.End();
                            continue;
                        }
                        if (verdict == ServerNotificationVerdict.Denied)
                        {
                            if (RecordNotificationDenied(_exchange, json, view, decision)) continue;
                            auditRefused = true;
                            break;
                        }
                    }
                    if (content == StreamEventContent.Message && !RecordStreamMessage(_exchange, json, view))
                    {
                        auditRefused = true;
                        break;
                    }
                    ResponseRelay.WriteEventBytes(_output, evt.WrittenSpan, chunked);
                }
                if (auditRefused || tokenEnded || policyEnded) break;
                if ((await FlushToClientAsync().ConfigureAwait(false)).IsCompleted)
                {
                    clientGone = true;
                    break;
                }
            }
        }
        catch (Exception e) when (e is ClientWriteTimeoutException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException or InvalidOperationException)
        {
            clientGone = true;
        }
        finally
        {
            // The members' reads end before their connections close (MemberStream.Dispose in the caller).
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(pumps).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
            {
            }
            if (!watch.IsCompleted) _input.CancelPendingRead();
            clientGone |= await watch.ConfigureAwait(false);
            tokenWatch?.Stop();
            policyWatch?.Stop();
        }
        if (tokenEnded)
        {
            // Every member's end record says why (the members' streams were closed with the stop above).
            _exchange.StreamEnd = tokenWatch!.Ended;
            tokenWatch.CountEnd();
        }
        else if (policyEnded)
        {
            _exchange.StreamEnd = policyWatch!.Ended;
            policyWatch.CountEnd();
        }
        if (!clientGone && chunked)
        {
            ChunkedWriter.WriteTerminator(_output);
            try
            {
                clientGone = (await FlushToClientAsync().ConfigureAwait(false)).IsCompleted;
            }
            catch (ClientWriteTimeoutException)
            {
                clientGone = true;
            }
        }
        // After a refused record the log takes no end records either.
        if (!auditRefused) await RecordMemberStreamsEndAsync(streams).ConfigureAwait(false);
        return chunked && !clientGone;
    }

    /// <summary>
    /// Completes (cancelled) when the connection's deadline, armed at the token's expiry or the policy's heartbeat, passes;
    /// never when no watch <paramref name="wakes"/> the stream.
    /// </summary>
    private Task TokenWake(bool wakes) =>
        wakes ? Task.Delay(Timeout.Infinite, _timer.Token) : s_neverWakes;

    private static readonly Task s_neverWakes = new TaskCompletionSource().Task;

    private enum MemberRequestOutcome : byte { Allowed, Denied, Withheld, AuditRefused }

    /// <summary>
    /// policy.serverRequests on a member's request on the merged GET stream, decided on the member's own event. Denied: not
    /// relayed, recorded, and answered to that member in its own session; a batch (which could hide a request) or an event
    /// that cannot be read again is withheld and ends that member's stream, as any event it cannot make safe.
    /// </summary>
    private async ValueTask<MemberRequestOutcome> DecideMemberRequestAsync(ServerRequestPolicy policy, FederationSession session, MemberStream stream, byte[] memberEvent,
        ReadOnlyMemory<byte> json, McpResponseView view, PooledBufferWriter joined)
    {
        using var memberJoined = new PooledBufferWriter(0);
        if (view.Kind != McpMessageKind.Request
            || StreamEventMessage.Read(memberEvent, memberJoined, out ReadOnlyMemory<byte> memberJson, out McpResponseView memberView) != StreamEventContent.Message
            || memberView.Kind != McpMessageKind.Request)
        {
            RecordWithheldEvent(_exchange, StreamEventMessage.Data(json.IsEmpty ? memberEvent : json, joined), WithheldEventReason.Unsafe);
            stream.End();
            return MemberRequestOutcome.Withheld;
        }
        PolicyDecision decision = ServerRequestDecision.Decide(policy, _exchange.Principal ?? Principal.Anonymous, memberJson.Span, memberView, stream.Member.Name);
        if (decision.Action == PolicyAction.Allow) return MemberRequestOutcome.Allowed;
        if (!((IServerRequestGate)this).RecordDenied(_exchange, json, view, decision)) return MemberRequestOutcome.AuditRefused;
        byte[] memberId = memberJson.Span[memberView.IdRange].ToArray();
        _memberSessionLine = MemberSessionLine(session, stream.Index);
        try
        {
            await ((IServerRequestGate)this).AnswerDeniedAsync(_exchange, memberId, decision).ConfigureAwait(false);
        }
        finally
        {
            _memberSessionLine = null;
        }
        return MemberRequestOutcome.Denied;
    }

    private bool ApplyEventTransforms(PooledBufferWriter evt, TransformBuffers buffers)
    {
        foreach (IResponseTransform transform in _rt.ResponseTransforms)
        {
            if (!transform.Apply(_exchange, evt, isEvent: true, buffers)) return false;
        }
        return true;
    }

    /// <summary>
    /// Each member's stream is recorded as a response when the client's stream ends: without a payload, each message relayed
    /// from it having had its own record (a GET stream answers no request of the client's).
    /// </summary>
    private async ValueTask RecordMemberStreamsEndAsync(List<MemberStream> streams)
    {
        if (_rt.Audit is not { } audit) return;
        foreach (MemberStream stream in streams)
        {
            _exchange.Route = stream.Member;
            _exchange.ResponseStatus = 200;
            try
            {
                await audit.RecordStreamEndAsync(_exchange, _auditScratch, RemoteAddress, default).ConfigureAwait(false);
            }
            catch (FastMcp.Audit.AuditUnavailableException)
            {
                LogLostRecord("audit log unavailable at the end of a federated event stream: its response record is missing (the outage is recorded)");
                return;
            }
        }
        _exchange.Route = null;
    }
}
