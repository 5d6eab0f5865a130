using System.Buffers;
using System.IO.Pipelines;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;
using FastMcp.Mcp;
using FastMcp.Pan;
using System.Runtime.CompilerServices;
using FastMcp.Policy;

namespace FastMcp.Gateway.Forwarding;

/// <summary>
/// Relays an upstream response to the client. JSON bodies are held whole (bounded) so the stages
/// see a complete message; event streams are relayed event by event with a flush per batch of
/// complete events, never buffering the stream. Only identity-coded bodies are relayed: the
/// stages cannot read compressed bytes, so such a response is refused, never passed on unread.
/// </summary>
internal sealed class ResponseRelay : IDisposable
{
    private readonly PooledBufferWriter _message = new(8 * 1024);
    private readonly PooledBufferWriter _event = new(4 * 1024);
    // The exchange's answer as the client got it (its response record is written when the stream ends).
    private readonly PooledBufferWriter _answer = new(1024);
    // A message split over several data lines, joined as a client reads it (rare: only such events use it).
    private readonly PooledBufferWriter _joinedEvent = new(0);
    // A server request's data as the upstream sent it, joined (rare: read again only to decide a request a stage rewrote).
    private readonly PooledBufferWriter _upstreamJoined = new(0);
    // The id of a denied server request as the upstream gave it, kept for the gateway's answer to it.
    private readonly PooledBufferWriter _deniedId = new(0);
    private PolicyDecision _deniedDecision;
    private string? _deniedMethod;
    private readonly IServerRequestGate? _serverRequests;
    private readonly IServerNotificationGate? _notifications;
    private readonly Tasks.ITaskNotificationGate? _taskNotifications;
    // Set once the exchange's answer (the upstream's, or the gateway's refusal) is out: a second would give the client two.
    private bool _answerRelayed;
    // The answer in _answer is the upstream's message byte for byte as its view was read (not a refusal the gateway wrote).
    private bool _answerViewed;
    private readonly TransformBuffers _transformBuffers = new();
    private readonly HttpLimits _limits;
    private readonly IResponseTransform[] _transforms;

    // A client that stops reading must not hold its response (and the upstream's) in memory forever: each flush
    // to the client has clientWriteMs to drain, or the exchange ends (connection closed, upstream not reused).
    private readonly int _clientWriteMs;
    private CancellationTokenSource _writeTimer = new();

    // limits.maxBufferedResponseBytes: the send pipe pauses a flush at half the bound (PipeSettings.Send), and at
    // most the other half is written between two flushes, so what the gateway holds toward the client stays
    // within the bound; a flush held at the pause is the back-pressure that stops the upstream reads.
    private readonly long _writeBetweenFlushes;
    private readonly Func<long>? _bytesSent;
    private long _sentBeforeRelay, _handed, _peakBuffered;

    public ResponseRelay(HttpLimits limits, IResponseTransform[] transforms, int clientWriteMs, Func<long>? bytesSent = null, IServerRequestGate? serverRequests = null,
        IServerNotificationGate? notifications = null, Tasks.ITaskNotificationGate? taskNotifications = null)
    {
        _serverRequests = serverRequests;
        _notifications = notifications;
        _taskNotifications = taskNotifications;
        _limits = limits;
        _transforms = transforms;
        _clientWriteMs = clientWriteMs;
        _writeBetweenFlushes = limits.MaxBufferedResponseBytes - Transport.PipeSettings.SendPauseThreshold(limits.MaxBufferedResponseBytes);
        _bytesSent = bytesSent;
    }

    /// <summary>The most bytes held toward the client (handed to its send pipe, not yet sent) in the last relay.</summary>
    public long PeakBufferedBytes => _peakBuffered;

    private void BeginRelay()
    {
        _handed = 0;
        _sentBeforeRelay = _bytesSent?.Invoke() ?? 0;
        _peakBuffered = 0;
    }

    /// <summary>Bytes handed to the send pipe in this relay (flushed or not) and not yet sent by the socket.</summary>
    private long BufferedNow(PipeWriter client)
    {
        if (_bytesSent is null) return 0;
        long unflushed = client.CanGetUnflushedBytes ? client.UnflushedBytes : 0;
        return _handed + unflushed - (_bytesSent() - _sentBeforeRelay);
    }

    /// <summary>Flushes to the client within clientWriteMs (<see cref="ClientWriteTimeoutException"/> beyond: the caller closes).</summary>
    private ValueTask<FlushResult> FlushClientAsync(PipeWriter client)
    {
        long buffered = BufferedNow(client);
        if (buffered > _peakBuffered) _peakBuffered = buffered;
        _handed += client.CanGetUnflushedBytes ? client.UnflushedBytes : 0;
        // A flush the send pipe takes at once (below its pause threshold: nearly every response) needs no timer;
        // arming and disarming one per response cost two timer-queue updates and a token registration (issue #14).
        ValueTask<FlushResult> flush = client.FlushAsync();
        return flush.IsCompletedSuccessfully ? flush : FlushHeldAsync(flush, client);
    }

    /// <summary>A flush held by back-pressure: cancelled (and the exchange closed) when the client reads nothing for clientWriteMs.</summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> FlushHeldAsync(ValueTask<FlushResult> flush, PipeWriter client)
    {
        if (!_writeTimer.TryReset())
        {
            _writeTimer.Dispose();
            _writeTimer = new CancellationTokenSource();
        }
        _writeTimer.CancelAfter(_clientWriteMs);
        FlushResult result;
        using (_writeTimer.Token.UnsafeRegister(static state => ((PipeWriter)state!).CancelPendingFlush(), client))
        {
            result = await flush.ConfigureAwait(false);
        }
        _writeTimer.CancelAfter(Timeout.Infinite);
        if (result.IsCanceled && _writeTimer.IsCancellationRequested)
        {
            _peakBuffered = Math.Max(_peakBuffered, BufferedNow(client));
            throw new ClientWriteTimeoutException(_peakBuffered);
        }
        return result;
    }

    /// <summary>
    /// Writes <paramref name="bytes"/> (as chunks when <paramref name="chunked"/>) flushing whenever the unflushed
    /// bytes would pass the part of the bound a flush may add. False: the client is gone.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WriteBoundedAsync(PipeWriter client, ReadOnlyMemory<byte> bytes, bool chunked)
    {
        const int ChunkFraming = 32; // hex size line and CRLFs around one chunk
        if (bytes.IsEmpty) return true; // (an empty chunk would end the stream)
        while (true)
        {
            long unflushed = client.CanGetUnflushedBytes ? client.UnflushedBytes : 0;
            long room = _writeBetweenFlushes - unflushed - (chunked ? ChunkFraming : 0);
            if (room > 0)
            {
                int take = (int)Math.Min(room, bytes.Length);
                WriteEventBytes(client, bytes.Span[..take], chunked);
                bytes = bytes[take..];
                if (bytes.IsEmpty) return true;
            }
            // The part of the bound a flush may add is written: wait for the client before writing more.
            if ((await FlushClientAsync(client).ConfigureAwait(false)).IsCompleted) return false;
        }
    }

