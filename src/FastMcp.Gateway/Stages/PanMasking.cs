using System.Buffers;
using System.Runtime.InteropServices;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Http;
using FastMcp.Mcp;
using FastMcp.Pan;
using FastMcp.Pan.Payloads;
using FastMcp.Policy;

namespace FastMcp.Gateway.Stages;

internal enum RequestCardMode : byte { Mask, Forward, Block }

/// <summary>With requests masked: what a card number written as a bare JSON number does (docs/pan-detection.md).</summary>
internal enum RequestNumberMode : byte { Detect, Mask, Block }

/// <summary>What the request rule made of a decided request.</summary>
internal enum RequestCardOutcome : byte
{
    /// <summary>Forward the body (masked, or as sent in forward mode).</summary>
    Forward,
    /// <summary>Refuse: a card number, and requests are "block".</summary>
    BlockedCard,
    /// <summary>Refuse: a card number written as a JSON number, and numbers are "block".</summary>
    BlockedNumber,
    /// <summary>Refuse: no card number, but a security code or PIN member with a value, and requests are "block".</summary>
    BlockedSensitiveData,
}

/// <summary>
/// Mask: every upstream message (JSON body or SSE event) has its card numbers masked in place
/// before anyone sees it; request bodies are masked, forwarded or blocked as configured, and
/// what is recorded of a request never holds a full card number.
/// </summary>
internal sealed class PanMasking : IResponseTransform, IResponseHeadTransform
{
    /// <summary>Everything masking is configured with, replaced whole by a reload (each use reads it once).</summary>
    private sealed class Settings(PanMasker masker, RequestCardMode requestMode, RequestNumberMode numberMode, Dictionary<string, PanMasking>? profiles,
        byte[]? fingerprintKey)
    {
        public readonly PanMasker Masker = masker;
        public readonly RequestCardMode RequestMode = requestMode;
        public readonly RequestNumberMode NumberMode = numberMode;
        public readonly Dictionary<string, PanMasking>? Profiles = profiles;
        public readonly byte[]? FingerprintKey = fingerprintKey;
    }

    private Settings _settings;

    public PanMasking(PanMasker masker, RequestCardMode requestMode, RequestNumberMode numberMode = RequestNumberMode.Detect,
        Dictionary<string, PanMasking>? profiles = null, byte[]? fingerprintKey = null)
    {
        _settings = new Settings(masker, requestMode, numberMode, profiles, fingerprintKey);
    }

    private Settings Current => Volatile.Read(ref _settings);

    public RequestCardMode RequestMode => Current.RequestMode;
    public RequestNumberMode NumberMode => Current.NumberMode;
    public PanMasker Masker => Current.Masker;

    /// <summary>The key card fingerprints are made with (kept across a reload when none is configured).</summary>
    public byte[]? FingerprintKey => Current.FingerprintKey;

    /// <summary>The profiles an allow or require_approval rule's maskProfile can pick (masking.profiles).</summary>
    public IReadOnlyCollection<string> ProfileNames => Current.Profiles is { } profiles ? profiles.Keys : [];

    /// <summary>The named profile, or null when there is none by that name.</summary>
    public PanMasking? Profile(string name) => Current.Profiles is { } profiles && profiles.TryGetValue(name, out PanMasking? p) ? p : null;

    /// <summary>
    /// The masking an exchange allowed by a rule naming <paramref name="profile"/> (or none) is masked with, out of
    /// <paramref name="masking"/> (the default; null when masking is off): the profile, or the default when the rule names
    /// none. False when the profile is not one the masking in force has: the exchange must then be refused, never masked
    /// with something looser. A dictionary lookup: nothing is allocated.
    /// </summary>
    public static bool TryPick(PanMasking? masking, string? profile, out PanMasking? picked)
    {
        picked = masking;
        if (profile is null) return true;
        picked = masking?.Profile(profile);
        return picked is not null;
    }

