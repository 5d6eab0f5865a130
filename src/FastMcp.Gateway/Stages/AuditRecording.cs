using System.Buffers;
using System.Diagnostics;
using FastMcp.Audit;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Http;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Pan;
using FastMcp.Pan.Payloads;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Prove: each exchange becomes audit records (FastMcp.Audit). The request record is durable
/// before the request is forwarded; the response record before a JSON response is released
/// (strict mode), and the exchange goes on on its connection's socket loop (<see cref="Scratch.ResumeOn"/>).
/// Payloads recorded here are already masked.
/// </summary>
/// <remarks><paramref name="upstream"/> is the default route's upstream URL (null without one): records of an exchange name
/// their route's upstream (URL and name) instead. <paramref name="fieldKeys"/>: the MAC keys of forwarded cookies and
/// redacted fields (audit.redactHeaders).</remarks>
internal sealed class AuditRecording(AuditLog log, string? upstream, PanMasker? masker = null, RecordedFieldKeys? fieldKeys = null)
{
    private readonly RecordedFieldKeys _fieldKeys = fieldKeys ?? new RecordedFieldKeys(null, null);

    private readonly Utf8StringCache _strings = new(4096);

    public AuditLog Log => log;
    public bool IsWritable => log.IsWritable;

    /// <summary>Per-connection state: the reusable event and buffers for contiguous copies.</summary>
    public sealed class Scratch : IDisposable
    {
        public readonly AuditEvent Event = new();
        public readonly PooledBufferWriter Id = new(64);
        public readonly PooledBufferWriter Request = new(1024);
        public readonly PooledBufferWriter Response = new(0);
        /// <summary>The exchange's query as recorded (masked); its findings are the record's concern only, not the exchange's.</summary>
        public readonly PooledBufferWriter Query = new(0);
        public CardFindings QueryCards;
        /// <summary>The exchange's forwarded header fields and cookies as recorded.</summary>
        public readonly ForwardedFieldsRecord Forwarded = new();
        /// <summary>
        /// The socket loop that owns the connection (null on the runtime's socket engine): in strict durability the
        /// exchange resumes there once its record is durable, not on a thread-pool worker.
        /// </summary>
        public FastMcp.Audit.IAppendResumeTarget? ResumeOn;
        public void Release()
        {
            Forwarded.Release();
            Id.Release();
            Request.Release();
            Response.Release();
            Query.Release();
        }

        public void Dispose() => Release();
    }

    /// <param name="inspectedAsIs">the body is byte for byte what McpInspector validated (the serializer need not parse it again)</param>
    public ValueTask<long> RecordRequestAsync(Exchange ex, Scratch s, string clientAddress, in ReadOnlySequence<byte> maskedBody, bool inspectedAsIs = false)
    {
        AuditEvent e = Fill(ex, s, clientAddress, AuditEventType.McpExchange, success: true);
        e.Detail = ex.Approval is { } a ? $"request ({a.AuditName})" : "request";
        e.RequestPayload = Contiguous(maskedBody, s.Request);
        e.RequestPayloadIsJson = inspectedAsIs;
        return log.AppendAsync(e, s.ResumeOn);
    }

    /// <param name="viewedAsIs">the response is byte for byte a message McpResponseInspector read (the serializer need not parse it again)</param>
    public ValueTask<long> RecordResponseAsync(Exchange ex, Scratch s, string clientAddress, ReadOnlyMemory<byte> maskedResponse, bool viewedAsIs = false) =>
        RecordResponse(ex, s, clientAddress, maskedResponse, "response", viewedAsIs);

    /// <summary>
    /// The end of an event stream: its response record. <paramref name="answer"/> is the exchange's answer as the client got it;
    /// empty when the stream carried none (a GET stream, or a call whose stream ended unanswered): the record then has no
    /// payload, every message of the stream having had a record of its own (<see cref="RecordStreamMessage"/>). A tasks request's
    /// stream ended because its task's creating call is no longer allowed keeps its end reason as the detail beside that answer.
    /// </summary>
    /// <param name="viewedAsIs">as for <see cref="RecordResponseAsync"/>, of <paramref name="answer"/></param>
    public ValueTask<long> RecordStreamEndAsync(Exchange ex, Scratch s, string clientAddress, ReadOnlyMemory<byte> answer, bool viewedAsIs = false)
    {
        // A task's stream ended by its refusal: the refusal is the answer, and the detail says why the stream ended.
        if (!answer.IsEmpty)
            return RecordResponse(ex, s, clientAddress, answer, ex.StreamEnd == Proxy.StreamEndReason.TaskCallNotAllowed ? Proxy.StreamEndReasons.Detail(ex.StreamEnd) : "response", viewedAsIs);
        if (ex.StreamEnd != Proxy.StreamEndReason.None) return RecordResponse(ex, s, clientAddress, default, Proxy.StreamEndReasons.Detail(ex.StreamEnd));
        bool unanswered = ex.HasCall && ex.Call.Kind == McpMessageKind.Request;
        return RecordResponse(ex, s, clientAddress, default, unanswered ? "response: the stream ended without an answer" : "response: the stream ended");
    }

