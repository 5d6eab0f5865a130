using System.Buffers;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Federation;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.Upstream;
using FastMcp.Http;
using FastMcp.Mcp;
using FastMcp.Pan.Payloads;
using FastMcp.Policy;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// Federated paths (routes with "federate"): the gateway answers initialize itself and holds the session, asks every
/// member for its lists and merges them (tool and prompt names prefixed with "member + separator"), and sends each
/// call to the member its prefix (or, for resources, the member that listed the URI) names, through the same policy,
/// masking, audit and relay as any call. A member that is down or errors is left out of lists; a call to it gets a
/// JSON-RPC error. This path allocates (docs/configuration.md, "Routes and federation"); the single-route path does not.
/// </summary>
internal sealed partial class ClientConnection
{
    // What a member's failed answer is keyed by in the log rate limit: the forwarding error, or the HTTP status (negated).
    private static int FailureDetail(in MemberAnswer answer) => answer.Error != ForwardingError.None ? (int)answer.Error : -answer.Status;

    /// <summary>"Mcp-Session-Id: …" and "MCP-Protocol-Version: …" of the member a message is forwarded to on a federated path; null otherwise.</summary>
    private byte[]? _memberSessionLine;

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> HandleFederatedMessageAsync(FederatedRoute federation, ReadOnlySequence<byte> body)
    {
        McpMessageKind kind = _exchange.Call.Kind;
        McpMethod method = _exchange.Call.Method;
        if (kind == McpMessageKind.Batch)
            return await AnswerAsync(400, JsonRpcErrorCodes.InvalidRequest, "batches are not supported on a federated path: send the messages one by one"u8, closeAfter: false).ConfigureAwait(false);
        MessageRoute route = MessageRouting.For(kind);
        if (route is not (MessageRoute.Decide or MessageRoute.AnswerToServer))
            return await AnswerAsync(400, JsonRpcErrorCodes.InvalidRequest, "Invalid request: message kind not handled"u8, closeAfter: false).ConfigureAwait(false);
        McpHeaderMismatch mismatch = McpHeaderCheck.Check(body, _exchange.Call,
            _request.Headers.Get(KnownHeader.McpMethod), _request.Headers.Get(KnownHeader.McpName), _request.Headers.Get(KnownHeader.McpProtocolVersion));
        if (mismatch != McpHeaderMismatch.None)
            return await RefuseWithIdAsync(body, 400, JsonRpcErrorCodes.HeaderMismatch, McpRejections.Message(mismatch).ToArray()).ConfigureAwait(false);

        // What is forwarded may be a rewritten copy: the client's bytes leave the pipe first.
        body = TakeBodyOutOfPipe(body);
        // The body stays as the client sent it: the policy decides on it per member, and only then does request
        // masking apply (the default, or the profile the member's allowing rule picks), as on a plain route. Until
        // then, what is recorded (a refusal before any member is chosen) is a masked copy.
        ReadOnlySequence<byte> recorded = body;
        if (_rt.Masking is { } masking)
        {
            _exchange.Masking = masking;
            recorded = masking.RecordableCopy(_exchange, body, _maskedCopy);
        }
        _exchange.Recorded = recorded;

        if (method == McpMethod.Initialize) return await InitializeFederationAsync(federation, body, recorded).ConfigureAwait(false);
        if (FindFederatedSession(federation, out int status, out byte[] problem) is not { } session)
            return await RefuseWithIdAsync(body, status, JsonRpcErrorCodes.InvalidRequest, problem).ConfigureAwait(false);
        if (route == MessageRoute.AnswerToServer) return await AnswerMemberRequestAsync(federation, session, body, recorded).ConfigureAwait(false);
        // A cancellation goes to the member that has the caller's call it names, alone (ClientConnection.Cancellations.cs).
        if (method == McpMethod.NotificationsCancelled) return await CancelOnMemberAsync(federation, session, body, recorded).ConfigureAwait(false);
        if (kind == McpMessageKind.Notification) return await NotifyMembersAsync(federation, session, body, recorded).ConfigureAwait(false);
        switch (method)
        {
            case McpMethod.Ping:
                return await AnswerFederatedJsonAsync(200, Result(IdJson(body), "{}"u8), default).ConfigureAwait(false);
            case McpMethod.ToolsList:
            case McpMethod.PromptsList:
            case McpMethod.ResourcesList:
            case McpMethod.ResourcesTemplatesList:
                return await MergeListsAsync(federation, session, body, recorded, method).ConfigureAwait(false);
            case McpMethod.ToolsCall:
            case McpMethod.PromptsGet:
                return await CallByPrefixAsync(federation, session, body, recorded).ConfigureAwait(false);
            case McpMethod.ResourcesRead:
            case McpMethod.ResourcesSubscribe:
            case McpMethod.ResourcesUnsubscribe:
                return await CallResourceOwnerAsync(federation, session, body, recorded).ConfigureAwait(false);
            case McpMethod.LoggingSetLevel:
                return await SetLevelOnMembersAsync(federation, session, body, recorded).ConfigureAwait(false);
            case McpMethod.CompletionComplete:
                return await CompleteByReferenceAsync(federation, session, body, recorded).ConfigureAwait(false);
            default:
                return await RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.MethodNotFound,
                    Encoding.UTF8.GetBytes($"'{MethodText(body)}' is not available on a federated path"), "method not available on a federated path").ConfigureAwait(false);
        }
    }

    /// <summary>The session the client names, if it opened it; else why not (400 without a header, 404 for an unknown one).</summary>
    private FederationSession? FindFederatedSession(FederatedRoute federation, out int status, out byte[] problem)
    {
        ReadOnlySpan<byte> header = _request.Headers.Get(KnownHeader.McpSessionId);
        if (header.IsEmpty)
        {
            (status, problem) = (400, "Mcp-Session-Id required on a federated path: send initialize first"u8.ToArray());
            return null;
        }
        Sessions.SessionOwner? owner = null;
        FederationSession? session = _rt.SessionSeal?.FederatedSessions is { } seal
            ? SealedFederatedSession(federation, seal, header)
            : federation.Sessions.Find(Encoding.ASCII.GetString(header), _exchange.Principal!.Subject, _exchange.Principal.Issuer, out owner);
        (status, problem) = session is null ? (404, "session not found: initialize again"u8.ToArray()) : (0, []);
        // Accounted for as on plain routes (/metrics, the aggregate audit record): another caller's session, or a guess.
        if (session is null)
        {
            _rt.SessionRefusals?.Count(owner is null ? Sessions.SessionRefusal.Unknown : Sessions.SessionRefusal.Foreign, federation.AuditUpstream,
                _exchange.Principal!, RemoteAddress, owner, header);
        }
        return session;
    }

    private enum Admission : byte { Allowed, Refused, AuditFailed, RateLimited, CardBlocked, SensitiveDataBlocked, ProfileMissing }

    /// <summary>
    /// Decides a fan-out message for one member on the message as the client sent it, then masks the member's own
    /// copy (returned with Allowed) as the decision says; a refusal is recorded and the member left out. An allowing
    /// rule with a budget of its own is charged once per message (<paramref name="charged"/>), not once per member.
    /// </summary>
    private async ValueTask<(Admission Admission, byte[] Message)> AdmitForMemberAsync(UpstreamRoute member, ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded,
        HashSet<CompiledRule> charged)
    {
        _exchange.Route = member;
        _exchange.Decision = null;
        PolicyDecision? allowed = null;
        if (_rt.Authorization is { } authorization)
        {
            _exchange.Stage = ExchangeStage.Decide;
            PolicyDecision decision = authorization.Decide(_exchange.Principal!, _exchange.Call, body, _scratch, member.Name, _request.Query, _exchange.ClientAddress);
            _exchange.Decision = decision;
            if (decision.Action != PolicyAction.Allow)
            {
                if (_rt.Audit is { } audit)
                {
                    try
                    {
                        await audit.RecordDenialAsync(_exchange, _auditScratch, RemoteAddress, recorded,
                            $"upstream '{member.Name}' left out of the federated answer: {(decision.Action == PolicyAction.Deny ? "denied" : "approval required (not held on fan-out)")} by {decision.Rule?.Name ?? "default"}")
                            .ConfigureAwait(false);
                    }
                    catch (FastMcp.Audit.AuditUnavailableException)
                    {
                        await AuditUnavailableAsync(body).ConfigureAwait(false);
                        return (Admission.AuditFailed, []);
                    }
                }
                return (Admission.Refused, []);
            }
            if (decision.Rule is { } rule && charged.Add(rule) && !TakeRuleBudget(decision)) return (Admission.RateLimited, []);
            allowed = decision;
        }
        byte[] message = body.ToArray();
        Admission masked = MaskForMember(allowed, message);
        if (masked != Admission.Allowed) return (masked, []);
        // RecordRequestOrRefuseAsync has answered 503 itself when the log cannot take the record.
        if (!await RecordRequestOrRefuseAsync(recorded).ConfigureAwait(false)) return (Admission.AuditFailed, []);
        return (Admission.Allowed, message);
    }

    /// <summary>
    /// Request masking of one member's copy of a fan-out message, after its decision: the profile the allowing rule
    /// picked, else the default. The copy is the member's own, so the next member is still decided on the message as
    /// sent. CardBlocked: a card number where requests are "block"; ProfileMissing: the picked profile is gone.
    /// </summary>
    private Admission MaskForMember(PolicyDecision? decision, byte[] message)
    {
        if (_rt.Masking is not { } masking) return Admission.Allowed;
        _exchange.Stage = ExchangeStage.MaskRequest;
        if (decision is { MaskProfile: { } profile })
        {
            if (masking.Profile(profile) is not { } picked) return Admission.ProfileMissing;
            masking = picked;
        }
        _exchange.Masking = masking;
        // Found again in this copy: counted once per message, not once per member.
        _exchange.RequestCards.Reset();
        using var maskedForRecord = new Buffers.PooledBufferWriter(0);
        RequestCardOutcome outcome = masking.ApplyToRequest(_exchange, new ReadOnlySequence<byte>(message), _request, maskedForRecord, out _);
        return outcome switch
        {
            RequestCardOutcome.Forward => Admission.Allowed,
            RequestCardOutcome.BlockedSensitiveData => Admission.SensitiveDataBlocked,
            _ => Admission.CardBlocked,
        };
    }

    /// <summary>
    /// What a fan-out does after a member was not admitted: a refusal leaves the member out (null: go on); a rule budget
    /// spent answers 429; a card number that request masking blocks (or a missing profile) refuses the message, as on
    /// a plain route; an audit log that cannot take the record has been answered 503 already.
    /// </summary>
    private async ValueTask<bool?> FanOutStopsAsync(Admission admission, ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded) => admission switch
    {
        Admission.RateLimited => await RuleRateLimitedAsync(body).ConfigureAwait(false),
        Admission.AuditFailed => true,
        Admission.CardBlocked => await RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.Forbidden, "request contains a card number"u8.ToArray(), "card number blocked")
            .ConfigureAwait(false),
        Admission.SensitiveDataBlocked => await RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.Forbidden, SensitiveDataRefusal, "sensitive authentication data blocked")
            .ConfigureAwait(false),
        Admission.ProfileMissing => await RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.Forbidden, "the masking profile this call needs is not configured"u8.ToArray(),
            "masking profile missing").ConfigureAwait(false),
        _ => null,
    };

    /// <summary>
    /// A member's answer that no response stage handled (initialize, logging/setLevel, a list answer left out of the
    /// merged list), masked in place, base64 payloads included, before it is recorded or relayed: the response stages
    /// run on relayed answers only, and these are recorded, or relayed as they are. One the payload walk refuses to mask
    /// (nested deeper than it reads, a payload whose mask cannot be written back, a sensitive name after a stop) counts as
    /// no answer, as one in bytes the masker cannot read: none of its bytes is recorded or relayed.
    /// </summary>
    private MemberAnswer Masked(MemberAnswer answer)
    {
        if ((_exchange.Masking ?? _rt.Masking)?.Masker is not { } masker) return answer;
        masker.MaskInPlace(answer.Message);
        if (Base64Payloads.MaskInPlace(masker, answer.Message) == Base64Payloads.Result.Refused)
            return answer with { Error = ForwardingError.UnmaskableResponse, Message = [] };
        return answer;
    }

    /// <summary>Records one member's answer; false when the audit log cannot take it (the client then gets 503).</summary>
    private async ValueTask<bool> RecordMemberAnswerAsync(UpstreamRoute member, MemberAnswer answer)
    {
        _exchange.Route = member;
        _exchange.ResponseStatus = answer.Status == 0 ? answer.Error.StatusCode() : answer.Status;
        if (_rt.Audit is not { } audit) return true;
        try
        {
            await audit.RecordResponseAsync(_exchange, _auditScratch, RemoteAddress, answer.Message).ConfigureAwait(false);
            return true;
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            return false;
        }
    }

    private async ValueTask<bool> InitializeFederationAsync(FederatedRoute federation, ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded)
    {
        FederationSession session = federation.Sessions.Open(_exchange.Principal!.Subject, _exchange.Principal.Issuer);
        string? version = null;
        bool tools = false, prompts = false, resources = false, logging = false, completions = false;
        var charged = new HashSet<CompiledRule>();
        for (int i = 0; i < federation.Members.Length; i++)
        {
            UpstreamRoute member = federation.Members[i];
            (Admission admission, byte[] request) = await AdmitForMemberAsync(member, body, recorded, charged).ConfigureAwait(false);
            if (admission is not (Admission.Allowed or Admission.Refused)) federation.Sessions.Remove(session);
            if (admission != Admission.Allowed && await FanOutStopsAsync(admission, body, recorded) is { } stop) return stop;
            if (admission != Admission.Allowed) continue;
            MemberAnswer answer = Masked(await MemberCall.SendAsync(member, _rt.Limits, "POST", request, null, null, _clientAddress, _rt.PublicScheme, _request.Headers.GetMemory(KnownHeader.Authorization), CancellationToken.None)
                .ConfigureAwait(false));
            if (!await RecordMemberAnswerAsync(member, answer).ConfigureAwait(false))
            {
                federation.Sessions.Remove(session);
                return await AuditUnavailableAsync(body).ConfigureAwait(false);
            }
            if (!answer.Ok || !TryReadInitializeResult(answer.Message, out string? memberVersion, out bool t, out bool p, out bool r, out bool l, out bool c))
            {
                // A member that is down fails every client's initialize: rate-limited per member and failure.
                if (_rt.LogRateLimit.TryTake("federated initialize", member.Name, FailureDetail(answer), out int held))
                    Log.Warn($"federated {federation.PathText}: upstream '{member.Name}' left out of the session: initialize failed ({(answer.Error != ForwardingError.None ? answer.Error.ToString() : $"HTTP {answer.Status}")})" + LogRateLimit.Held(held));
                continue;
            }
            session.MemberSessions[i] = answer.SessionId;
            session.MemberVersions[i] = memberVersion;
            session.Initialized[i] = true;
            version ??= memberVersion;
            tools |= t;
            prompts |= p;
            resources |= r;
            logging |= l;
            completions |= c;
        }
        _exchange.Route = null;
        if (version is null)
        {
            federation.Sessions.Remove(session);
            return await RefuseWithIdAsync(body, 502, JsonRpcErrorCodes.UpstreamUnavailable, "no upstream of this federated path answered initialize"u8.ToArray()).ConfigureAwait(false);
        }
        var result = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(result))
        {
            w.WriteStartObject();
            w.WriteString("protocolVersion"u8, version);
            w.WriteStartObject("capabilities"u8);
            // Members' list_changed notifications reach the client on the session's GET stream (ClientConnection.FederatedStream.cs).
            if (tools) { w.WriteStartObject("tools"u8); w.WriteBoolean("listChanged"u8, true); w.WriteEndObject(); }
            if (prompts) { w.WriteStartObject("prompts"u8); w.WriteBoolean("listChanged"u8, true); w.WriteEndObject(); }
            if (resources) { w.WriteStartObject("resources"u8); w.WriteBoolean("subscribe"u8, true); w.WriteBoolean("listChanged"u8, true); w.WriteEndObject(); }
            if (logging) { w.WriteStartObject("logging"u8); w.WriteEndObject(); }
            if (completions) { w.WriteStartObject("completions"u8); w.WriteEndObject(); }
            w.WriteEndObject();
            w.WriteStartObject("serverInfo"u8);
            w.WriteString("name"u8, "fastmcp-federation");
            w.WriteString("version"u8, "1");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        if (_rt.SessionSeal?.FederatedSessions is { } seal)
        {
            if (SealFederatedSession(federation, seal, session) is not { } issued)
                return await RefuseWithIdAsync(body, 500, JsonRpcErrorCodes.InternalError, Encoding.UTF8.GetBytes(
                    $"the members' session ids are too long to seal into one Mcp-Session-Id (at most {Federation.SealedFederatedSessions.MaxSealedLength(_rt.Limits.MaxHeadBytes)} bytes, a quarter of limits.maxHeadBytes)"))
                    .ConfigureAwait(false);
            session = issued;
        }
        return await AnswerFederatedJsonAsync(200, Result(IdJson(body), result.WrittenSpan), Encoding.ASCII.GetBytes($"Mcp-Session-Id: {session.Id}\r\n")).ConfigureAwait(false);
    }

    private static bool TryReadInitializeResult(byte[] message, out string? version, out bool tools, out bool prompts, out bool resources, out bool logging, out bool completions)
    {
        (version, tools, prompts, resources, logging, completions) = (null, false, false, false, false, false);
        try
        {
            using JsonDocument doc = JsonDocument.Parse(message);
            if (!doc.RootElement.TryGetProperty("result", out JsonElement result) || result.ValueKind != JsonValueKind.Object) return false;
            if (result.TryGetProperty("protocolVersion", out JsonElement v) && v.ValueKind == JsonValueKind.String) version = v.GetString();
            if (version is null) return false;
            if (result.TryGetProperty("capabilities", out JsonElement caps) && caps.ValueKind == JsonValueKind.Object)
            {
                tools = caps.TryGetProperty("tools", out _);
                prompts = caps.TryGetProperty("prompts", out _);
                resources = caps.TryGetProperty("resources", out _);
                logging = caps.TryGetProperty("logging", out _);
                completions = caps.TryGetProperty("completions", out _);
            }
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>A client notification goes to every member in the session (each decided and recorded); the client gets 202.</summary>
    private async ValueTask<bool> NotifyMembersAsync(FederatedRoute federation, FederationSession session, ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded)
    {
        var charged = new HashSet<CompiledRule>();
        for (int i = 0; i < federation.Members.Length; i++)
        {
            if (!session.Initialized[i]) continue;
            UpstreamRoute member = federation.Members[i];
            (Admission admission, byte[] message) = await AdmitForMemberAsync(member, body, recorded, charged).ConfigureAwait(false);
            if (admission != Admission.Allowed && await FanOutStopsAsync(admission, body, recorded) is { } stop) return stop;
            if (admission != Admission.Allowed) continue;
            MemberAnswer answer = await MemberCall.SendAsync(member, _rt.Limits, "POST", message, session.MemberSessions[i], session.MemberVersions[i], _clientAddress,
                _rt.PublicScheme, _request.Headers.GetMemory(KnownHeader.Authorization), CancellationToken.None).ConfigureAwait(false);
            if (!answer.Ok && _rt.LogRateLimit.TryTake("federated notification", member.Name, FailureDetail(answer), out int held))
                Log.Warn($"federated {federation.PathText}: upstream '{member.Name}' did not take a notification ({(answer.Error != ForwardingError.None ? answer.Error.ToString() : $"HTTP {answer.Status}")})" + LogRateLimit.Held(held));
        }
        _exchange.Route = null;
        _exchange.ResponseStatus = 202;
        GatewayResponses.WriteSimple(_output, 202, "application/json"u8, default, close: ClosesAfterExchange);
        await FlushToClientAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>Every member's list (all pages), filtered and masked per member as any list is, merged into one answer.</summary>
    private async ValueTask<bool> MergeListsAsync(FederatedRoute federation, FederationSession session, ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded, McpMethod list)
    {
        byte[] idJson = IdJson(body);
        var entries = new List<(int Member, JsonElement Entry)>();
        var documents = new List<JsonDocument>();
        try
        {
            (bool? stopped, bool anyAllowed) = await CollectMemberListsAsync(federation, session, body, recorded, list, entries, documents).ConfigureAwait(false);
            if (stopped is { } stop) return stop;
            _exchange.Route = null;
            if (!anyAllowed)
                return await RefuseWithIdAsync(body, 200, JsonRpcErrorCodes.Forbidden, "denied by policy for every upstream of this federated path"u8.ToArray()).ConfigureAwait(false);
            var merged = new ArrayBufferWriter<byte>(4 * 1024);
            FederatedLists.WriteMerged(merged, idJson, list, federation, session, entries);
            byte[] mergedAnswer = merged.WrittenSpan.ToArray();
            // What the client gets is recorded too, as one record: the members' answers, filtered, masked and prefixed.
            _exchange.ResponseStatus = 200;
            if (_rt.Audit is { } audit)
            {
                try
                {
                    await audit.RecordResponseAsync(_exchange, _auditScratch, RemoteAddress, mergedAnswer).ConfigureAwait(false);
                }
                catch (FastMcp.Audit.AuditUnavailableException)
                {
                    return await AuditUnavailableAsync(body).ConfigureAwait(false);
                }
            }
            return await AnswerFederatedJsonAsync(200, mergedAnswer, default).ConfigureAwait(false);
        }
        finally
        {
            foreach (JsonDocument d in documents) d.Dispose();
        }
    }

    /// <summary>
    /// Asks every initialized member for <paramref name="list"/> (all pages; each member decided, masked and recorded as a
    /// fan-out message, its answers filtered and masked as any list is) and adds the entries of each member whose list was
    /// read whole. Stopped: the exchange has been answered (a budget spent, the audit log unavailable, a blocked card).
    /// </summary>
    private async ValueTask<(bool? Stopped, bool AnyAllowed)> CollectMemberListsAsync(FederatedRoute federation, FederationSession session, ReadOnlySequence<byte> body,
        ReadOnlySequence<byte> recorded, McpMethod list, List<(int Member, JsonElement Entry)> entries, List<JsonDocument> documents)
    {
        const int MaxPages = 50;
        byte[] idJson = IdJson(body);
        bool anyAllowed = false;
        var charged = new HashSet<CompiledRule>();
        // Tool pinning's findings: each member's own record carries its own; the merged answer's record all of them, each naming its member.
        string? mergedPinNote = null;
        using var transformBuffers = new TransformBuffers();
        using var message = new Buffers.PooledBufferWriter(4 * 1024);
        for (int i = 0; i < federation.Members.Length; i++)
        {
            if (!session.Initialized[i]) continue;
            UpstreamRoute member = federation.Members[i];
            (Admission admission, byte[] request) = await AdmitForMemberAsync(member, body, recorded, charged).ConfigureAwait(false);
            if (admission != Admission.Allowed && await FanOutStopsAsync(admission, body, recorded) is { } stop) return (stop, anyAllowed);
            if (admission != Admission.Allowed) continue;
            anyAllowed = true;
            var memberEntries = new List<(int, JsonElement)>();
            bool complete = false;
            for (int page = 0; page < MaxPages; page++)
            {
                MemberAnswer answer = await MemberCall.SendAsync(member, _rt.Limits, "POST", request, session.MemberSessions[i], session.MemberVersions[i],
                    _clientAddress, _rt.PublicScheme, _request.Headers.GetMemory(KnownHeader.Authorization), CancellationToken.None).ConfigureAwait(false);
                // The member's answer passes the same list filtering and masking as on a plain path, before it is recorded.
                message.Clear();
                message.Write(answer.Message);
                _exchange.ToolPinNote = null;
                // The pin check tells a member's failed answer (relayed as it is) from a list it cannot read (withheld) by this status.
                _exchange.ResponseStatus = answer.Status;
                bool safe = answer.Ok && ApplyResponseTransforms(message, transformBuffers);
                bool recordedAnswer = await RecordMemberAnswerAsync(member, safe ? answer with { Message = message.WrittenSpan.ToArray() } : Masked(answer)).ConfigureAwait(false);
                if (_exchange.ToolPinNote is { } pinNote)
                {
                    string named = FastMcp.Gateway.ToolPins.ToolPinListCheck.MemberNote(pinNote, member.Name);
                    mergedPinNote = mergedPinNote is null ? named : $"{mergedPinNote}; {named}";
                    _exchange.ToolPinNote = null;
                }
                if (!recordedAnswer) return (await AuditUnavailableAsync(body).ConfigureAwait(false), anyAllowed);
                if (!safe || !FederatedLists.TryReadPage(message.WrittenSpan, list, out List<JsonElement> pageEntries, out string? next, out JsonDocument? document))
                {
                    if (_rt.LogRateLimit.TryTake("federated list", member.Name, safe ? FailureDetail(answer) : int.MinValue, out int held))
                        Log.Warn($"federated {federation.PathText}: upstream '{member.Name}' left out of {McpMethods.Name(list)} "
                            + $"({(answer.Error != ForwardingError.None ? answer.Error.ToString() : safe ? $"HTTP {answer.Status}, no list result" : "answer refused by the response stages")})" + LogRateLimit.Held(held));
                    break;
                }
                documents.Add(document!);
                foreach (JsonElement e in pageEntries) memberEntries.Add((i, e));
                if (next is null)
                {
                    complete = true;
                    break;
                }
                request = FederatedLists.PageRequest(idJson, list, next);
            }
            // A member whose list could not be read whole is left out whole: half a list would look complete.
            if (complete) entries.AddRange(memberEntries);
        }
        _exchange.ToolPinNote = mergedPinNote;
        return (null, anyAllowed);
    }

    private bool ApplyResponseTransforms(Buffers.PooledBufferWriter message, TransformBuffers buffers)
    {
        foreach (IResponseTransform transform in _rt.ResponseTransforms)
        {
            if (!transform.Apply(_exchange, message, isEvent: false, buffers)) return false;
        }
        return true;
    }

    /// <summary>tools/call and prompts/get: the member the prefix names gets the call with the name un-prefixed.</summary>
    private async ValueTask<bool> CallByPrefixAsync(FederatedRoute federation, FederationSession session, ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded)
    {
        string prefixed = NameText(body, _exchange.Call.NameRange);
        int member = federation.MemberOf(prefixed, out string name);
        if (member < 0 && federation.Members.Length == 1 && prefixed.Length > 0)
        {
            // One member: a name without its prefix can only be meant for it. It is decided, recorded and forwarded
            // as sent, and the member answers it as it would on a plain path (a federated endpoint in front of one
            // server behaves as that server does: the conformance suite is run against both).
            if (!session.Initialized[0]) return await MemberNotInSessionAsync(federation, 0, body, recorded).ConfigureAwait(false);
            _exchange.Recorded = default;
            return await ForwardToMemberAsync(federation, session, 0, body, null).ConfigureAwait(false);
        }
        if (member < 0)
            return await RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.InvalidParams,
                Encoding.UTF8.GetBytes($"no upstream of this federated path is named by '{prefixed}' (names are <upstream>{federation.Separator}<name>)"),
                "no upstream owns the name").ConfigureAwait(false);
        if (!session.Initialized[member]) return await MemberNotInSessionAsync(federation, member, body, recorded).ConfigureAwait(false);
        var rewritten = new ArrayBufferWriter<byte>((int)body.Length + 16);
        FederatedLists.WriteWithName(rewritten, body.ToArray(), _exchange.Call.NameRange, name);
        var forwarded = new ReadOnlySequence<byte>(rewritten.WrittenMemory);
        if (McpInspector.Inspect(forwarded, out _exchange.Call) != McpInspectError.None)
            return await RefuseAsync(body, recorded, 400, JsonRpcErrorCodes.InvalidRequest, "the call could not be rewritten for its upstream"u8.ToArray(), "rewrite failed").ConfigureAwait(false);
        _exchange.Body = forwarded;
        _exchange.Recorded = default;
        return await ForwardToMemberAsync(federation, session, member, forwarded, prefixed).ConfigureAwait(false);
    }

    /// <summary>
    /// completion/complete: a prompt argument goes to the member the prompt's prefix names (the name un-prefixed), a
    /// resource template argument to the member that listed the template; with one member, to it.
    /// </summary>
    private async ValueTask<bool> CompleteByReferenceAsync(FederatedRoute federation, FederationSession session, ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded)
    {
        byte[] original = body.ToArray();
        if (!CompletionReference.TryFind(original, out bool isPrompt, out string value, out Range token))
            return await RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.InvalidParams,
                "completion/complete needs params.ref naming a prompt (ref/prompt) or a resource template (ref/resource)"u8.ToArray(), "completion reference missing").ConfigureAwait(false);
        int member;
        string? name = null;
        if (isPrompt)
        {
            member = federation.MemberOf(value, out string unprefixed);
            if (member >= 0) name = unprefixed;
        }
        else
        {
            member = session.OwnerOf(value);
        }
        // With one member there is no one else the reference could be meant for: it answers as on a plain path.
        if (member < 0 && federation.Members.Length == 1) member = 0;
        if (member < 0 && !isPrompt)
        {
            (member, bool? stopped) = await LearnResourceOwnerAsync(federation, session, body, value).ConfigureAwait(false);
            if (stopped is { } stop) return stop;
        }
        if (member < 0)
            return await RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.InvalidParams,
                Encoding.UTF8.GetBytes(isPrompt
                    ? $"no upstream of this federated path is named by '{value}' (names are <upstream>{federation.Separator}<name>)"
                    : "no upstream of this federated path listed this resource template in this session (list resource templates first)"),
                "no upstream owns the completion reference").ConfigureAwait(false);
        if (!session.Initialized[member]) return await MemberNotInSessionAsync(federation, member, body, recorded).ConfigureAwait(false);
        _exchange.Recorded = default;
        if (name is null) return await ForwardToMemberAsync(federation, session, member, body, null).ConfigureAwait(false);
        var rewritten = new ArrayBufferWriter<byte>(original.Length + 16);
        FederatedLists.WriteWithName(rewritten, original, token, name);
        var forwarded = new ReadOnlySequence<byte>(rewritten.WrittenMemory);
        if (McpInspector.Inspect(forwarded, out _exchange.Call) != McpInspectError.None)
            return await RefuseAsync(body, recorded, 400, JsonRpcErrorCodes.InvalidRequest, "the request could not be rewritten for its upstream"u8.ToArray(), "rewrite failed").ConfigureAwait(false);
        _exchange.Body = forwarded;
        return await ForwardToMemberAsync(federation, session, member, forwarded, value).ConfigureAwait(false);
    }

    /// <summary>resources/read, subscribe, unsubscribe: the member that listed the URI (or a template it fits) in this session; none: refused.</summary>
    private async ValueTask<bool> CallResourceOwnerAsync(FederatedRoute federation, FederationSession session, ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded)
    {
        string uri = NameText(body, _exchange.Call.NameRange);
        int member = uri.Length == 0 ? -1 : session.OwnerOf(uri);
        // With one member there is no one else it could belong to: it decides (as it would on a plain path).
        if (member < 0 && uri.Length > 0 && federation.Members.Length == 1) member = 0;
        if (member < 0)
        {
            (member, bool? stopped) = await LearnResourceOwnerAsync(federation, session, body, uri).ConfigureAwait(false);
            if (stopped is { } stop) return stop;
        }
        if (member < 0)
            return await RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.InvalidParams,
                "no upstream of this federated path listed this resource in this session (list resources or resource templates first)"u8.ToArray(),
                "no upstream owns the resource").ConfigureAwait(false);
        if (!session.Initialized[member]) return await MemberNotInSessionAsync(federation, member, body, recorded).ConfigureAwait(false);
        _exchange.Recorded = default;
        return await ForwardToMemberAsync(federation, session, member, body, null).ConfigureAwait(false);
    }

    /// <summary>
    /// logging/setLevel: sent to every member in the session (each decided and recorded as a fan-out message). The
    /// answer is an empty result when at least one member took it; when none did, the first member's error.
    /// </summary>
    private async ValueTask<bool> SetLevelOnMembersAsync(FederatedRoute federation, FederationSession session, ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded)
    {
        byte[] idJson = IdJson(body);
        var charged = new HashSet<CompiledRule>();
        bool anyAllowed = false, anyTook = false;
        byte[]? firstError = null;
        for (int i = 0; i < federation.Members.Length; i++)
        {
            if (!session.Initialized[i]) continue;
            UpstreamRoute member = federation.Members[i];
            (Admission admission, byte[] request) = await AdmitForMemberAsync(member, body, recorded, charged).ConfigureAwait(false);
            if (admission != Admission.Allowed && await FanOutStopsAsync(admission, body, recorded) is { } stop) return stop;
            if (admission != Admission.Allowed) continue;
            anyAllowed = true;
            MemberAnswer answer = Masked(await MemberCall.SendAsync(member, _rt.Limits, "POST", request, session.MemberSessions[i], session.MemberVersions[i],
                _clientAddress, _rt.PublicScheme, _request.Headers.GetMemory(KnownHeader.Authorization), CancellationToken.None).ConfigureAwait(false));
            if (!await RecordMemberAnswerAsync(member, answer).ConfigureAwait(false)) return await AuditUnavailableAsync(body).ConfigureAwait(false);
            if (answer.Ok && !IsErrorAnswer(answer.Message)) anyTook = true;
            else if (answer.Ok) firstError ??= answer.Message;
        }
        _exchange.Route = null;
        if (!anyAllowed)
            return await RefuseWithIdAsync(body, 200, JsonRpcErrorCodes.Forbidden, "denied by policy for every upstream of this federated path"u8.ToArray()).ConfigureAwait(false);
        if (!anyTook && firstError is not null) return await AnswerFederatedJsonAsync(200, firstError, default).ConfigureAwait(false);
        if (!anyTook)
            return await RefuseWithIdAsync(body, 200, JsonRpcErrorCodes.UpstreamUnavailable, "no upstream of this federated path took the log level"u8.ToArray()).ConfigureAwait(false);
        return await AnswerFederatedJsonAsync(200, Result(idJson, "{}"u8), default).ConfigureAwait(false);
    }

    /// <summary>True when the JSON-RPC message has a top-level "error" member.</summary>
    private static bool IsErrorAnswer(ReadOnlySpan<byte> message)
    {
        var reader = new Utf8JsonReader(message);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("error"u8)) return true;
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= 1) reader.Skip();
            }
        }
        catch (JsonException)
        {
            return true;
        }
        return false;
    }

    private ValueTask<bool> MemberNotInSessionAsync(FederatedRoute federation, int member, ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded) =>
        RefuseAsync(body, recorded, 200, JsonRpcErrorCodes.UpstreamUnavailable,
            Encoding.UTF8.GetBytes($"upstream '{federation.Members[member].Name}' is not available in this session (it did not join at initialize: it did not answer, or no upstream credential could be had for this caller); initialize again to retry it"),
            "upstream not in the federated session");

    /// <summary>
    /// The client's answer to a server request (sampling, elicitation, roots) goes to the member that asked, with the
    /// member's own id (<see cref="ServerRequestIds"/>). Like on a plain path it is masked and recorded, not decided. An
    /// id the gateway did not give in this session, or one answered already, is refused: never sent to a guessed member.
    /// </summary>
    private async ValueTask<bool> AnswerMemberRequestAsync(FederatedRoute federation, FederationSession session, ReadOnlySequence<byte> body, ReadOnlySequence<byte> recorded)
    {
        Range idRange = _exchange.Call.IdRange;
        byte[] clientId = McpCall.IsEmpty(idRange) ? [] : body.Slice(idRange.Start.Value, idRange.End.Value - idRange.Start.Value).ToArray();
        if (!session.ServerRequests.TryTake(clientId, out int member, out byte[] memberId))
            return await RefuseAsync(body, recorded, 400, JsonRpcErrorCodes.InvalidRequest,
                "no server request with this id is pending in this session (answered already, or never sent)"u8.ToArray(), "answer to no pending server request").ConfigureAwait(false);
        if (!session.Initialized[member]) return await MemberNotInSessionAsync(federation, member, body, recorded).ConfigureAwait(false);
        byte[] original = body.ToArray();
        var rewritten = new ArrayBufferWriter<byte>(original.Length + memberId.Length);
        rewritten.Write(original.AsSpan(0, idRange.Start.Value));
        rewritten.Write(memberId);
        rewritten.Write(original.AsSpan(idRange.End.Value));
        var forwarded = new ReadOnlySequence<byte>(rewritten.WrittenMemory);
        if (McpInspector.Inspect(forwarded, out _exchange.Call) != McpInspectError.None)
            return await RefuseAsync(body, recorded, 400, JsonRpcErrorCodes.InvalidRequest, "the answer could not be rewritten for its upstream"u8.ToArray(), "rewrite failed").ConfigureAwait(false);
        _exchange.Body = forwarded;
        _exchange.Recorded = default;
        return await ForwardToMemberAsync(federation, session, member, forwarded, null, MessageRoute.AnswerToServer).ConfigureAwait(false);
    }

    /// <summary>The header lines naming a member's own session (and its protocol version) in requests the gateway sends it.</summary>
    private static byte[] MemberSessionLine(FederationSession session, int member)
    {
        var line = new StringBuilder();
        if (session.MemberSessions[member] is { } memberSession) line.Append("Mcp-Session-Id: ").Append(memberSession).Append("\r\n");
        if (session.MemberVersions[member] is { } version) line.Append("MCP-Protocol-Version: ").Append(version).Append("\r\n");
        return Encoding.ASCII.GetBytes(line.ToString());
    }

    /// <summary>The call goes through policy, masking, audit and the relay as on a plain path, to the member's own session.</summary>
    private async ValueTask<bool> ForwardToMemberAsync(FederatedRoute federation, FederationSession session, int member, ReadOnlySequence<byte> body, string? clientTarget,
        MessageRoute route = MessageRoute.Decide)
    {
        _exchange.Route = federation.Members[member];
        _exchange.ClientTarget = clientTarget;
        _exchange.FederationSession = session;
        _exchange.FederationMember = member;
        _memberSessionLine = MemberSessionLine(session, member);
        _relay.DropsSessionHeader = true;
        // The cards the first look counted are found again when the request is masked for this member.
        _exchange.RequestCards.Reset();
        try
        {
            return await DecideMaskRecordForwardAsync(body, route).ConfigureAwait(false);
        }
        finally
        {
            _exchange.FederationSession = null;
            _memberSessionLine = null;
            _relay.DropsSessionHeader = false;
        }
    }

    /// <summary>DELETE: every member's session is ended, then the gateway's; the client gets 200.</summary>
    private async ValueTask<bool> EndFederatedSessionAsync(FederatedRoute federation)
    {
        if (FindFederatedSession(federation, out int status, out byte[] problem) is not { } session)
            return await AnswerAsync(status, JsonRpcErrorCodes.InvalidRequest, problem, closeAfter: false).ConfigureAwait(false);
        // Each member's DELETE is decided as the caller's initialize on that member would be now: one the caller may not
        // initialize on is sent nothing on their behalf (its refusal recorded; its session there ends when it expires).
        // Each member's record names its own decision.
        var allowed = new bool[federation.Members.Length];
        var decisions = new PolicyDecision?[federation.Members.Length];
        PolicyDecision? firstRefusal = null;
        var charged = new HashSet<CompiledRule>();
        for (int i = 0; i < federation.Members.Length; i++)
        {
            if (!session.Initialized[i] || session.MemberSessions[i] is null) continue;
            _exchange.Route = federation.Members[i];
            (bool memberAllowed, bool auditRefused) = await DecideMemberSessionRequestAsync(federation.Members[i].Name).ConfigureAwait(false);
            if (auditRefused) return await AuditUnavailableAsync(default).ConfigureAwait(false);
            // Past an allowing rule's budget: 429 before any member is sent the DELETE, and the session stays.
            if (memberAllowed && !TakeSessionRequestBudget(charged)) return await RuleRateLimitedAsync(default).ConfigureAwait(false);
            (allowed[i], decisions[i]) = (memberAllowed, _exchange.Decision);
            if (!memberAllowed) firstRefusal ??= _exchange.Decision;
        }
        _exchange.Route = null;
        // None allowed: the session stays as it is.
        if (Array.IndexOf(allowed, true) < 0 && firstRefusal is { } refusal) return await AnswerNoMemberAllowedAsync(refusal).ConfigureAwait(false);
        for (int i = 0; i < federation.Members.Length; i++)
        {
            if (!allowed[i]) continue;
            _exchange.Route = federation.Members[i];
            _exchange.Decision = decisions[i];
            if (!await RecordRequestOrRefuseAsync(default).ConfigureAwait(false)) return true;
            MemberAnswer answer = await MemberCall.SendAsync(federation.Members[i], _rt.Limits, "DELETE", null, session.MemberSessions[i], session.MemberVersions[i],
                _clientAddress, _rt.PublicScheme, _request.Headers.GetMemory(KnownHeader.Authorization), CancellationToken.None).ConfigureAwait(false);
            if (!answer.Ok) Log.Debug($"federated {federation.PathText}: upstream '{federation.Members[i].Name}' answered DELETE with {answer.Error} / HTTP {answer.Status}");
        }
        federation.Sessions.Remove(session);
        _exchange.Route = null;
        _exchange.ResponseStatus = 200;
        GatewayResponses.WriteSimple(_output, 200, "application/json"u8, default, close: ClosesAfterExchange);
        await FlushToClientAsync().ConfigureAwait(false);
        return true;
    }

    private async ValueTask<bool> AnswerFederatedJsonAsync(int status, byte[] json, byte[]? extraHeaders)
    {
        _exchange.ResponseStatus = status;
        GatewayResponses.WriteSimple(_output, status, "application/json"u8, json, close: ClosesAfterExchange, extraHeaders);
        await FlushToClientAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>A JSON-RPC error carrying the request's id (no record: nothing was decided or forwarded).</summary>
    private async ValueTask<bool> RefuseWithIdAsync(ReadOnlySequence<byte> body, int status, int code, byte[] message)
    {
        _exchange.ResponseStatus = status;
        GatewayResponses.WriteJsonRpcError(_output, _scratch, status, body, _exchange.Call.IdRange, code, message, close: ClosesAfterExchange);
        await FlushToClientAsync().ConfigureAwait(false);
        return true;
    }

    private static byte[] Result(byte[] idJson, ReadOnlySpan<byte> resultJson)
    {
        var buffer = new ArrayBufferWriter<byte>(resultJson.Length + 64);
        buffer.Write("{\"jsonrpc\":\"2.0\",\"id\":"u8);
        buffer.Write(idJson);
        buffer.Write(",\"result\":"u8);
        buffer.Write(resultJson);
        buffer.Write("}"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private byte[] IdJson(ReadOnlySequence<byte> body)
    {
        Range id = _exchange.Call.IdRange;
        return McpCall.IsEmpty(id) ? "null"u8.ToArray() : body.Slice(id.Start.Value, id.End.Value - id.Start.Value).ToArray();
    }

    private string MethodText(ReadOnlySequence<byte> body) => NameText(body, _exchange.Call.MethodRange);

    private static string NameText(ReadOnlySequence<byte> body, Range token)
    {
        if (McpCall.IsEmpty(token)) return "";
        Span<byte> buffer = stackalloc byte[McpCallDecision.MaxNameBytes];
        int n = McpInspector.CopyUnescaped(body, token, buffer);
        return n < 0 ? "" : Encoding.UTF8.GetString(buffer[..n]);
    }
}