    /// <summary>
    /// Relays the response whose head is in <paramref name="upstream"/>.ResponseHead. Returns None,
    /// or the error to answer with when nothing was sent to the client yet, or ClientGone.
    /// Sets <paramref name="clientMustClose"/> when the client connection cannot carry another request.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    public async ValueTask<(ForwardingError Error, bool ClientMustClose)> RelayAsync(UpstreamConnection upstream, PipeWriter client, Exchange exchange,
        bool clientIsHttp11, bool clientAskedClose, IResponseGate? gate, CancellationToken bodyTimeout)
    {
        BeginRelay();
        HttpResponseHead head = upstream.ResponseHead;
        exchange.ResponseStatus = head.StatusCode;
        if (RefusedHead(head) is var refused and not ForwardingError.None)
        {
            upstream.Broken = true; // its body is left unread
            return (refused, false);
        }
        if (head.IsEventStream && head.Framing != BodyFraming.None)
        {
            return await RelayEventStreamAsync(upstream, client, exchange, clientIsHttp11, clientAskedClose, gate, headSent: false).ConfigureAwait(false);
        }

        if (head.ConnectionClose) upstream.Broken = true;
        _message.Clear();
        _bodyViewState = BodyViewState.NotRead;
        if (head.Framing != BodyFraming.None)
        {
            BodyReadResult read = await BodyReader.ReadWholeAsync(upstream, _message, _limits, bodyTimeout).ConfigureAwait(false);
            if (read != BodyReadResult.Complete)
            {
                upstream.Broken = true;
                return (read == BodyReadResult.TooLarge ? ForwardingError.ResponseTooLarge : ForwardingError.UpstreamClosed, true);
            }
            if (Inspects(gate) && UnreadableBody(head) is var unreadable and not ForwardingError.None) return (unreadable, false);
            if (ChecksAnswers && ViewBody(out McpResponseView answer) && UnaskedAnswer.Is(exchange, _message.WrittenMemory, answer, isBody: true, UnansweredCalls))
                return (ForwardingError.UnaskedAnswer, false);
            BodyRequest bodyRequest = ReadsBodyMessages ? DecideBodyRequest(exchange) : BodyRequest.None;
            if (bodyRequest == BodyRequest.Undecided) return (ForwardingError.UndecidedServerRequest, false);
            if (bodyRequest == BodyRequest.UndecidedNotification) return (ForwardingError.UndecidedResourceUpdate, false);
            bool inputDenied = bodyRequest == BodyRequest.None && DecidesServerRequests && DeniesInputRequest(exchange);
            if (!ApplyBodyTransforms(exchange)) return (Refusal(exchange), false);
            if (inputDenied && !AnswerWithInputDenial(exchange)) return (ForwardingError.AuditUnavailable, false);
            if (bodyRequest == BodyRequest.Denied && !await AnswerWithBodyRequestDenialAsync(exchange).ConfigureAwait(false))
                return (ForwardingError.AuditUnavailable, false);
            if (bodyRequest == BodyRequest.NotificationDenied && !AnswerWithNotificationDenial(exchange)) return (ForwardingError.AuditUnavailable, false);
        }
        if (gate is not null && !await gate.BeforeReleaseAsync(exchange, _message.WrittenMemory, BodyViewedAsIs(exchange)).ConfigureAwait(false))
        {
            return (ForwardingError.AuditUnavailable, false);
        }

        bool close = clientAskedClose;
        ApplyHeadTransforms(exchange, head.Headers);
        exchange.Stage = ExchangeStage.Write;
        bool hasBody = head.StatusCode is >= 200 and not 204 and not 304;
        // The whole head advances the pipe once (Buffers.CoalescingBufferWriter).
        Buffers.CoalescingBufferWriter headWriter = Buffers.CoalescingBufferWriter.Begin(client);
        bool droppedCookie = WriteResponseHeadLines(headWriter, head, close, chunked: false, eventStream: false, DropsSessionHeader, DropsCookies(exchange),
            exchange.SealedSession);
        if (hasBody)
        {
            headWriter.Write("Content-Length: "u8);
            GatewayResponses.WriteNumber(headWriter, _message.WrittenCount);
            headWriter.Write("\r\n"u8);
        }
        headWriter.Write("\r\n"u8);
        headWriter.End();
        if (droppedCookie) ReportDroppedCookie(exchange);
        if (hasBody && !await WriteBoundedAsync(client, _message.WrittenMemory, chunked: false).ConfigureAwait(false)) return (ForwardingError.ClientGone, close);
        _message.TrimTo(64 * 1024);
        FlushResult flushed = await FlushClientAsync(client).ConfigureAwait(false);
        return (flushed.IsCompleted ? ForwardingError.ClientGone : ForwardingError.None, close);
    }

    /// <summary>
    /// Relays a response into an event stream the gateway already opened to the client (a held
    /// approval): upstream events are relayed as they come; a JSON answer becomes one "message"
    /// event. The client's stream is ended either way. On an error nothing of the response was written.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    public async ValueTask<(ForwardingError Error, bool ClientMustClose)> RelayIntoOpenStreamAsync(UpstreamConnection upstream, PipeWriter client, Exchange exchange,
        bool chunked, IResponseGate? gate, CancellationToken bodyTimeout)
    {
        BeginRelay();
        HttpResponseHead head = upstream.ResponseHead;
        exchange.ResponseStatus = head.StatusCode;
        if (RefusedHead(head) is var refused and not ForwardingError.None)
        {
            upstream.Broken = true; // its body is left unread
            return (refused, !chunked);
        }
        if (head.IsEventStream && head.Framing != BodyFraming.None)
        {
            return await RelayEventStreamAsync(upstream, client, exchange, chunked, clientAskedClose: !chunked, gate, headSent: true).ConfigureAwait(false);
        }
        if (head.ConnectionClose) upstream.Broken = true;
        _message.Clear();
        _bodyViewState = BodyViewState.NotRead;
        if (head.Framing != BodyFraming.None)
        {
            BodyReadResult read = await BodyReader.ReadWholeAsync(upstream, _message, _limits, bodyTimeout).ConfigureAwait(false);
            if (read != BodyReadResult.Complete)
            {
                upstream.Broken = true;
                return (read == BodyReadResult.TooLarge ? ForwardingError.ResponseTooLarge : ForwardingError.UpstreamClosed, !chunked);
            }
            if (Inspects(gate) && UnreadableBody(head) is var unreadable and not ForwardingError.None) return (unreadable, !chunked);
            if (ChecksAnswers && ViewBody(out McpResponseView answer) && UnaskedAnswer.Is(exchange, _message.WrittenMemory, answer, isBody: true, UnansweredCalls))
                return (ForwardingError.UnaskedAnswer, !chunked);
            BodyRequest bodyRequest = ReadsBodyMessages ? DecideBodyRequest(exchange) : BodyRequest.None;
            if (bodyRequest == BodyRequest.Undecided) return (ForwardingError.UndecidedServerRequest, !chunked);
            if (bodyRequest == BodyRequest.UndecidedNotification) return (ForwardingError.UndecidedResourceUpdate, !chunked);
            bool inputDenied = bodyRequest == BodyRequest.None && DecidesServerRequests && DeniesInputRequest(exchange);
            if (!ApplyBodyTransforms(exchange)) return (Refusal(exchange), !chunked);
            if (inputDenied && !AnswerWithInputDenial(exchange)) return (ForwardingError.AuditUnavailable, !chunked);
            if (bodyRequest == BodyRequest.Denied && !await AnswerWithBodyRequestDenialAsync(exchange).ConfigureAwait(false))
                return (ForwardingError.AuditUnavailable, !chunked);
            if (bodyRequest == BodyRequest.NotificationDenied && !AnswerWithNotificationDenial(exchange)) return (ForwardingError.AuditUnavailable, !chunked);
        }
        if (_message.WrittenSpan.TrimStart(" \t\r\n"u8).IsEmpty) return (ForwardingError.InvalidResponse, !chunked);
        if (gate is not null && !await gate.BeforeReleaseAsync(exchange, _message.WrittenMemory, BodyViewedAsIs(exchange)).ConfigureAwait(false))
        {
            return (ForwardingError.AuditUnavailable, !chunked);
        }
        _event.Clear();
        exchange.Stage = ExchangeStage.Write;
        SseEvent.WriteMessageEvent(_event, _message.WrittenSpan);
        if (!await WriteBoundedAsync(client, _event.WrittenMemory, chunked).ConfigureAwait(false)) return (ForwardingError.ClientGone, !chunked);
        if (chunked) ChunkedWriter.WriteTerminator(client);
        _message.TrimTo(64 * 1024);
        FlushResult flushed = await FlushClientAsync(client).ConfigureAwait(false);
        return (flushed.IsCompleted ? ForwardingError.ClientGone : ForwardingError.None, !chunked);
    }

    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<(ForwardingError, bool)> RelayEventStreamAsync(UpstreamConnection upstream, PipeWriter client, Exchange exchange,
        bool clientIsHttp11, bool clientAskedClose, IResponseGate? gate, bool headSent)
    {
        if (!headSent) BeginRelay();
        HttpResponseHead head = upstream.ResponseHead;
        // An HTTP/1.0 client cannot read chunks: the stream is then delimited by closing.
        bool chunked = clientIsHttp11;
        bool close = clientAskedClose || !chunked;
        if (!headSent)
        {
            ApplyHeadTransforms(exchange, head.Headers);
            exchange.Stage = ExchangeStage.Write;
            if (WriteResponseHead(client, head, close, chunked, eventStream: true, DropsSessionHeader, DropsCookies(exchange), exchange.SealedSession)) ReportDroppedCookie(exchange);
            client.Write("\r\n"u8);
            // The head goes out at once only when no event is there yet, so a client sees a slow stream open. When
            // the upstream's first bytes came with its head (a quick answer: nearly always), head and events leave
            // in one send, as they arrived: a send of its own for the head cost a system call per response and
            // the client's receive path in the kernel (issue #14, the stream scenario).
            if (!BodyBytesWaiting(upstream.Input) && (await FlushClientAsync(client).ConfigureAwait(false)).IsCompleted)
            {
                upstream.Broken = true;
                return (ForwardingError.ClientGone, true);
            }
        }

        _message.Clear();
        _answer.Clear();
        _answerViewed = false;
        _answerRelayed = false;
        _sawEventId = false;
        _splitter = default;
        var decoder = new ChunkedDecoder();
        long remaining = head.Framing == BodyFraming.ContentLength ? head.ContentLength : long.MaxValue;
        PipeReader input = upstream.Input;
        bool upstreamDone = false;
        while (!upstreamDone)
        {
            ReadResult result = await input.ReadAsync().ConfigureAwait(false);
            // Only the watches cancel this read (the token's expiry, the policy's heartbeat): a woken stream that must
            // end ends here, with its events that came meanwhile left unrelayed.
            if (result.IsCanceled && WokenToEnd())
            {
                input.AdvanceTo(result.Buffer.Start);
                return await EndWatchedStreamAsync(upstream, client, exchange, chunked, close, gate).ConfigureAwait(false);
            }
            ReadOnlySequence<byte> buffer = result.Buffer;
            SequencePosition consumed;
            if (head.Framing == BodyFraming.Chunked)
            {
                var reader = new SequenceReader<byte>(buffer);
                OperationStatus status = decoder.Decode(ref reader, _message, _limits, out _);
                consumed = reader.Position;
                if (status == OperationStatus.Done) upstreamDone = true;
                else if (status == OperationStatus.InvalidData) { upstream.Broken = true; upstreamDone = true; }
            }
            else
            {
                long take = Math.Min(buffer.Length, remaining);
                foreach (ReadOnlyMemory<byte> segment in buffer.Slice(0, take)) _message.Write(segment.Span);
                remaining -= take;
                consumed = buffer.GetPosition(take);
                if (remaining == 0) upstreamDone = true;
            }
            if (upstreamDone)
            {
                // Bytes past the end of the stream are no answer to anything (RFC 9112 6.3): they stay unexamined and
                // the connection is never reused, or the next exchange would read them as its response.
                long stray = buffer.Slice(consumed).Length;
                if (stray > 0)
                {
                    upstream.Broken = true;
                    upstream.StrayBytes = stray;
                }
                input.AdvanceTo(consumed);
            }
            else
            {
                input.AdvanceTo(consumed, buffer.End);
            }
            if (!upstreamDone && result.IsCompleted)
            {
                // The upstream went away mid-stream: end the client's stream cleanly, never reuse this connection.
                upstream.Broken = true;
                upstreamDone = true;
            }

            (int relayed, EventsOutcome outcome) = await RelayCompleteEventsAsync(client, exchange, chunked, upstreamDone, gate).ConfigureAwait(false);
            if (outcome == EventsOutcome.Relayed && !upstreamDone && _message.WrittenCount > _limits.MaxResponseMessageBytes)
            {
                outcome = await WithholdOversizedEventAsync(client, exchange, chunked, gate).ConfigureAwait(false);
            }
            if (outcome == EventsOutcome.ClientGone)
            {
                upstream.Broken = true;
                RememberUnanswered(exchange, clientGone: true);
                return (ForwardingError.ClientGone, true);
            }
            if (outcome == EventsOutcome.WatchEnded) return await EndWatchedStreamAsync(upstream, client, exchange, chunked, close, gate).ConfigureAwait(false);
            if (outcome is EventsOutcome.AuditRefused or EventsOutcome.EventWithheld)
            {
                // A message the audit log could not take, or an event that must not reach the client, is not relayed:
                // the client's stream ends cleanly with what it got so far (for a withheld event, the refusal answer
                // when the call had none yet), the upstream connection (the rest of its stream unread) is closed.
                upstream.Broken = true;
                if (chunked) ChunkedWriter.WriteTerminator(client);
                _message.Clear();
                _message.TrimTo(64 * 1024);
                FlushResult ended = await FlushClientAsync(client).ConfigureAwait(false);
                // The log refused a record: the end record would be refused too. A withheld event's stream is recorded as it ended.
                if (outcome == EventsOutcome.EventWithheld && gate is not null) await gate.AfterStreamAsync(exchange, _answer.WrittenMemory, _answerViewed).ConfigureAwait(false);
                return (ended.IsCompleted ? ForwardingError.ClientGone : ForwardingError.None, true);
            }
            if (upstreamDone)
            {
                // Before the client can see the stream end (it may resume at once).
                RememberUnanswered(exchange, clientGone: false);
                if (chunked) ChunkedWriter.WriteTerminator(client);
                relayed++;
            }
            if (relayed > 0 && (await FlushClientAsync(client).ConfigureAwait(false)).IsCompleted)
            {
                upstream.Broken = true;
                RememberUnanswered(exchange, clientGone: true);
                return (ForwardingError.ClientGone, true);
            }
        }
        if (head.ConnectionClose) upstream.Broken = true;
        _message.TrimTo(64 * 1024);
        if (gate is not null) await gate.AfterStreamAsync(exchange, _answer.WrittenMemory, _answerViewed).ConfigureAwait(false);
        return (ForwardingError.None, close);
    }

    /// <summary>
    /// The token that opened the stream stopped being valid (<see cref="TokenWatch"/>), or a reloaded policy no longer allows
    /// its caller (<see cref="PolicyWatch"/>): the upstream side is closed (the rest of its stream unread), the client gets
    /// the end of the chunked body, a clean end it reconnects from (with a fresh token and Last-Event-ID), and the stream's
    /// end record says why.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<(ForwardingError, bool)> EndWatchedStreamAsync(UpstreamConnection upstream, PipeWriter client, Exchange exchange, bool chunked, bool close,
        IResponseGate? gate)
    {
        upstream.Broken = true;
        if (TokenWatch is { Ended: not Proxy.StreamEndReason.None } token)
        {
            exchange.StreamEnd = token.Ended;
            token.CountEnd();
        }
        else
        {
            exchange.StreamEnd = PolicyWatch!.Ended;
            PolicyWatch.CountEnd();
            if (PolicyWatch.TaskRefusal is { } refusal && !await AnswerTaskCallRefusedAsync(client, exchange, chunked, refusal).ConfigureAwait(false))
            {
                if (gate is not null) await gate.AfterStreamAsync(exchange, _answer.WrittenMemory, _answerViewed).ConfigureAwait(false);
                return (ForwardingError.ClientGone, true);
            }
        }
        RememberUnanswered(exchange, clientGone: false);
        if (chunked) ChunkedWriter.WriteTerminator(client);
        _message.Clear();
        _message.TrimTo(64 * 1024);
        FlushResult ended = await FlushClientAsync(client).ConfigureAwait(false);
        if (gate is not null) await gate.AfterStreamAsync(exchange, _answer.WrittenMemory, _answerViewed).ConfigureAwait(false);
        return (ended.IsCompleted ? ForwardingError.ClientGone : ForwardingError.None, close || !chunked);
    }

    /// <summary>
    /// A tasks request's stream whose task's creating call is no longer allowed: the refusal is counted and recorded, and,
    /// when the request has no answer yet, the client gets the -32001 a new request on the task would get, as its answer's
    /// event. An audit log that refuses the record leaves the stream to end without it (fail closed: nothing more is
    /// relayed either way). False: the client is gone.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> AnswerTaskCallRefusedAsync(PipeWriter client, Exchange exchange, bool chunked, string refusal)
    {
        if (_taskNotifications is not { } tasks || !await tasks.RecordTaskCallRefusedAsync(refusal).ConfigureAwait(false)) return true;
        if (_answerRelayed || !exchange.HasCall || exchange.Call.Kind != McpMessageKind.Request) return true;
        PooledBufferWriter json = _transformBuffers.Json;
        json.Clear();
        JsonRpcErrorWriter.Write(json, exchange.Body, exchange.Call.IdRange, JsonRpcErrorCodes.Forbidden, ClientConnection.TaskCallRefusalMessage(refusal));
        if (PanMasker.ContainsCardNumber(json.WrittenSpan)) exchange.ResponseIdHoldsCard = true;
        _event.Clear();
        SseEvent.WriteMessageEvent(_event, json.WrittenSpan);
        _answer.Clear();
        _answer.Write(json.WrittenSpan);
        _answerViewed = false;
        _answerRelayed = true;
        exchange.Stage = ExchangeStage.Write;
        return await WriteBoundedAsync(client, _event.WrittenMemory, chunked).ConfigureAwait(false);
    }

    /// <summary>A watch's wake cancelled the upstream read: true when the stream must end (each watch re-arms its wake otherwise).</summary>
    private bool WokenToEnd() =>
        (TokenWatch is { } token && token.WokenToEnd()) || (PolicyWatch is { } policy && policy.WokenToEnd());

    /// <summary>
    /// Set by the connection for a stream that ends with its token (identity.streamsEndWithToken), null otherwise: checked
    /// before every event is relayed.
    /// </summary>
    public Proxy.StreamTokenWatch? TokenWatch { get; set; }

    /// <summary>
    /// Set by the connection for an allowed GET stream under a policy, or a stream answering a request on the caller's own
    /// task, null otherwise: checked before every event is relayed.
    /// </summary>
    public Proxy.StreamPolicyWatch? PolicyWatch { get; set; }

    /// <summary>
    /// Answers that are never relayed, whatever their body:
    /// - a compressed one, or one declared in another charset than UTF-8: the stages cannot read it;
    /// - a redirect: HTTP clients follow 307/308 with the same method and body, so the call would reach a server the
    ///   gateway never sees and its answer would come back undecided and unrecorded (304 sends nobody anywhere);
    /// - 401: the challenge is about the gateway's credential (the client's token is never passed upstream), so no
    ///   client can answer it, and relayed it would start the client's OAuth discovery at the upstream's metadata.
    /// </summary>
    private static ForwardingError RefusedHead(HttpResponseHead head)
    {
        if (!ContentCoding.IsIdentity(head.Headers)) return ForwardingError.EncodedResponse;
        if (!ContentCharset.IsUtf8OrUnstated(head.Headers)) return ForwardingError.UnreadableEncoding;
        if (head.StatusCode is >= 300 and < 400 and not 304) return ForwardingError.RedirectResponse;
        return head.StatusCode == 401 ? ForwardingError.UpstreamUnauthorized : ForwardingError.None;
    }

    /// <summary>True when a stage reads what is relayed (masking, filtering, the audit); pass-through relays bytes unread.</summary>
    private bool Inspects(IResponseGate? gate) => _transforms.Length > 0 || gate is not null || DecidesServerRequests || DecidesNotifications || ChecksAnswers;

    /// <summary>The client rules are in force (all but pass-through): every resource update and log message is read so that none goes out undecided.</summary>
    private bool DecidesNotifications => _notifications?.NotificationRules is not null;

    /// <summary>A JSON answer body is read as a message (it may be a server request or a resource update or log message in the answer's place).</summary>
    private bool ReadsBodyMessages => DecidesServerRequests || DecidesNotifications;

    /// <summary>policy.serverRequests may deny something: every event is read so that no server request goes out undecided.</summary>
    private bool DecidesServerRequests => _serverRequests is { } g && !g.ServerRequests.DecidesNothing;

    /// <summary>
    /// UTF-8 text with no NUL: what the stages can read. UTF-16 and UTF-32 put NULs between the digits of a card number
    /// (and JSON allows no raw NUL), and a client may still decode them: Python's json.loads detects them from the bytes.
    /// </summary>
    private ForwardingError UnreadableBody(HttpResponseHead head) => UnreadableAnswer.Of(head, _message.WrittenSpan);

    /// <summary>
    /// True when bytes of the body are already held (read with the head) or readable without waiting; they stay
    /// unexamined, so the next read returns them at once.
    /// </summary>
    private static bool BodyBytesWaiting(PipeReader input)
    {
        if (!input.TryRead(out ReadResult peek)) return false;
        bool waiting = !peek.Buffer.IsEmpty;
        input.AdvanceTo(peek.Buffer.Start);
        return waiting;
    }

    // Where the event stream's splitter stands (a field: a struct cannot be passed by ref into an async method).
    private SseEventSplitter _splitter;

    private enum EventsOutcome : byte { Relayed, ClientGone, AuditRefused, EventWithheld, ServerRequestDenied, AnswerReplaced, NotificationDenied, WatchEnded }

    /// <summary>
    /// Writes every complete event in the buffer to the client, within the buffered bound; at the end of the stream,
    /// the rest too. Returns how many were written, and whether the client left, the audit refused a record, or an event
    /// was withheld (the event and those after it are not written; for a withheld one the refusal answer may be).
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<(int, EventsOutcome)> RelayCompleteEventsAsync(PipeWriter client, Exchange exchange, bool chunked, bool final, IResponseGate? gate)
    {
        int count = 0;
        while (_message.WrittenCount > 0)
        {
            int length = _splitter.TryFindEventEnd(_message.WrittenSpan, final);
            if (length == 0) break;
            // No event after the token that opened the stream stopped being valid (the check allocates nothing).
            if (TokenWatch is { } watch && watch.Check() != Proxy.StreamEndReason.None) return (count, EventsOutcome.WatchEnded);
            // Nor after a reloaded policy stopped allowing the GET stream's caller (a reference compare until a reload).
            if (PolicyWatch is { } policy && policy.Check() != Proxy.StreamEndReason.None) return (count, EventsOutcome.WatchEnded);
            _splitter.Reset();
            ReadOnlyMemory<byte> relayed;
            bool safe = true;
            if (_transforms.Length == 0)
            {
                relayed = _message.WrittenMemory[..length];
            }
            else
            {
                _event.Clear();
                _event.Write(_message.WrittenSpan[..length]);
                safe = ApplyTransforms(exchange, _event, isEvent: true);
                relayed = _event.WrittenMemory;
                if (!safe && exchange.TaskNotificationWithheld)
                {
                    // A notification for a task another replica bound: withheld and recorded; the stream goes on.
                    exchange.TaskNotificationWithheld = false;
                    if (!RecordTaskNotificationWithheld(exchange, relayed)) return (count, EventsOutcome.AuditRefused);
                    _message.RemoveFront(length);
                    continue;
                }
            }
            // Pass-through reads nothing: with no stage there is nothing an unread event could slip past.
            EventsOutcome checkedEvent = !safe ? EventsOutcome.EventWithheld
                : Inspects(gate) ? CheckAndRecord(gate, exchange, relayed, _message.WrittenMemory[..length]) : EventsOutcome.Relayed;
            if (checkedEvent == EventsOutcome.AuditRefused) return (count, checkedEvent);
            if (checkedEvent == EventsOutcome.ServerRequestDenied)
            {
                // Withheld, and the stream goes on: the upstream gets the gateway's answer so its call does not hang.
                _message.RemoveFront(length);
                await _serverRequests!.AnswerDeniedAsync(exchange, _deniedId.WrittenMemory, _deniedDecision).ConfigureAwait(false);
                continue;
            }
            if (checkedEvent == EventsOutcome.NotificationDenied)
            {
                // Withheld and recorded; the stream goes on (the caller's other messages are theirs to have).
                _message.RemoveFront(length);
                continue;
            }
            if (checkedEvent == EventsOutcome.EventWithheld)
            {
                // A stage may have refused it for being unreadable: said as such (in the record and to the client).
                WithheldEventReason reason = _unaskedAnswer ? WithheldEventReason.UnaskedAnswer : WithheldReason(StreamEventMessage.Read(relayed, _joinedEvent, out _, out _), safe);
                _unaskedAnswer = false;
                gate?.RecordWithheldEvent(exchange, StreamEventMessage.Data(relayed, _joinedEvent), reason);
                // Its client is waiting for an answer it has not had: it gets one, the refusal, and the stream ends (a
                // later answer from the upstream would be a second one). A GET stream answers nothing: it just ends.
                if (_answerRelayed || !exchange.HasCall || exchange.Call.Kind is not (McpMessageKind.Request or McpMessageKind.Batch)) return (count, checkedEvent);
                WriteRefusalEvent(exchange, reason switch
                {
                    WithheldEventReason.Undecodable => ForwardingError.UnreadableEncoding,
                    WithheldEventReason.Unreadable => ForwardingError.UnreadableEvent,
                    WithheldEventReason.UnaskedAnswer => ForwardingError.UnaskedAnswer,
                    _ => Refusal(exchange),
                });
                _answer.Clear();
                _answer.Write(_transformBuffers.Json.WrittenSpan);
                _answerViewed = false;
                _answerRelayed = true;
                exchange.Stage = ExchangeStage.Write;
                if (!await WriteBoundedAsync(client, _event.WrittenMemory, chunked).ConfigureAwait(false)) return (count, EventsOutcome.ClientGone);
                return (count + 1, checkedEvent);
            }
            // An input_required answer the policy refused: the client gets the refusal in its place.
            if (checkedEvent == EventsOutcome.AnswerReplaced) relayed = _event.WrittenMemory;
            exchange.Stage = ExchangeStage.Write;
            if (!await WriteBoundedAsync(client, relayed, chunked).ConfigureAwait(false)) return (count, EventsOutcome.ClientGone);
            // A POST's stream the client could resume (it got an event id): checked until the first one.
            if (!_sawEventId && ChecksAnswers && exchange.Request.Method == FastMcp.Http.HttpMethod.Post) _sawEventId = SseDataField.HasId(relayed.Span);
            _message.RemoveFront(length);
            count++;
        }
        return (count, EventsOutcome.Relayed);
    }

    /// <summary>
    /// Reads the event's message as the client will (after the stages): the exchange's answer is kept for its response
    /// record at the end of the stream; any other message is recorded now, on its own. Relayed: the event may go out.
    /// AuditRefused: the log refused its record. EventWithheld: it has data but no readable message (fail closed: a
    /// lenient client might act on it).
    /// </summary>
    private EventsOutcome CheckAndRecord(IResponseGate? gate, Exchange exchange, ReadOnlyMemory<byte> relayed, ReadOnlyMemory<byte> upstreamEvent)
    {
        StreamEventContent content = StreamEventMessage.Read(relayed, _joinedEvent, out ReadOnlyMemory<byte> json, out McpResponseView view);
        if (content == StreamEventContent.None) return EventsOutcome.Relayed;
        if (content is StreamEventContent.Unreadable or StreamEventContent.Undecodable) return EventsOutcome.EventWithheld;
        if (ChecksAnswers && UnaskedAnswer.Is(exchange, json, view, isBody: false, UnansweredCalls))
        {
            _unaskedAnswer = true;
            return EventsOutcome.EventWithheld;
        }
        // The kind is what the inspection read anyway: only a server request (or a batch, which could hide one) costs more.
        if (view.Kind is McpMessageKind.Request or McpMessageKind.Batch && _serverRequests is { } requests && requests.ServerRequests is { DecidesNothing: false } policy)
        {
            // A batch is not taken apart here: a request in it would go out undecided, so it is withheld (fail closed).
            if (view.Kind == McpMessageKind.Batch) return EventsOutcome.EventWithheld;
            exchange.Stage = ExchangeStage.Decide;
            if (!DecideServerRequest(exchange, policy, relayed, json, view, upstreamEvent, out bool denied)) return EventsOutcome.EventWithheld;
            if (denied)
            {
                if (!requests.RecordDenied(exchange, json, view, _deniedDecision)) return EventsOutcome.AuditRefused;
                return EventsOutcome.ServerRequestDenied;
            }
        }
        // A batch is not taken apart here either: one holding a resource update or log message (or a member that cannot be read) is withheld.
        if (view.Kind == McpMessageKind.Batch && DecidesNotifications && ServerNotificationDecision.BatchMayHoldDecided(json)) return EventsOutcome.EventWithheld;
        if (ServerNotificationDecision.Applies(view) && _notifications is { NotificationRules: { } rules } notifications)
        {
            exchange.Stage = ExchangeStage.Decide;
            ServerNotificationVerdict verdict = ServerNotificationDecision.Decide(rules, exchange.Principal ?? FastMcp.Identity.Principal.Anonymous, relayed, json, view,
                upstreamEvent, _upstreamJoined, exchange.Route?.Name, exchange.ClientAddress, out PolicyDecision decision);
            // Unreadable: withheld and the stream ends, as any event the gateway cannot read.
            if (verdict == ServerNotificationVerdict.Unreadable) return EventsOutcome.EventWithheld;
            if (verdict == ServerNotificationVerdict.Denied) return notifications.RecordNotificationDenied(exchange, json, view, decision) ? EventsOutcome.NotificationDenied : EventsOutcome.AuditRefused;
        }
        if (IsExchangeAnswer(exchange, json.Span, view))
        {
            if (_serverRequests is { } gateOfRequests && gateOfRequests.ServerRequests is { DecidesNothing: false } inputPolicy && InputRequestsDecision.RequiresInput(json.Span, view))
            {
                exchange.Stage = ExchangeStage.Decide;
                // Decided on the answer as the upstream sent it; unreadable again (it was read once) it is refused all the same.
                ReadOnlyMemory<byte> upstreamJson = json;
                if (!upstreamEvent.Span.SequenceEqual(relayed.Span)
                    && StreamEventMessage.Read(upstreamEvent, _upstreamJoined, out upstreamJson, out _) != StreamEventContent.Message) upstreamJson = default;
                bool denied = upstreamJson.IsEmpty
                    ? Denied(ServerRequestPolicy.RefuseUnreadable(), null)
                    : InputRequestsDecision.FindDenied(inputPolicy, exchange.Principal ?? FastMcp.Identity.Principal.Anonymous, upstreamJson.Span, exchange.Route?.Name,
                        out _deniedDecision, out _deniedMethod);
                if (denied)
                {
                    if (!gateOfRequests.RecordInputRequestDenied(exchange, json, _deniedMethod, _deniedDecision)) return EventsOutcome.AuditRefused;
                    WriteDenialAnswer(exchange, _transformBuffers.Json);
                    _event.Clear();
                    SseEvent.WriteMessageEvent(_event, _transformBuffers.Json.WrittenSpan);
                    _answer.Clear();
                    _answer.Write(_transformBuffers.Json.WrittenSpan);
                    _answerViewed = false;
                    _answerRelayed = true;
                    return EventsOutcome.AnswerReplaced;
                }
            }
            _answer.Clear();
            _answer.Write(json.Span);
            // The bytes the view was read from: its record need not parse them again.
            _answerViewed = true;
            _answerRelayed = true;
            return EventsOutcome.Relayed;
        }
        if (gate is null) return EventsOutcome.Relayed;
        exchange.Stage = ExchangeStage.RecordResponse;
        return gate.RecordStreamMessage(exchange, json, view) ? EventsOutcome.Relayed : EventsOutcome.AuditRefused;
    }

    /// <summary>
    /// Records a notification task sealing withheld (Tasks/TaskIdSealing.cs). False when there is no one to record it or
    /// the log refused the record: the stream then ends, as for any record the log cannot take.
    /// </summary>
    private bool RecordTaskNotificationWithheld(Exchange exchange, ReadOnlyMemory<byte> relayed)
    {
        if (_taskNotifications is not { } gate
            || StreamEventMessage.Read(relayed, _joinedEvent, out ReadOnlyMemory<byte> json, out McpResponseView view) != StreamEventContent.Message) return false;
        return gate.RecordTaskNotificationWithheld(exchange, json, view);
    }

    /// <summary>
    /// Decides a server request on the message as the upstream sent it (a stage may have masked or renumbered it since):
    /// what the client would act on is the upstream's request. False: the upstream's event cannot be read again (withheld).
    /// <paramref name="denied"/>: the policy denied it; <see cref="_deniedDecision"/> and <see cref="_deniedId"/> (the
    /// upstream's own id) hold what the answer to the upstream needs.
    /// </summary>
    private bool DecideServerRequest(Exchange exchange, ServerRequestPolicy policy, ReadOnlyMemory<byte> relayed, ReadOnlyMemory<byte> json, in McpResponseView view,
        ReadOnlyMemory<byte> upstreamEvent, out bool denied)
    {
        denied = false;
        ReadOnlyMemory<byte> upstreamJson = json;
        McpResponseView upstreamView = view;
        if (!upstreamEvent.Span.SequenceEqual(relayed.Span)
            && (StreamEventMessage.Read(upstreamEvent, _upstreamJoined, out upstreamJson, out upstreamView) != StreamEventContent.Message
                || upstreamView.Kind != McpMessageKind.Request))
        {
            return false;
        }
        PolicyDecision decision = ServerRequestDecision.Decide(policy, exchange.Principal ?? FastMcp.Identity.Principal.Anonymous, upstreamJson.Span, upstreamView, exchange.Route?.Name);
        if (decision.Action == PolicyAction.Allow) return true;
        denied = true;
        _deniedDecision = decision;
        _deniedId.Clear();
        _deniedId.Write(upstreamJson.Span[upstreamView.IdRange]);
        return true;
    }

    private bool Denied(PolicyDecision decision, string? method)
    {
        _deniedDecision = decision;
        _deniedMethod = method;
        return true;
    }

    private enum BodyRequest : byte { None, Denied, Undecided, NotificationDenied, UndecidedNotification }

    /// <summary>
    /// A JSON body that holds a request of the upstream's where the answer to the client's call belongs. The spec sends
    /// server requests on event streams only, but a client SDK acts on every message a JSON body holds, so it is decided
    /// on the body as the upstream sent it, as a stream's request is. Denied: <see cref="_deniedDecision"/> and
    /// <see cref="_deniedId"/> say what to answer. Undecided: a batch holding a request (or a member that cannot be read),
    /// which is not taken apart: withheld whole. A notifications/resources/updated or notifications/message in the answer's place is decided by the
    /// client rules as on a stream (NotificationDenied; UndecidedNotification when its uri cannot be read, or a batch holds one). Only a
    /// body that names a method (or has a \u escape that could spell one) is read as a message; the rest cost one
    /// vectorized scan.
    /// </summary>
    private BodyRequest DecideBodyRequest(Exchange exchange)
    {
        ReadOnlyMemory<byte> body = _message.WrittenMemory;
        ReadOnlySpan<byte> span = body.Span;
        if (span.IndexOf("\"method\""u8) < 0 && span.IndexOf("\\u"u8) < 0) return BodyRequest.None;
        if (!ViewBody(out McpResponseView view)) return BodyRequest.None; // the stages refuse it
        if (view.Kind == McpMessageKind.Batch)
        {
            if (DecidesServerRequests && BatchHoldsRequest(body)) return BodyRequest.Undecided;
            return DecidesNotifications && ServerNotificationDecision.BatchMayHoldDecided(body) ? BodyRequest.UndecidedNotification : BodyRequest.None;
        }
        if (view.Kind == McpMessageKind.Request && DecidesServerRequests)
        {
            exchange.Stage = ExchangeStage.Decide;
            PolicyDecision decision = ServerRequestDecision.Decide(_serverRequests!.ServerRequests, exchange.Principal ?? FastMcp.Identity.Principal.Anonymous, span, view,
                exchange.Route?.Name);
            if (decision.Action != PolicyAction.Allow)
            {
                _deniedDecision = decision;
                _deniedId.Clear();
                _deniedId.Write(span[view.IdRange]);
                return BodyRequest.Denied;
            }
        }
        if (!ServerNotificationDecision.Applies(view) || _notifications?.NotificationRules is not { } rules) return BodyRequest.None;
        // A resource update or log message in the answer's place: client SDKs act on it as on one from a stream, so it is decided as one.
        exchange.Stage = ExchangeStage.Decide;
        ServerNotificationVerdict verdict = ServerNotificationDecision.Decide(rules, exchange.Principal ?? FastMcp.Identity.Principal.Anonymous, body, body, view, body,
            _upstreamJoined, exchange.Route?.Name, exchange.ClientAddress, out PolicyDecision updateDecision);
        if (verdict == ServerNotificationVerdict.Unreadable) return BodyRequest.UndecidedNotification;
        if (verdict == ServerNotificationVerdict.Allowed) return BodyRequest.None;
        _deniedDecision = updateDecision;
        return BodyRequest.NotificationDenied;
    }

    /// <summary>
    /// The denied resource update or log message (masked by now) is recorded, and the client's call gets the policy's refusal in its place
    /// (the upstream awaits no answer to a notification). False: the log refused the record.
    /// </summary>
    private bool AnswerWithNotificationDenial(Exchange exchange)
    {
        if (!McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(_message.WrittenMemory), out McpResponseView masked)
            || !_notifications!.RecordNotificationDenied(exchange, _message.WrittenMemory, masked, _deniedDecision)) return false;
        PooledBufferWriter json = _transformBuffers.Json;
        json.Clear();
        Range id = exchange.HasCall ? exchange.Call.IdRange : default;
        JsonRpcErrorWriter.Write(json, exchange.Body, id, JsonRpcErrorCodes.Forbidden, System.Text.Encoding.UTF8.GetBytes(_deniedDecision.Message));
        if (PanMasker.ContainsCardNumber(json.WrittenSpan)) exchange.ResponseIdHoldsCard = true;
        _message.Clear();
        _message.Write(json.WrittenSpan);
        return true;
    }

    /// <summary>True when a member of a JSON array body is a request, or cannot be read as a message (it might be one).</summary>
    private static bool BatchHoldsRequest(ReadOnlyMemory<byte> body)
    {
        Span<Range> members = stackalloc Range[McpBatch.MaxMembers];
        if (McpBatch.LocateMembers(body, members, out int count) != McpBatchError.None) return true;
        for (int i = 0; i < count; i++)
        {
            if (!McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(body[members[i]]), out McpResponseView member)
                || member.Kind is McpMessageKind.Request or McpMessageKind.Batch) return true;
        }
        return false;
    }

    /// <summary>
    /// The denied request (masked by now) is recorded and answered to the upstream in the client's stead; the client's call
    /// gets the policy's refusal in its place. False: the log refused the record.
    /// </summary>
    private async ValueTask<bool> AnswerWithBodyRequestDenialAsync(Exchange exchange)
    {
        if (!McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(_message.WrittenMemory), out McpResponseView masked)
            || !_serverRequests!.RecordDenied(exchange, _message.WrittenMemory, masked, _deniedDecision)) return false;
        await _serverRequests.AnswerDeniedAsync(exchange, _deniedId.WrittenMemory, _deniedDecision).ConfigureAwait(false);
        WriteDenialAnswer(exchange, _transformBuffers.Json);
        _message.Clear();
        _message.Write(_transformBuffers.Json.WrittenSpan);
        return true;
    }

    /// <summary>
    /// MCP 2026-07-28: a JSON answer that is an input_required result whose inputRequests the policy denies (decided on the
    /// body as the upstream sent it, before the stages). Only bodies that can hold the value are read as a message: one
    /// that spells "input_required", or has a \u escape that could spell it; the rest cost one vectorized scan.
    /// </summary>
    private bool DeniesInputRequest(Exchange exchange)
    {
        ReadOnlySpan<byte> span = _message.WrittenSpan;
        if (span.IndexOf("input_required"u8) < 0 && span.IndexOf("\\u"u8) < 0) return false;
        if (!ViewBody(out McpResponseView view) || !InputRequestsDecision.RequiresInput(span, view)) return false;
        exchange.Stage = ExchangeStage.Decide;
        return InputRequestsDecision.FindDenied(_serverRequests!.ServerRequests, exchange.Principal ?? FastMcp.Identity.Principal.Anonymous, span, exchange.Route?.Name,
            out _deniedDecision, out _deniedMethod);
    }

    /// <summary>
    /// The denied input_required answer (masked by now) is recorded, and replaced by a JSON-RPC error with the request's
    /// id: in this era the upstream holds no state to answer, so the client's call ends here. False: the log refused the record.
    /// </summary>
    private bool AnswerWithInputDenial(Exchange exchange)
    {
        if (!_serverRequests!.RecordInputRequestDenied(exchange, _message.WrittenMemory, _deniedMethod, _deniedDecision)) return false;
        PooledBufferWriter json = _transformBuffers.Json;
        WriteDenialAnswer(exchange, json);
        _message.Clear();
        _message.Write(json.WrittenSpan);
        return true;
    }

    private void WriteDenialAnswer(Exchange exchange, PooledBufferWriter json)
    {
        json.Clear();
        Range id = exchange.HasCall ? exchange.Call.IdRange : default;
        JsonRpcErrorWriter.Write(json, exchange.Body, id, JsonRpcErrorCodes.Forbidden, System.Text.Encoding.UTF8.GetBytes(ServerRequestPolicy.DenialMessage(_deniedDecision)));
        if (PanMasker.ContainsCardNumber(json.WrittenSpan)) exchange.ResponseIdHoldsCard = true;
    }

    /// <summary>
    /// True for the first response or error whose id is that of the request that opened the stream (compared as peers
    /// compare ids): the exchange's answer. Every other message on the stream is not (a GET stream, a batch, a
    /// notification's stream have none).
    /// </summary>
    private bool IsExchangeAnswer(Exchange exchange, ReadOnlySpan<byte> json, in McpResponseView view)
    {
        if (_answerRelayed || !view.IsResponse || McpCall.IsEmpty(view.IdRange) || !exchange.HasCall || exchange.Call.Kind != McpMessageKind.Request) return false;
        Range idRange = exchange.Call.IdRange;
        if (McpCall.IsEmpty(idRange)) return false;
        ReadOnlySequence<byte> id = exchange.Body.Slice(idRange.Start.Value, idRange.End.Value - idRange.Start.Value);
        ReadOnlySpan<byte> answerId = json[view.IdRange];
        if (id.IsSingleSegment) return McpBatch.SameId(id.FirstSpan, answerId);
        // An id split across the body's segments (rare): compared from a copy; one too long to copy is no match (recorded on its own).
        const int MaxCopiedId = 256;
        if (id.Length > MaxCopiedId) return false;
        Span<byte> copy = stackalloc byte[MaxCopiedId];
        id.CopyTo(copy);
        return McpBatch.SameId(copy[..(int)id.Length], answerId);
    }

    // Set by CheckAndRecord for the event it withholds as an answer to no request the client sent (Forwarding/UnaskedAnswer.cs).
    private bool _unaskedAnswer;
    // A POST's stream relayed an event with an id: the client can resume it with Last-Event-ID.
    private bool _sawEventId;

    /// <summary>
    /// Answers are checked against what the client asked (Forwarding/UnaskedAnswer.cs): on every route but in pass-through,
    /// which reads nothing.
    /// </summary>
    public bool ChecksAnswers { get; init; }

    /// <summary>The calls a resumed GET stream may answer (the gateway's one table; null: none may be).</summary>
    public Sessions.UnansweredStreamCalls? UnansweredCalls { get; init; }

    /// <summary>
    /// A POST's stream that ended before its call's answer reached the client, after an event id the client can resume from:
    /// the call may be answered on the resumed GET stream (once). A batch's calls are not kept: their answers there are withheld.
    /// </summary>
    private void RememberUnanswered(Exchange exchange, bool clientGone)
    {
        if (!_sawEventId || (_answerRelayed && !clientGone) || UnansweredCalls is not { } calls || !exchange.HasCall
            || exchange.Call.Kind != McpMessageKind.Request || McpCall.IsEmpty(exchange.Call.IdRange) || exchange.Route is not { } route) return;
        (int offset, int length) = exchange.Call.IdRange.GetOffsetAndLength(int.MaxValue);
        if (length > Sessions.UnansweredStreamCalls.MaxIdBytes) return;
        Span<byte> id = stackalloc byte[Sessions.UnansweredStreamCalls.MaxIdBytes];
        exchange.Body.Slice(offset, length).CopyTo(id);
        calls.Add(route.Name, exchange.Principal, exchange.Request.Headers.Get(KnownHeader.McpSessionId), id[..length]);
    }

    /// <summary>
    /// An event still unended past limits.maxResponseMessageBytes (a line that never ends, or longer than the gateway may
    /// hold): withheld like an unreadable one, so the client's call gets the refusal instead of no answer at all. It is
    /// recorded without its data: cut at the bound, a card number across the cut would be masked in neither part.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<EventsOutcome> WithholdOversizedEventAsync(PipeWriter client, Exchange exchange, bool chunked, IResponseGate? gate)
    {
        _message.Clear();
        _splitter.Reset();
        gate?.RecordWithheldEvent(exchange, default, WithheldEventReason.TooLarge);
        if (_answerRelayed || !exchange.HasCall || exchange.Call.Kind is not (McpMessageKind.Request or McpMessageKind.Batch)) return EventsOutcome.EventWithheld;
        WriteRefusalEvent(exchange, ForwardingError.OversizedEvent);
        _answer.Clear();
        _answer.Write(_transformBuffers.Json.WrittenSpan);
        _answerViewed = false;
        _answerRelayed = true;
        exchange.Stage = ExchangeStage.Write;
        return await WriteBoundedAsync(client, _event.WrittenMemory, chunked).ConfigureAwait(false) ? EventsOutcome.EventWithheld : EventsOutcome.ClientGone;
    }

    /// <summary>
    /// Why an event is withheld: bytes that are not UTF-8 text, whichever stage noticed; a message the gateway cannot read
    /// (also when every stage passed it: <paramref name="stagesPassed"/>); else a stage could not make it safe.
    /// </summary>
    internal static WithheldEventReason WithheldReason(StreamEventContent content, bool stagesPassed) => content switch
    {
        StreamEventContent.Undecodable => WithheldEventReason.Undecodable,
        StreamEventContent.Unreadable => WithheldEventReason.Unreadable,
        _ => stagesPassed ? WithheldEventReason.Unreadable : WithheldEventReason.Unsafe,
    };

    /// <summary>Why a transform refused a message: masking could not mask it, a task id could not be sealed, or a list could not be filtered.</summary>
    private static ForwardingError Refusal(Exchange exchange) =>
        exchange.ResponseUnmaskable ? ForwardingError.UnmaskableResponse
        : exchange.ResponseUnsealable ? ForwardingError.UnsealableResponse
        : ForwardingError.UnfilterableResponse;

    private enum BodyViewState : byte { NotRead, Viewed, Unreadable }

    // The JSON answer body as the upstream sent it, read once (McpResponseInspector) for every check made before the stages:
    // the unasked-answer check, a server request or notification in the answer's place, an input_required answer.
    private McpResponseView _bodyView;
    private BodyViewState _bodyViewState;
    // _message's generation once the stages ran on the body: a reading survives them only when they replaced nothing.
    private int _bodyGenerationBeforeStages;

    /// <summary>
    /// The body's view, read on first use; false when it is not a readable JSON-RPC message (the stages refuse it). Every
    /// check that asks runs only where the body passed <see cref="UnreadableBody"/> (UTF-8 text without NUL), so its UTF-8
    /// is not validated again.
    /// </summary>
    private bool ViewBody(out McpResponseView view)
    {
        if (_bodyViewState == BodyViewState.NotRead)
        {
            _bodyViewState = McpResponseInspector.TryInspectValidUtf8(new ReadOnlySequence<byte>(_message.WrittenMemory), out _bodyView)
                ? BodyViewState.Viewed : BodyViewState.Unreadable;
        }
        view = _bodyView;
        return _bodyViewState == BodyViewState.Viewed;
    }

    /// <summary>The stages over the JSON body, noting what the body was before them (<see cref="BodyViewedAsIs"/>).</summary>
    private bool ApplyBodyTransforms(Exchange exchange)
    {
        exchange.ResponseMaskedInPlace = false;
        _bodyGenerationBeforeStages = _message.Generation;
        return ApplyTransforms(exchange, _message, isEvent: false);
    }

    /// <summary>
    /// True when the body about to be released is byte for byte the one the view was read from: read, and since then
    /// neither replaced (by a stage or by a denial's answer) nor masked in place. Its record then need not parse it again.
    /// </summary>
    private bool BodyViewedAsIs(Exchange exchange) =>
        _bodyViewState == BodyViewState.Viewed && _message.Generation == _bodyGenerationBeforeStages && !exchange.ResponseMaskedInPlace;

    /// <summary>Runs the transforms in order; false when one refuses the message (the rest do not run).</summary>
    private bool ApplyTransforms(Exchange exchange, PooledBufferWriter message, bool isEvent)
    {
        exchange.Stage = ExchangeStage.Transform;
        for (int i = 0; i < _transforms.Length; i++)
        {
            if (!_transforms[i].Apply(exchange, message, isEvent, _transformBuffers)) return false;
        }
        return true;
    }

    /// <summary>The header fields the client will get pass the stages that look at them (card numbers masked).</summary>
    private void ApplyHeadTransforms(Exchange exchange, HttpHeaderTable headers)
    {
        exchange.Stage = ExchangeStage.Transform;
        for (int i = 0; i < _transforms.Length; i++)
        {
            if (_transforms[i] is IResponseHeadTransform transform) transform.ApplyToHead(exchange, headers);
        }
    }

    /// <summary>
    /// The head of a stream is already out, so a refused event cannot become a 502: the client gets an error message
    /// event instead (the request's id; null for a batch), and the stream ends after it.
    /// </summary>
    private void WriteRefusalEvent(Exchange exchange, ForwardingError why)
    {
        PooledBufferWriter json = _transformBuffers.Json;
        json.Clear();
        Range id = exchange.HasCall ? exchange.Call.IdRange : default;
        JsonRpcErrorWriter.Write(json, exchange.Body, id, why.JsonRpcCode(), why.Message(exchange));
        // The client's own id goes back as it sent it; the record of this answer masks it like any card-like id.
        if (PanMasker.ContainsCardNumber(json.WrittenSpan)) exchange.ResponseIdHoldsCard = true;
        _event.Clear();
        SseEvent.WriteMessageEvent(_event, json.WrittenSpan);
    }

    internal static void WriteEventBytes(PipeWriter client, ReadOnlySpan<byte> bytes, bool chunked)
    {
        if (chunked) ChunkedWriter.WriteChunk(client, bytes);
        else client.Write(bytes);
    }

    /// <summary>
    /// Set while relaying a member's answer on a federated path: its Mcp-Session-Id is the member's, not the session the
    /// client holds with the gateway, and a client would switch to it.
    /// </summary>
    public bool DropsSessionHeader { get; set; }

    /// <summary>
    /// True unless the exchange's upstream has forwardCookies on (read at each answer: a reload may change it). Always on a
    /// federated path: the client's cookie jar is the path's, so one member's cookie would be sent to the others.
    /// </summary>
    private bool DropsCookies(Exchange exchange) => DropsSessionHeader || exchange.Route is not { Options.ForwardCookies: true };

    private void ReportDroppedCookie(Exchange exchange) => exchange.Route?.CookieWarning.Report(federatedPath: DropsSessionHeader);

    /// <summary>Writes the relayed head; true when a Set-Cookie field of it was dropped.</summary>
    private static bool WriteResponseHead(PipeWriter pipe, HttpResponseHead head, bool close, bool chunked, bool eventStream, bool dropSession, bool dropCookies,
        Sessions.SealedSessionLines sealedSession)
    {
        // The head advances the pipe once (Buffers.CoalescingBufferWriter).
        Buffers.CoalescingBufferWriter client = Buffers.CoalescingBufferWriter.Begin(pipe);
        bool droppedCookie = WriteResponseHeadLines(client, head, close, chunked, eventStream, dropSession, dropCookies, sealedSession);
        client.End();
        return droppedCookie;
    }

    private static bool WriteResponseHeadLines(Buffers.CoalescingBufferWriter client, HttpResponseHead head, bool close, bool chunked, bool eventStream, bool dropSession,
        bool dropCookies, Sessions.SealedSessionLines sealedSession)
    {
        bool droppedCookie = false;
        GatewayResponses.WriteStatusLine(client, head.StatusCode);
        HttpHeaderTable headers = head.Headers;
        bool sawAccelBuffering = false;
        for (int i = 0; i < headers.Count; i++)
        {
            KnownHeader kind = headers.KindAt(i);
            if (KnownHeaders.IsHopByHop(kind) || kind == KnownHeader.ContentLength) continue;
            if (kind == KnownHeader.McpSessionId && (dropSession || sealedSession.Seals))
            {
                // A sealed route's client holds the sealed id (Sessions/IdSeal.cs); one left unsealed is dropped, never shown.
                if (!dropSession) client.Write(sealedSession.ClientLine);
                continue;
            }
            if (kind == KnownHeader.Other)
            {
                ReadOnlySpan<byte> name = headers.NameAt(i);
                if (headers.Contains(KnownHeader.Connection) && headers.ConnectionListsToken(name)) continue;
                if (System.Text.Ascii.EqualsIgnoreCase(name, "X-Accel-Buffering"u8)) sawAccelBuffering = true;
                // A challenge is about the gateway's credential, not the client's token (never passed upstream).
                if (System.Text.Ascii.EqualsIgnoreCase(name, "WWW-Authenticate"u8)) continue;
                // So is an upstream's DPoP nonce: the client proves its key to the gateway, with the gateway's nonces.
                if (System.Text.Ascii.EqualsIgnoreCase(name, "DPoP-Nonce"u8)) continue;
                // A cookie is the upstream's session with the gateway, not the client's to hold or replay (CookieFields).
                if (dropCookies && CookieFields.IsSetCookie(name))
                {
                    droppedCookie = true;
                    continue;
                }
            }
            client.Write(headers.LineAt(i));
            client.Write("\r\n"u8);
        }
        if (eventStream && !sawAccelBuffering) client.Write("X-Accel-Buffering: no\r\n"u8);
        if (chunked) client.Write("Transfer-Encoding: chunked\r\n"u8);
        if (close) client.Write("Connection: close\r\n"u8);
        return droppedCookie;
    }

    /// <summary>Between exchanges: the connection keeps no relay buffer while it waits.</summary>
    public void ReleaseBuffers()
    {
        _message.Release();
        _event.Release();
        _answer.Release();
        _joinedEvent.Release();
        _upstreamJoined.Release();
        _deniedId.Release();
        _transformBuffers.Release();
    }

    public void Dispose()
    {
        _message.Dispose();
        _event.Dispose();
        _answer.Dispose();
        _joinedEvent.Dispose();
        _upstreamJoined.Dispose();
        _deniedId.Dispose();
        _transformBuffers.Dispose();
        _writeTimer.Dispose();
    }
}