    private ValueTask<long> RecordResponse(Exchange ex, Scratch s, string clientAddress, ReadOnlyMemory<byte> maskedResponse, string detail, bool viewedAsIs = false)
    {
        AuditEvent e = Fill(ex, s, clientAddress, AuditEventType.McpExchange, success: ex.ResponseStatus is >= 200 and < 400);
        e.Detail = ex.Approval is { } a ? $"{detail} ({a.AuditName})" : detail;
        // Tool pinning's finding on a tools/list answer: which tools were withheld (or differ), with both digests.
        if (ex.ToolPinNote is { } pins) e.Detail = $"{e.Detail}; {pins}";
        PanMasker? copyMasker = ex.ResponseIdHoldsCard ? ex.Masking?.Masker ?? masker : null;
        e.ResponsePayload = copyMasker is not null ? MaskedCopy(e, maskedResponse.Span, s.Response, copyMasker) : maskedResponse;
        // A masked copy is other bytes than those the inspector read: the serializer checks it.
        e.ResponsePayloadIsJson = viewedAsIs && copyMasker is null;
        e.HttpStatus = ex.ResponseStatus;
        e.LatencyMicroseconds = (long)Stopwatch.GetElapsedTime(ex.StartTimestamp).TotalMicroseconds;
        AddFingerprints(e, ex.ResponseCards);
        Hosting.AccessLog.Current?.TryEnqueue(AccessEntry(ex, e, ex.ResponseStatus, maskedResponse.Length));
        return log.AppendAsync(e, s.ResumeOn);
    }

    /// <summary>
    /// A message the upstream sent the client on an event stream that is not the exchange's own answer: a request
    /// (sampling/createMessage, elicitation/create, roots/list, ping), a notification (progress, log lines,
    /// resources/updated), or another answer (a GET stream's replay, a batch's answers). Its own McpExchange record marked
    /// server-to-client, the event's JSON (masked, as the client got it) as the request payload, its own method (or kind)
    /// and id. The exchange's caller, session, trace and upstream are the stream's. Queued, not waited for: the stream
    /// goes on while the writer makes it durable. Throws AuditUnavailableException when the log cannot take it (the
    /// caller then must not relay the event).
    /// </summary>
    public long RecordStreamMessage(Exchange ex, Scratch s, string clientAddress, ReadOnlyMemory<byte> message, in McpResponseView view)
    {
        AuditEvent e = Fill(ex, s, clientAddress, AuditEventType.McpExchange, success: true);
        e.ServerToClient = true;
        if (view.Kind is McpMessageKind.Request or McpMessageKind.Notification)
        {
            e.Detail = view.Kind == McpMessageKind.Request ? "server request" : "server notification";
            e.Method = view.Method != McpMethod.Unknown ? McpMethods.Name(view.Method) : StringAt(new ReadOnlySequence<byte>(message), view.MethodRange);
        }
        else
        {
            e.Detail = "server response";
            e.Method = KindWithoutMethod(view.Kind);
        }
        e.JsonRpcIdRaw = McpCall.IsEmpty(view.IdRange) ? default : message[view.IdRange];
        ClearCallFields(e);
        PanMasker? copyMasker = ex.ResponseIdHoldsCard ? ex.Masking?.Masker ?? masker : null;
        e.RequestPayload = copyMasker is not null ? MaskedCopy(e, message.Span, s.Response, copyMasker) : message;
        // The view was read from exactly these bytes (IResponseGate.RecordStreamMessage): not parsed again unless copied.
        e.RequestPayloadIsJson = copyMasker is null;
        return log.AppendQueued(e);
    }

    /// <summary>
    /// An event the gateway did not relay (the stream was ended there): a Denied record marked server-to-client with the
    /// event's data, masked here (a stage may have refused it before masking ran; unreadable data is masked as text; data
    /// that is not UTF-8 text is not recorded).
    /// Queued like <see cref="RecordStreamMessage"/>; throws AuditUnavailableException when the log cannot take it.
    /// </summary>
    public long RecordWithheldEvent(Exchange ex, Scratch s, string clientAddress, ReadOnlyMemory<byte> data, WithheldEventReason reason)
    {
        AuditEvent e = Fill(ex, s, clientAddress, AuditEventType.Denied, success: false);
        e.ServerToClient = true;
        e.Detail = reason switch
        {
            WithheldEventReason.Unreadable => "withheld: not a readable JSON-RPC message" + ListRefusal(ex) + "; the stream was ended",
            WithheldEventReason.Undecodable => "withheld: not UTF-8 text (a NUL byte or bytes that are not UTF-8), recorded without its data; the stream was ended",
            WithheldEventReason.TooLarge => "withheld: not ended within limits.maxResponseMessageBytes, recorded without its data; the stream was ended",
            WithheldEventReason.UnaskedAnswer => "withheld: a JSON-RPC answer to no request this upstream was sent on this stream; the stream was ended",
            _ => "withheld: a response stage could not make it safe for this client" + ListRefusal(ex) + "; the stream was ended",
        };
        e.Method = null;
        e.JsonRpcIdRaw = default;
        ClearCallFields(e);
        // Bytes the masker cannot read as text could hold a card number it does not see (a NUL between each digit): not kept.
        e.RequestPayload = reason is WithheldEventReason.Undecodable or WithheldEventReason.TooLarge ? default
            : (ex.Masking?.Masker ?? masker) is { } m ? MaskedCopy(e, data.Span, s.Response, m) : data;
        return log.AppendQueued(e);
    }