    /// <summary>
    /// The profile a decided call is masked with, both ways: its allow rule's maskProfile, or its require_approval rule's (for
    /// the call once approved or admitted by a grant: the rule that decided it); null for the default. Allocates nothing.
    /// </summary>
    public static string? ProfileFor(in PolicyDecision? decision) =>
        decision is { Action: PolicyAction.Allow or PolicyAction.RequireApproval, MaskProfile: { } profile } ? profile : null;

    /// <summary>
    /// Takes the settings of <paramref name="reloaded"/> (a reload changed masking): exchanges decided from now on
    /// mask with them; one already being masked finishes with what it started with.
    /// </summary>
    public void TakeSettingsOf(PanMasking reloaded) => Volatile.Write(ref _settings, reloaded.Current);

    public bool Apply(Exchange exchange, PooledBufferWriter message, bool isEvent, TransformBuffers buffers)
    {
        // The profile the deciding rule picked masks this exchange's responses too.
        if (exchange.Masking is { } picked && picked != this)
        {
            return picked.Apply(exchange, message, isEvent, buffers);
        }
        PanMasker masker = Current.Masker;
        int sensitiveBefore = exchange.ResponseCards.Sensitive;
        Base64Payloads.Result payloads = MaskBase64Payloads(masker, exchange, message, isEvent, buffers);
        if (payloads == Base64Payloads.Result.Refused)
        {
            exchange.ResponseUnmaskable = true;
            return false;
        }
        int found = masker.MaskStringsInPlace(new ReadOnlySequence<byte>(message.WrittenMemory), ref exchange.ResponseCards, out int kept);
        // Said whenever a byte may have been written (a find left as it is too): the relay then reads the message again
        // rather than trust a reading of it from before.
        if (payloads == Base64Payloads.Result.Masked || found > 0 || exchange.ResponseCards.Sensitive != sensitiveBefore) exchange.ResponseMaskedInPlace = true;
        if (kept == 0) return true;
        // Card numbers written as JSON numbers are masked with digits, except an answer's JSON-RPC id that is exactly
        // one the client sent in this exchange: a correlation token it already holds. An id the upstream chose (its own
        // request's, an answer to an id the client never sent) is the upstream's data and is masked: the client gets no
        // card number through it (a server request so masked cannot be answered: it fails closed).
        // The inspector does not view a message beside whose "id" a client could read another ("ID", "id\u0000"):
        // such a message is masked whole.
        Span<byte> all = message.WrittenSpan;
        Range data = Range.All;
        if ((!isEvent || SseEvent.TryGetSingleData(all, out data))
            && McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(message.WrittenMemory[data]), out McpResponseView view)
            && (view.Kind == McpMessageKind.Batch || !McpCall.IsEmpty(view.IdRange)))
        {
            int dataStart = data.GetOffsetAndLength(all.Length).Offset;
            if (view.Kind == McpMessageKind.Batch)
            {
                MaskBatchSparingEchoedIds(masker, exchange, message.WrittenMemory[data], all, dataStart);
                return true;
            }
            (int idOffset, int idLength) = view.IdRange.GetOffsetAndLength(all.Length - dataStart);
            int idStart = dataStart + idOffset, idEnd = idStart + idLength;
            if (all[idStart] != (byte)'"' && view.IsResponse && EchoedClientId.Is(exchange, all[idStart..idEnd]))
            {
                masker.MaskInPlace(all[..idStart]);
                masker.MaskInPlace(all[idEnd..]);
                if (PanMasker.ContainsCardNumber(all[idStart..idEnd])) exchange.ResponseIdHoldsCard = true;
                return true;
            }
        }
        masker.MaskInPlace(all);
        return true;
    }

    /// <summary>
    /// A JSON array of answers (a batch's): masked whole but for each member's id that is exactly one of the batch's request
    /// ids, as a single answer's is (<see cref="EchoedClientId"/>). A member that cannot be read spares nothing of its own.
    /// </summary>
    private static void MaskBatchSparingEchoedIds(PanMasker masker, Exchange exchange, ReadOnlyMemory<byte> batch, Span<byte> all, int batchStart)
    {
        Span<Range> members = stackalloc Range[McpBatch.MaxMembers];
        int masked = 0;
        if (McpBatch.LocateMembers(batch, members, out int count) == McpBatchError.None)
        {
            for (int i = 0; i < count; i++)
            {
                ReadOnlyMemory<byte> member = batch[members[i]];
                if (!McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(member), out McpResponseView view) || !view.IsResponse || McpCall.IsEmpty(view.IdRange)) continue;
                ReadOnlySpan<byte> id = member.Span[view.IdRange];
                if (id[0] == (byte)'"' || !EchoedClientId.Is(exchange, id)) continue;
                int idStart = batchStart + members[i].Start.GetOffset(batch.Length) + view.IdRange.Start.GetOffset(member.Length);
                masker.MaskInPlace(all[masked..idStart]);
                masked = idStart + id.Length;
                if (PanMasker.ContainsCardNumber(id)) exchange.ResponseIdHoldsCard = true;
            }
        }
        masker.MaskInPlace(all[masked..]);
    }

    /// <summary>
    /// Card numbers inside the message's base64 payloads (blob, data), masked in the decoded bytes. An event whose
    /// JSON spans several data lines is masked in its joined copy and, when that changed, written back on one line.
    /// Masked: something was written; Refused: a payload could not be masked.
    /// </summary>
    private static Base64Payloads.Result MaskBase64Payloads(PanMasker masker, Exchange exchange, PooledBufferWriter message, bool isEvent, TransformBuffers buffers)
    {
        Span<byte> all = message.WrittenSpan;
        if (!isEvent) return Base64Payloads.MaskInPlace(masker, all, ref exchange.ResponseCards);
        if (SseEvent.TryGetSingleData(all, out Range data)) return Base64Payloads.MaskInPlace(masker, all[data], ref exchange.ResponseCards);
        if (SseDataField.Count(all) == 0) return Base64Payloads.Result.Unchanged;
        buffers.Json.Clear();
        SseDataField.Join(all, buffers.Json);
        Base64Payloads.Result result = Base64Payloads.MaskInPlace(masker, buffers.Json.WrittenSpan, ref exchange.ResponseCards);
        if (result != Base64Payloads.Result.Masked) return result;
        buffers.Output.Clear();
        SseDataField.ReplaceData(all, buffers.Json.WrittenSpan, buffers.Output);
        message.Clear();
        message.Write(buffers.Output.WrittenSpan);
        return result;
    }

    /// <summary>
    /// Masks the card numbers in the values of an answer's header fields (an upstream can put one in any field it
    /// sends, and the client reads them all), as text: every masked digit becomes the mask byte. The upstream's
    /// Mcp-Session-Id is its own token, which the client must send back as issued: it is relayed as it is (and is
    /// masked in what the audit log records, as every session id is).
    /// </summary>
    public void ApplyToHead(Exchange exchange, HttpHeaderTable headers)
    {
        if (exchange.Masking is { } picked && picked != this)
        {
            picked.ApplyToHead(exchange, headers);
            return;
        }
        PanMasker masker = Current.Masker;
        for (int i = 0; i < headers.Count; i++)
        {
            if (headers.KindAt(i) == KnownHeader.McpSessionId) continue;
            masker.MaskTextInPlace(MemoryMarshal.AsMemory(headers.ValueMemoryAt(i)).Span, ref exchange.ResponseCards);
        }
    }

    /// <summary>
    /// Applies the request rule to a request the policy has already decided on (the policy sees what the client
    /// sent). Mask mode rewrites the body (its memory is the connection's own buffer) and the headers that mirror
    /// it in place; forward and block modes leave both as sent. <paramref name="recorded"/> is what the audit log
    /// may record: the body itself when it holds no full card number, else a fully masked copy in
    /// <paramref name="copy"/>. Card numbers found are counted and fingerprinted in the exchange. <paramref name="scan"/>: the
    /// request's one card-number scan of <paramref name="body"/> as sent (null: none); when it shows nothing this masking would
    /// change or report in the body, the body is not scanned again (its header fields and query still are).
    /// </summary>
    public RequestCardOutcome ApplyToRequest(Exchange exchange, in ReadOnlySequence<byte> body, HttpRequestHead request, PooledBufferWriter copy,
        out ReadOnlySequence<byte> recorded, MessageCardScan? scan = null)
    {
        recorded = body;
        HttpHeaderTable headers = request.Headers;
        Settings settings = Current;
        PanMasker masker = settings.Masker;
        RequestCardMode requestMode = settings.RequestMode;
        RequestNumberMode numberMode = settings.NumberMode;
        bool bodyClean = scan is not null && scan.Holds((int)body.Length) && scan.NothingToMask(masker);
        if (requestMode != RequestCardMode.Mask)
        {
            if (requestMode == RequestCardMode.Block && (OtherFieldsHoldCard(headers) || QueryCardMasking.HoldsCard(request.Query)))
            {
                MaskedCopy(masker, body, copy, ref exchange.RequestCards);
                recorded = new ReadOnlySequence<byte>(copy.WrittenMemory);
                return RequestCardOutcome.BlockedCard;
            }
            if (bodyClean || MaskedCopy(masker, body, copy, ref exchange.RequestCards) == 0) return RequestCardOutcome.Forward;
            recorded = new ReadOnlySequence<byte>(copy.WrittenMemory);
            if (requestMode != RequestCardMode.Block) return RequestCardOutcome.Forward;
            return exchange.RequestCards.Count > 0 ? RequestCardOutcome.BlockedCard : RequestCardOutcome.BlockedSensitiveData;
        }

        if ((!bodyClean && MaskRequestBase64Payloads(masker, body, copy, ref exchange.RequestCards) == Base64Payloads.Result.Refused)
            || !MaskQuery(masker, request, ref exchange.RequestCards))
        {
            // Refused before the body's strings were masked: the record gets a fully masked copy, never the body as sent.
            recorded = RefusedCopy(masker, body, copy, ref exchange.RequestCards);
            return RequestCardOutcome.BlockedCard;
        }
        int kept = 0;
        if (!bodyClean)
        {
            if (numberMode == RequestNumberMode.Mask) masker.MaskInPlace(body, ref exchange.RequestCards);
            else masker.MaskStringsInPlace(body, ref exchange.RequestCards, out kept);
        }
        if (kept > 0)
        {
            // Numbers forwarded as sent are still masked (with digits) in what is recorded.
            copy.Clear();
            foreach (ReadOnlyMemory<byte> m in body) copy.Write(m.Span);
            masker.MaskInPlace(copy.WrittenSpan);
            recorded = new ReadOnlySequence<byte>(copy.WrittenMemory);
            if (numberMode == RequestNumberMode.Block) return RequestCardOutcome.BlockedNumber;
        }
        MirroredHeaderMasking.Mask(masker, headers, body, numbersKept: kept > 0);
        MaskOtherFields(masker, headers, ref exchange.RequestCards);
        return RequestCardOutcome.Forward;
    }

    /// <summary>
    /// A request with no body the gateway reads (the GET that opens the server's stream, the DELETE that ends a session):
    /// its header fields follow the request rule like a POST's (<see cref="MaskOtherFields"/>).
    /// </summary>
    public RequestCardOutcome ApplyToHeaderFields(Exchange exchange, HttpRequestHead request)
    {
        Settings settings = Current;
        switch (settings.RequestMode)
        {
            case RequestCardMode.Mask:
                if (!MaskQuery(settings.Masker, request, ref exchange.RequestCards)) return RequestCardOutcome.BlockedCard;
                MaskOtherFields(settings.Masker, request.Headers, ref exchange.RequestCards);
                return RequestCardOutcome.Forward;
            case RequestCardMode.Block:
                return OtherFieldsHoldCard(request.Headers) || QueryCardMasking.HoldsCard(request.Query) ? RequestCardOutcome.BlockedCard : RequestCardOutcome.Forward;
            default:
                return RequestCardOutcome.Forward;
        }
    }

    /// <summary>
    /// The request's other header fields the upstream gets (an X-Account, a User-Agent, a Referer), masked as text like an
    /// answer's: "mask" means the upstream receives no card number the client sent, wherever it sent it. Left as sent: the
    /// fields the mirror rule handles, the session id the upstream issued (it must come back exact), and the framing
    /// fields the gateway reads itself. A short value that cannot hold a card number is
    /// answered by the masker without its scanner (fewer than 12 ASCII digits, no escape, no byte above 0x7F).
    /// </summary>
    private static void MaskOtherFields(PanMasker masker, HttpHeaderTable headers, ref CardFindings findings)
    {
        for (int i = 0; i < headers.Count; i++)
        {
            if (IsLeftAsSent(headers, i)) continue;
            masker.MaskTextInPlace(MemoryMarshal.AsMemory(headers.ValueMemoryAt(i)).Span, ref findings);
        }
    }

    /// <summary>
    /// The request's query as approvers see it and an approval's digest binds it (not on the hot path): card numbers
    /// masked whatever the request rule, their keyed fingerprints added to <paramref name="fingerprints"/> so that
    /// another card number is another call. A query whose mask cannot be written in place is shown withheld.
    /// </summary>
    public string MaskedQuery(HttpRequestHead request, List<string> fingerprints)
    {
        byte[] query = request.Query.ToArray();
        CardFindings found = default;
        if (!QueryCardMasking.TryMaskInPlace(Current.Masker, query, ref found)) return "?(withheld: holds a card number that cannot be masked in place)";
        for (int i = 0; i < found.StoredFingerprints; i++) fingerprints.Add(Convert.ToHexStringLower(found.Fingerprint(i)));
        return System.Text.Encoding.ASCII.GetString(query);
    }

    /// <summary>
    /// A header field's value as approvers see it and an approval's digest binds it (not on the hot path): a masked copy,
    /// card numbers masked as text whatever the request rule, their fingerprints added to <paramref name="fingerprints"/>.
    /// </summary>
    public byte[] MaskedFieldValue(ReadOnlySpan<byte> value, List<string> fingerprints)
    {
        byte[] copy = value.ToArray();
        CardFindings found = default;
        Current.Masker.MaskTextInPlace(copy, ref found);
        for (int i = 0; i < found.StoredFingerprints; i++) fingerprints.Add(Convert.ToHexStringLower(found.Fingerprint(i)));
        return copy;
    }

    /// <summary>Mask mode: the query the upstream gets (<see cref="QueryCardMasking"/>); false when it cannot be masked in place.</summary>
    private static bool MaskQuery(PanMasker masker, HttpRequestHead request, ref CardFindings findings) =>
        QueryCardMasking.TryMaskInPlace(masker, MemoryMarshal.AsMemory(request.QueryMemory).Span, ref findings);

    /// <summary>Block mode: a card number in one of the fields <see cref="MaskOtherFields"/> would mask refuses the call.</summary>
    private static bool OtherFieldsHoldCard(HttpHeaderTable headers)
    {
        for (int i = 0; i < headers.Count; i++)
        {
            if (!IsLeftAsSent(headers, i) && PanMasker.ContainsCardNumber(headers.ValueAt(i))) return true;
        }
        return false;
    }

    private static bool IsLeftAsSent(HttpHeaderTable headers, int i) =>
        headers.KindAt(i) is KnownHeader.McpSessionId or KnownHeader.McpName or KnownHeader.Host or KnownHeader.ContentLength
        || MirroredHeaderMasking.IsParamHeader(headers.NameAt(i));

    /// <summary>
    /// What the audit log may record of a request not decided yet, leaving the body as sent (the policy must still
    /// see it): the body itself when it holds no card number, else a fully masked copy in <paramref name="copy"/>.
    /// Card numbers found are counted and fingerprinted in the exchange.
    /// </summary>
    public ReadOnlySequence<byte> RecordableCopy(Exchange exchange, in ReadOnlySequence<byte> body, PooledBufferWriter copy) =>
        MaskedCopy(Current.Masker, body, copy, ref exchange.RequestCards) == 0 ? body : new ReadOnlySequence<byte>(copy.WrittenMemory);

    /// <summary>
    /// Copies the body and masks the copy (forward and block modes), base64 payloads and sensitive members included;
    /// returns the card numbers and sensitive values found (one for payloads that could not be read to the end, so that
    /// block mode refuses them; the copy is then empty): with none, the body itself may be recorded.
    /// </summary>
    private static int MaskedCopy(PanMasker masker, in ReadOnlySequence<byte> body, PooledBufferWriter copy, ref CardFindings findings)
    {
        copy.Clear();
        foreach (ReadOnlyMemory<byte> m in body) copy.Write(m.Span);
        int sensitiveBefore = findings.Sensitive;
        int found = masker.MaskInPlace(copy.WrittenSpan, ref findings);
        int before = findings.Count;
        // A payload that cannot be masked is blanked in the copy (it is recorded, never sent) and counted as one finding.
        Base64Payloads.Result payloads = Base64Payloads.MaskForRecordInPlace(masker, copy.WrittenSpan, ref findings);
        // Refused for another reason than a blanked payload (nesting past the walk's depth, a stop with members after it): the
        // copy may still hold one in clear, so none of it is recorded (fail closed).
        if (payloads == Base64Payloads.Result.Refused)
        {
            var again = default(PanMaskCounts);
            if (Base64Payloads.MaskForRecordInPlace(masker, copy.WrittenSpan, ref again) == Base64Payloads.Result.Refused) copy.Clear();
        }
        return found + (payloads == Base64Payloads.Result.Refused ? 1 : findings.Count - before) + findings.Sensitive - sensitiveBefore;
    }

    /// <summary>
    /// Mask mode, a request refused before its strings were masked (a payload or query that cannot be masked in place): the
    /// copy the audit log records, masked as forward and block modes record (a payload that cannot be masked blanked). The
    /// card numbers of the text are counted now, as masking the body would have; the payloads were counted already.
    /// </summary>
    private static ReadOnlySequence<byte> RefusedCopy(PanMasker masker, in ReadOnlySequence<byte> body, PooledBufferWriter copy, ref CardFindings findings)
    {
        copy.Clear();
        foreach (ReadOnlyMemory<byte> m in body) copy.Write(m.Span);
        masker.MaskInPlace(copy.WrittenSpan, ref findings);
        CardFindings counted = default;
        Base64Payloads.MaskForRecordInPlace(masker, copy.WrittenSpan, ref counted);
        return new ReadOnlySequence<byte>(copy.WrittenMemory);
    }

    /// <summary>
    /// Mask mode: the base64 payloads of the body the upstream will get, masked where the body lies (the connection's own
    /// buffer); a body split over segments is masked in <paramref name="scratch"/> and copied back, same length.
    /// </summary>
    private static Base64Payloads.Result MaskRequestBase64Payloads(PanMasker masker, in ReadOnlySequence<byte> body, PooledBufferWriter scratch,
        ref CardFindings findings)
    {
        if (body.IsSingleSegment) return Base64Payloads.MaskInPlace(masker, MemoryMarshal.AsMemory(body.First).Span, ref findings);
        scratch.Clear();
        foreach (ReadOnlyMemory<byte> m in body) scratch.Write(m.Span);
        Base64Payloads.Result result = Base64Payloads.MaskInPlace(masker, scratch.WrittenSpan, ref findings);
        if (result != Base64Payloads.Result.Masked) return result;
        ReadOnlySpan<byte> masked = scratch.WrittenSpan;
        foreach (ReadOnlyMemory<byte> m in body)
        {
            masked[..m.Length].CopyTo(MemoryMarshal.AsMemory(m).Span);
            masked = masked[m.Length..];
        }
        return result;
    }
}