    /// <summary>Why the list filter refused the event, when it did (it runs before the event is read for its record); else empty.</summary>
    private static string ListRefusal(Exchange ex) => ex.ListRefusal == ListFilterRefusal.None ? ""
        : " (" + System.Text.Encoding.UTF8.GetString(Forwarding.ForwardingErrors.Message(Forwarding.ForwardingError.UnfilterableResponse, ex))
            .Replace("by policy: withheld: ", "by policy: ", StringComparison.Ordinal) + ")";

    /// <summary>
    /// A request the upstream sent the client that policy.serverRequests denied: a Denied record marked server-to-client, with
    /// the request's method and id, the decision and the rule, the event's JSON (masked, as the client would have got it) as
    /// the request payload, and the caller, session and upstream of the stream that carried it. Queued like
    /// <see cref="RecordStreamMessage"/>; throws AuditUnavailableException when the log cannot take it.
    /// </summary>
    public long RecordServerRequestDenied(Exchange ex, Scratch s, string clientAddress, ReadOnlyMemory<byte> message, in McpResponseView view, string? rule, string outcome)
    {
        AuditEvent e = Fill(ex, s, clientAddress, AuditEventType.Denied, success: false);
        e.ServerToClient = true;
        ClearCallFields(e);
        e.Detail = $"server request denied by policy.serverRequests {(rule is null ? "defaultAction" : $"rule '{rule}'")}: withheld from the client; {outcome}";
        e.Method = view.Method != McpMethod.Unknown ? McpMethods.Name(view.Method) : StringAt(new ReadOnlySequence<byte>(message), view.MethodRange);
        e.JsonRpcIdRaw = McpCall.IsEmpty(view.IdRange) ? default : message[view.IdRange];
        e.Decision = "Deny";
        e.Rule = rule ?? "(default)";
        e.RequestPayload = ex.ResponseIdHoldsCard && (ex.Masking?.Masker ?? masker) is { } m ? MaskedCopy(e, message.Span, s.Response, m) : message;
        return log.AppendQueued(e);
    }

    /// <summary>
    /// A server notification the client rules denied (<see cref="ServerNotificationDecision"/>): a Denied record marked
    /// server-to-client with the method, the target (a resource update's URI; none for a log message), the decision and
    /// rule, and the message (masked, as the client would have got it) as the request payload; the stream's caller, session
    /// and upstream. Queued like <see cref="RecordStreamMessage"/>; throws AuditUnavailableException when the log cannot take it.
    /// </summary>
    public long RecordNotificationDenied(Exchange ex, Scratch s, string clientAddress, ReadOnlyMemory<byte> message, in McpResponseView view, string? rule)
    {
        AuditEvent e = Fill(ex, s, clientAddress, AuditEventType.Denied, success: false);
        e.ServerToClient = true;
        ClearCallFields(e);
        string by = rule is null ? "defaultAction" : $"rule '{rule}'";
        if (view.Method == McpMethod.NotificationsMessage)
        {
            e.Detail = $"log message denied by policy {by} (decided as logging/setLevel): withheld from the client; the stream goes on";
            e.Method = McpMethods.Name(McpMethod.NotificationsMessage);
        }
        else
        {
            e.Detail = $"resource update denied by policy {by} (decided as resources/subscribe of its uri): withheld from the client; the stream goes on";
            e.Method = McpMethods.Name(McpMethod.NotificationsResourcesUpdated);
            Span<byte> uri = stackalloc byte[ResourceUpdatedUri.MaxUriBytes];
            int length = ResourceUpdatedUri.Read(message.Span, view.ParamsRange, uri);
            e.Target = length < 0 ? null : _strings.Get(uri[..length]);
        }
        e.Decision = "Deny";
        e.Rule = rule ?? "(default)";
        e.RequestPayload = ex.ResponseIdHoldsCard && (ex.Masking?.Masker ?? masker) is { } m ? MaskedCopy(e, message.Span, s.Response, m) : message;
        return log.AppendQueued(e);
    }

    /// <summary>
    /// A notification on a stream naming a task not bound to the stream's caller on this replica (tasks.sealed: created
    /// through another replica, or someone else's), withheld: a Denied record marked server-to-client with its method, the
    /// rule (task-not-yours) and the message masked here (sealing refuses it before masking runs). Queued like
    /// <see cref="RecordStreamMessage"/>; throws AuditUnavailableException when the log cannot take it.
    /// </summary>
    public long RecordTaskNotificationWithheld(Exchange ex, Scratch s, string clientAddress, ReadOnlyMemory<byte> message, in McpResponseView view)
    {
        AuditEvent e = Fill(ex, s, clientAddress, AuditEventType.Denied, success: false);
        e.ServerToClient = true;
        ClearCallFields(e);
        e.Detail = "notification naming a task not bound to the caller on this replica: withheld from the client; the stream goes on";
        e.Method = view.Method != McpMethod.Unknown ? McpMethods.Name(view.Method) : StringAt(new ReadOnlySequence<byte>(message), view.MethodRange);
        e.JsonRpcIdRaw = default;
        e.Decision = "Deny";
        e.Rule = FastMcp.Policy.PolicyEngine.TaskNotYoursRule.Name;
        e.RequestPayload = (ex.Masking?.Masker ?? masker) is { } m ? MaskedCopy(e, message.Span, s.Response, m) : message;
        return log.AppendQueued(e);
    }

    /// <summary>
    /// An input_required answer (MCP 2026-07-28) the client did not get because policy.serverRequests denied one of its
    /// inputRequests: a Denied record marked server-to-client, the request's method (or "(unreadable input request)"),
    /// the exchange's id, the rule, and the answer (masked) as payload; the client got a JSON-RPC error instead, which
    /// is the exchange's response record. Queued; throws AuditUnavailableException when the log cannot take it.
    /// </summary>
    public long RecordInputRequestDenied(Exchange ex, Scratch s, string clientAddress, ReadOnlyMemory<byte> answer, string? method, string? rule)
    {
        AuditEvent e = Fill(ex, s, clientAddress, AuditEventType.Denied, success: false);
        e.ServerToClient = true;
        ClearCallFields(e);
        e.Detail = $"input request denied by policy.serverRequests {(rule is null ? "defaultAction" : $"rule '{rule}'")}: the input_required result was withheld; the client got JSON-RPC error -32001";
        e.Method = method ?? "(unreadable input request)";
        e.Decision = "Deny";
        e.Rule = rule ?? "(default)";
        e.RequestPayload = (ex.Masking?.Masker ?? masker) is { } m && ex.ResponseIdHoldsCard ? MaskedCopy(e, answer.Span, s.Response, m) : answer;
        return log.AppendQueued(e);
    }

    /// <summary>What the client's call named and how policy decided it are not a server-sent message's: the upstream sent it unasked.</summary>
    private static void ClearCallFields(AuditEvent e)
    {
        e.Target = null;
        e.Decision = null;
        e.Rule = null;
        e.Approver = null;
        e.CardFingerprints.Clear();
    }

    /// <summary>
    /// The response the gateway could not deliver: the client read nothing of it within timeouts.clientWriteMs while
    /// the gateway held up to limits.maxBufferedResponseBytes for it, so the exchange was closed part-way.
    /// </summary>
    public ValueTask<long> RecordResponseAbandonedAsync(Exchange ex, Scratch s, string clientAddress, long bufferedBytes, long bound, int writeTimeoutMs)
    {
        AuditEvent e = Fill(ex, s, clientAddress, AuditEventType.McpExchange, success: false);
        e.Detail = $"response abandoned: the client read nothing for {writeTimeoutMs} ms (timeouts.clientWriteMs) with {bufferedBytes} bytes held for it"
            + $" (limits.maxBufferedResponseBytes {bound}); exchange closed";
        e.HttpStatus = ex.ResponseStatus;
        e.LatencyMicroseconds = (long)Stopwatch.GetElapsedTime(ex.StartTimestamp).TotalMicroseconds;
        return log.AppendAsync(e, s.ResumeOn);
    }

    /// <summary>
    /// The exchange's outcome when the upstream failed it (unreachable, no answer in time, an answer withheld: a redirect,
    /// a challenge, compressed or unreadable bytes): the client got the gateway's own error, with this status.
    /// </summary>
    public ValueTask<long> RecordForwardingFailureAsync(Exchange ex, Scratch s, string clientAddress, string error, string message)
    {
        AuditEvent e = Fill(ex, s, clientAddress, AuditEventType.McpExchange, success: false);
        e.Detail = $"upstream failed: {error} ({message}); the client got the gateway's error";
        e.HttpStatus = ex.ResponseStatus;
        e.LatencyMicroseconds = (long)Stopwatch.GetElapsedTime(ex.StartTimestamp).TotalMicroseconds;
        return log.AppendAsync(e, s.ResumeOn);
    }

    /// <summary>
    /// The outcome of an approved held call whose request was recorded and that its caller withdrew (notifications/cancelled)
    /// before a byte of it was written to the upstream: it was never sent.
    /// </summary>
    public ValueTask<long> RecordWithdrawnAsync(Exchange ex, Scratch s, string clientAddress, PendingApproval approval)
    {
        AuditEvent e = Fill(ex, s, clientAddress, AuditEventType.McpExchange, success: false);
        e.Detail = $"withdrawn by the caller (notifications/cancelled) after approval {approval.Id}, before it was written to the upstream: not forwarded";
        e.HttpStatus = ex.ResponseStatus;
        e.LatencyMicroseconds = (long)Stopwatch.GetElapsedTime(ex.StartTimestamp).TotalMicroseconds;
        return log.AppendAsync(e, s.ResumeOn);
    }

    /// <summary>A call the gateway refused (policy deny, approval required, card number blocked).</summary>
    public ValueTask<long> RecordDenialAsync(Exchange ex, Scratch s, string clientAddress, in ReadOnlySequence<byte> maskedBody, string reason)
    {
        AuditEvent e = Fill(ex, s, clientAddress, AuditEventType.Denied, success: false);
        e.Detail = reason;
        e.RequestPayload = Contiguous(maskedBody, s.Request);
        Hosting.AccessLog.Current?.TryEnqueue(AccessEntry(ex, e, 0, 0));
        return log.AppendAsync(e, s.ResumeOn);
    }

    /// <summary>A call a require_approval rule stopped: the pending approval, with the masked request, before anyone can see it.</summary>
    public ValueTask<long> RecordApprovalRequestedAsync(Exchange ex, Scratch s, string clientAddress, in ReadOnlySequence<byte> maskedBody, PendingApproval a)
    {
        AuditEvent e = Fill(ex, s, clientAddress, AuditEventType.ApprovalRequested, success: true);
        // A field audit.redactHeaders names is shown by MAC here too: the digest is then not recomputable from the record alone.
        a.RecordedHeaders = _fieldKeys.RedactsAny ? System.Text.Encoding.ASCII.GetString(e.Headers.Span) : a.Headers;
        e.Detail = $"approval {a.Id} requested ({(a.Mode == FastMcp.Policy.ApprovalMode.Grant ? "grant" : "hold")}): needs {a.RequiredApprovals} of [{string.Join(", ", a.ApproverGroups)}]"
            + $" by {ApprovalBroker.Iso(a.ExpiresUtc)}; digest {a.Digest}" + (a.Query.Length > 0 ? $"; query {a.Query}" : "")
            + (a.RecordedHeaders.Length > 0 ? $"; headers {a.RecordedHeaders}" : "")
            + (a.Cookies.Length > 0 ? $"; cookies {a.Cookies}" : ""); // what the digest binds besides the payload, so it can be recomputed
        e.RequestPayload = Contiguous(maskedBody, s.Request);
        return log.AppendAsync(e, s.ResumeOn);
    }

    /// <summary>An approval decided (granted, denied) by <paramref name="actor"/>, or ended without one (actor null).</summary>
    public ValueTask<long> RecordApprovalEventAsync(PendingApproval a, AuditEventType type, Principal? actor, string clientAddress, string detail, string? approver)
    {
        Principal who = actor ?? a.Requester;
        var e = new AuditEvent
        {
            Type = type,
            TimestampUtc = DateTime.UtcNow,
            Success = type is AuditEventType.ApprovalGranted or AuditEventType.ApprovalRestored,
            Subject = who.Subject,
            Groups = who.Groups,
            ClientId = who.ClientId,
            ClientAddress = clientAddress,
            Upstream = a.UpstreamUrl ?? upstream,
            UpstreamName = a.Upstream,
            Method = a.Method,
            Target = a.Target,
            // The approver saw this query (masked, '?' included): the record says which call was decided.
            Query = a.Query.Length > 0 ? System.Text.Encoding.ASCII.GetBytes(a.Query) : default,
            // And the fields and cookies it bound; with redaction on, only as its requested record wrote them (never in clear).
            Headers = (a.RecordedHeaders ?? (_fieldKeys.RedactsAny ? "" : a.Headers)) is { Length: > 0 } h ? System.Text.Encoding.ASCII.GetBytes(h) : default,
            Cookies = a.Cookies.Length > 0 ? System.Text.Encoding.ASCII.GetBytes(a.Cookies) : default,
            Decision = "RequireApproval",
            Rule = a.RuleName,
            Approver = approver,
            Detail = detail,
        };
        // An approver's decision applies only once cutting it from the chain's tail would contradict a signed checkpoint
        // (in batched durability too): a crash, or someone cutting the tail, cannot leave a decision the approver was told of unrecorded.
        return type is AuditEventType.ApprovalGranted or AuditEventType.ApprovalDenied or AuditEventType.ApprovalRevoked ? log.AppendCheckpointedAsync(e) : log.AppendAsync(e);
    }

    /// <summary>
    /// An approvals.stateFile record (ApprovalState): a generation bound before its write, carried forward, or a file refused
    /// or accepted at start; complete once durable and covered by a signed checkpoint (the start's rollback check reads it).
    /// </summary>
    public ValueTask<long> RecordApprovalStateAsync(bool success, string detail) =>
        log.AppendCheckpointedAsync(new AuditEvent { Type = AuditEventType.ApprovalState, TimestampUtc = DateTime.UtcNow, Success = success, Subject = "fastmcp", Detail = detail });

    public ValueTask<long> RecordAuthenticationFailureAsync(Exchange ex, Scratch s, string clientAddress, string failure)
    {
        AuditEvent e = s.Event;
        e.Reset();
        e.Type = AuditEventType.AuthenticationFailed;
        e.TimestampUtc = DateTime.UtcNow;
        e.Success = false;
        e.ClientAddress = clientAddress;
        e.Upstream = ex.Route is { } route ? route.Describe() : upstream;
        e.UpstreamName = ex.Route?.Name;
        e.HttpStatus = 401;
        e.Detail = failure;
        return log.AppendAsync(e, s.ResumeOn);
    }

    /// <summary>
    /// One record for the attempts of one client address refused with 429 during an interval.
    /// <paramref name="clientAddress"/> null: those of addresses evicted from the limiter's table before they were recorded.
    /// </summary>
    public ValueTask<long> RecordRefusedAuthenticationAsync(string? clientAddress, long refused, TimeSpan interval)
    {
        var e = new AuditEvent
        {
            Type = AuditEventType.AuthenticationFailed,
            TimestampUtc = DateTime.UtcNow,
            Success = false,
            ClientAddress = clientAddress,
            Upstream = upstream,
            HttpStatus = 429,
            Detail = $"{refused} authentication attempt(s) refused with 429 in the last {interval.TotalSeconds:0}s: " + (clientAddress is null
                ? "addresses that exceeded their failed-authentication budget and were no longer tracked (failedAuthentication.maxTrackedSources; recorded in aggregate)"
                : "this address exceeded its failed-authentication budget (recorded in aggregate)"),
        };
        return log.AppendAsync(e);
    }

    /// <summary>
    /// One record for the requests of one client address or subject refused by a rate limit during an interval.
    /// <paramref name="key"/> null: the refusals of keys evicted from the limiter's table before they were recorded.
    /// </summary>
    public ValueTask<long> RecordRateLimitedAsync(RateLimiting.RateLimitScope scope, string? key, long refused, TimeSpan interval, string? ruleName = null)
    {
        string limit = scope switch
        {
            RateLimiting.RateLimitScope.ClientAddress => "per client address",
            RateLimiting.RateLimitScope.Subject => "per subject",
            _ => $"of policy rule '{ruleName}' per subject",
        };
        var e = new AuditEvent
        {
            Type = AuditEventType.Denied,
            TimestampUtc = DateTime.UtcNow,
            Success = false,
            Subject = scope != RateLimiting.RateLimitScope.ClientAddress ? key : null,
            Rule = ruleName,
            ClientAddress = scope == RateLimiting.RateLimitScope.ClientAddress ? key : null,
            Upstream = upstream,
            HttpStatus = 429,
            Detail = key is null
                ? $"{refused} request(s) refused with 429 in the last {interval.TotalSeconds:0}s by the rate limit {limit}, from sources no longer tracked (recorded in aggregate)"
                : $"{refused} request(s) refused with 429 in the last {interval.TotalSeconds:0}s: rate limit {limit} exceeded (recorded in aggregate)",
        };
        return log.AppendAsync(e);
    }

    /// <summary>
    /// One record for the requests of one caller on one upstream refused 404 during an interval for naming a session that
    /// is not theirs (docs/audit-format.md): who tried, from where, whose session it was, how many, and a keyed fingerprint
    /// of the id, never the id (a bearer for the session). <see cref="Sessions.SessionRefusalSummary.Subject"/> null: the
    /// refusals of callers no longer tracked, summed. <paramref name="upstreamUrl"/>: what the upstream's records call it.
    /// </summary>
    public ValueTask<long> RecordSessionRefusalsAsync(Sessions.SessionRefusalSummary refused, string? upstreamUrl, TimeSpan interval)
    {
        string what = refused.Reason == Sessions.SessionRefusal.Foreign
            ? refused.Owner is null ? "a session issued to another caller"
                : $"a session issued to another caller ({refused.Owner}{(refused.SeveralOwners ? ", and others" : "")})"
            : "a session id not issued to anyone here (sessions.unknown \"refuse\")";
        string ids = refused.Subject is null ? "from callers no longer tracked"
            : refused.SeveralIds ? $"naming several session ids (the first: session id fingerprint {refused.Fingerprint:x16})"
            : $"all naming one session id (session id fingerprint {refused.Fingerprint:x16})";
        string issuer = refused.Issuer is null ? "" : $", caller issuer {refused.Issuer}";
        var e = new AuditEvent
        {
            Type = AuditEventType.Denied,
            TimestampUtc = DateTime.UtcNow,
            Success = false,
            Subject = refused.Subject,
            ClientAddress = refused.ClientAddress,
            // The sum of callers no longer tracked spans upstreams: it names none.
            Upstream = refused.Upstream is null ? null : upstreamUrl ?? upstream,
            // A federated path has no upstream name of its own: its records name it federation:<path> only.
            UpstreamName = refused.Upstream is { } name && name.StartsWith("federation:", StringComparison.Ordinal) ? null : refused.Upstream,
            HttpStatus = 404,
            Detail = $"{refused.Refused} request(s) naming {what} refused with 404 in the last {interval.TotalSeconds:0}s, {ids}{issuer} (recorded in aggregate)",
        };
        return log.AppendAsync(e);
    }

    /// <summary>The access-log entry of an exchange: the record's (masked) strings by reference, and numbers; nothing allocated.</summary>
    private static Hosting.AccessLogEntry AccessEntry(Exchange ex, AuditEvent e, int upstreamStatus, long responseBytes)
    {
        var entry = new Hosting.AccessLogEntry
        {
            UnixMicroseconds = (e.TimestampUtc.Ticks - DateTime.UnixEpoch.Ticks) / 10,
            Subject = e.Subject,
            Client = e.ClientAddress,
            Method = e.Method,
            Tool = e.Target,
            Decision = e.Decision,
            Rule = e.Rule,
            Status = ex.ResponseStatus,
            UpstreamStatus = upstreamStatus,
            DurationMicroseconds = (long)Stopwatch.GetElapsedTime(ex.StartTimestamp).TotalMicroseconds,
            RequestBytes = ex.Body.Length,
            ResponseBytes = responseBytes,
        };
        // The exchange's trace: the client's when it sent a valid traceparent, else the one the gateway started.
        entry.HasTrace = ex.Trace.IsValid;
        entry.TraceHigh = ex.Trace.TraceHigh;
        entry.TraceLow = ex.Trace.TraceLow;
        return entry;
    }

    /// <summary>
    /// One answer of the admin listener (AdminRequest, docs/audit-format.md): the verified caller (none for a view served
    /// without a credential), the client address, the HTTP method, path and query (card numbers masked), the status and
    /// what was shown. Never a presented token.
    /// </summary>
    public ValueTask<long> RecordAdminRequestAsync(Principal? caller, string clientAddress, string method, string path, string query, int status, string detail)
    {
        var e = new AuditEvent
        {
            Type = AuditEventType.AdminRequest,
            TimestampUtc = DateTime.UtcNow,
            Success = status is >= 200 and < 300,
            Subject = caller?.Subject,
            Groups = caller?.Groups,
            ClientId = caller?.ClientId,
            ClientAddress = clientAddress,
            Method = method,
            Target = CardText.Mask(path),
            Query = query.Length > 0 ? System.Text.Encoding.ASCII.GetBytes(CardText.MaskQuery(System.Text.Encoding.ASCII.GetBytes(query))) : default,
            HttpStatus = status,
            Detail = detail,
        };
        return log.AppendAsync(e);
    }

    /// <summary>
    /// The admin requests of one caller (a subject, or a client address when the view takes no credential) refused with 429
    /// over admin.recordedRequestsPerMinute during an interval, in one record; both null: those of callers no longer tracked.
    /// </summary>
    public ValueTask<long> RecordAdminRequestsThrottledAsync(string? subject, string? clientAddress, long refused, TimeSpan interval, int perMinute)
    {
        string from = subject is null && clientAddress is null ? ", from callers no longer tracked" : "";
        var e = new AuditEvent
        {
            Type = AuditEventType.AdminRequest,
            TimestampUtc = DateTime.UtcNow,
            Success = false,
            Subject = subject,
            ClientAddress = clientAddress,
            HttpStatus = 429,
            Detail = $"{refused} admin request(s) refused with 429 in the last {interval.TotalSeconds:0}s: over admin.recordedRequestsPerMinute ({perMinute}){from} (recorded in aggregate)",
        };
        return log.AppendAsync(e);
    }

    public ValueTask<long> RecordConfigurationReloadAsync(bool success, string detail)
    {
        var e = new AuditEvent { Type = AuditEventType.ConfigurationReloaded, TimestampUtc = DateTime.UtcNow, Success = success, Detail = detail, Subject = "fastmcp" };
        return log.AppendAsync(e);
    }

    private AuditEvent Fill(Exchange ex, Scratch s, string clientAddress, AuditEventType type, bool success)
    {
        AuditEvent e = s.Event;
        e.Reset();
        e.Type = type;
        e.TimestampUtc = DateTime.UtcNow;
        e.Success = success;
        if (ex.Principal is { } p)
        {
            e.Subject = p.Subject;
            e.Groups = p.Groups;
            e.ClientId = p.ClientId;
        }
        e.ClientAddress = clientAddress;
        e.ClientHop = ex.ClientHop;
        e.ClientCertificateSubject = ex.ClientCertificate?.Subject;
        e.ClientCertificateSha256 = ex.ClientCertificate?.Sha256;
        e.TraceHigh = ex.Trace.TraceHigh;
        e.TraceLow = ex.Trace.TraceLow;
        e.SpanId = ex.Trace.SpanId;
        // The gateway's own answer on a federated path (a merged list) names the path: it came from no one member.
        e.Upstream = ex.Route is { } route ? route.Describe() : ex.Federation is { } federation ? federation.AuditUpstream : upstream;
        e.UpstreamName = ex.Route?.Name;
        e.Query = RecordedQuery(ex, s);
        s.Forwarded.Write(ex, ex.Masking?.Masker ?? masker, _fieldKeys, out e.Headers, out e.Cookies);
        ReadOnlySpan<byte> session = ex.UpstreamSessionId;
        if (!session.IsEmpty) e.SessionId = _strings.Get(session);
        if (ex.HasCall)
        {
            // Fields come from the masked copy of the request once there is one (the serializer masks them again).
            ReadOnlySequence<byte> body = ex.Recorded.IsEmpty ? ex.Body : ex.Recorded;
            ref McpCall call = ref ex.Call;
            e.Method = call.Method != McpMethod.Unknown ? McpMethods.Name(call.Method)
                : McpCall.IsEmpty(call.MethodRange) ? KindWithoutMethod(call.Kind) : StringAt(body, call.MethodRange);
            // On a federated path the target is the name the client used (prefixed); the payload holds the one forwarded.
            if (ex.ClientTarget is not null) e.Target = ex.ClientTarget;
            else if (call.HasName) e.Target = TargetOf(ex, body, call.NameRange);
            if (call.HasId) e.JsonRpcIdRaw = Contiguous(body.Slice(call.IdRange.Start.Value, call.IdRange.End.Value - call.IdRange.Start.Value), s.Id);
            if (!McpCall.IsEmpty(call.ClientInfoNameRange)) e.McpClientName = StringAt(body, call.ClientInfoNameRange);
            if (!McpCall.IsEmpty(call.ClientInfoVersionRange)) e.McpClientVersion = StringAt(body, call.ClientInfoVersionRange);
        }
        else
        {
            e.Method = ex.Request.Method switch { Http.HttpMethod.Get => "GET stream", Http.HttpMethod.Delete => "DELETE session", _ => "POST" };
        }
        if (ex.Decision is { } d)
        {
            e.Decision = d.Action switch { FastMcp.Policy.PolicyAction.Allow => "Allow", FastMcp.Policy.PolicyAction.Deny => "Deny", _ => "RequireApproval" };
            e.Rule = d.Rule?.Name ?? "(default)";
        }
        if (ex.Approval is { } approval) e.Approver = approval.ApproverList();
        AddFingerprints(e, ex.RequestCards);
        AddFingerprints(e, s.Forwarded.Cards);
        return e;
    }

    /// <summary>
    /// The request target's query as the record holds it ('?' included; empty when the target had none): a copy masked the
    /// way approvals mask it, whatever masking.requests forwarded (under "mask" the head's own query is masked already and
    /// this finds nothing more). A card number whose mask cannot be written in the query's own width is not recorded.
    /// </summary>
    private ReadOnlyMemory<byte> RecordedQuery(Exchange ex, Scratch s)
    {
        ReadOnlySpan<byte> query = ex.Request.Query;
        if (query.IsEmpty) return default;
        s.Query.Clear();
        s.Query.Write(query);
        if ((ex.Masking?.Masker ?? masker) is not { } m) return s.Query.WrittenMemory;
        s.QueryCards.Reset();
        return QueryCardMasking.TryMaskInPlace(m, s.Query.WrittenSpan, ref s.QueryCards) ? s.Query.WrittenMemory : UnmaskableQuery;
    }

    // A literal space never occurs in a request target, so this cannot be mistaken for a query that was sent.
    private static readonly byte[] UnmaskableQuery = "?(withheld: holds a card number that cannot be masked in place)"u8.ToArray();

    /// <summary>What a message without a method is (a batch's answer is recorded as the batch's; its members have their own records).</summary>
    private static string KindWithoutMethod(McpMessageKind kind) => kind switch
    {
        McpMessageKind.Batch => "(batch)",
        McpMessageKind.ErrorResponse => "(error response)",
        _ => "(response)",
    };

    /// <summary>The call's name from <paramref name="body"/> (the masked copy once there is one), read once per exchange and body.</summary>
    private string TargetOf(Exchange ex, in ReadOnlySequence<byte> body, Range name)
    {
        bool fromCopy = !ex.Recorded.IsEmpty;
        if (ex.RecordedTarget is { } kept && ex.RecordedTargetFromCopy == fromCopy && ex.RecordedTargetRange.Equals(name)) return kept;
        string target = StringAt(body, name);
        ex.RecordedTarget = target;
        ex.RecordedTargetRange = name;
        ex.RecordedTargetFromCopy = fromCopy;
        return target;
    }

    private string StringAt(in ReadOnlySequence<byte> body, Range token)
    {
        Span<byte> buffer = stackalloc byte[256];
        int n = McpInspector.CopyUnescaped(body, token, buffer);
        return n < 0 ? "(long value)" : _strings.Get(buffer[..n]);
    }

    /// <summary>Adds the findings' fingerprints the record does not hold yet (a field masked in place was found by the mask stage).</summary>
    private void AddFingerprints(AuditEvent e, in CardFindings findings)
    {
        for (int i = 0; i < findings.StoredFingerprints; i++)
        {
            string hex = _strings.Hex(findings.Fingerprint(i));
            if (!e.CardFingerprints.Contains(hex)) e.CardFingerprints.Add(hex);
        }
    }

    /// <summary>
    /// What is recorded of a message no stage masked whole (a withheld event, or a card-like JSON-RPC id the client got
    /// back as it sent it): masked like any text, numbers and base64 payloads included. A copy the payload walk refuses to
    /// mask is not recorded (fail closed): the record's detail says so instead.
    /// </summary>
    private static ReadOnlyMemory<byte> MaskedCopy(AuditEvent e, ReadOnlySpan<byte> message, PooledBufferWriter scratch, PanMasker masker)
    {
        scratch.Clear();
        scratch.Write(message);
        masker.MaskInPlace(scratch.WrittenSpan);
        if (Base64Payloads.MaskInPlace(masker, scratch.WrittenSpan) != Base64Payloads.Result.Refused) return scratch.WrittenMemory;
        scratch.Clear();
        e.Detail = e.Detail is null ? UnmaskablePayload : $"{e.Detail}; {UnmaskablePayload}";
        return default;
    }

    // Appended to a record's detail when its payload is left out because it could not be masked.
    private const string UnmaskablePayload = "payload not recorded: it holds a card number or sensitive authentication data that could not be masked";

    private static ReadOnlyMemory<byte> Contiguous(in ReadOnlySequence<byte> seq, PooledBufferWriter scratch)
    {
        if (seq.IsSingleSegment) return seq.First;
        scratch.Clear();
        foreach (ReadOnlyMemory<byte> m in seq) scratch.Write(m.Span);
        return scratch.WrittenMemory;
    }
}
