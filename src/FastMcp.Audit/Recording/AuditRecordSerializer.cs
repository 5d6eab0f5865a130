using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Numerics;
using System.Security.Cryptography;
using System.Text.Json;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Pan;

namespace FastMcp.Audit.Recording;

/// <summary>
/// Writes an <see cref="AuditEvent"/> as a record body: the 17-byte binary prefix (sequence, time, type)
/// then one JSON object. Property names are pre-encoded and the JSON writer is reused, so a warmed
/// serializer allocates nothing per record. Every field before the payloads (who, origin, target,
/// session, JSON-RPC id, decision, detail …) is masked for card numbers as written, whatever the caller
/// filled in: these come from headers, bodies and free text, and no record may hold a full card
/// number. The payloads are masked by the caller, which scanned them already.
/// </summary>
public sealed class AuditRecordSerializer
{
    /// <summary>Masks card numbers in record fields: first 6 and last 4 digits kept (PCI DSS 3.4.1), no fingerprint.</summary>
    private static readonly PanMasker DefaultFieldMasker = new(new PanMaskingOptions { ComputeFingerprints = false });

    private readonly PanMasker _fieldMasker;

    /// <param name="fieldMasker">Masks card numbers in record fields; null: the first 6 and last 4 digits stay visible.</param>
    public AuditRecordSerializer(PanMasker? fieldMasker = null)
    {
        _fieldMasker = fieldMasker ?? DefaultFieldMasker;
        // A head (type and success, then the comma before "user") is the same bytes for every record of its kind: the
        // masker is asked once whether it changes any, not for every record.
        _headsMaskFree = true;
        Span<byte> head = stackalloc byte[256];
        foreach (byte[] bytes in Heads)
        {
            bytes.CopyTo(head);
            head[bytes.Length] = (byte)',';
            Span<byte> text = head[..(bytes.Length + 1)];
            _fieldMasker.MaskInPlace(text);
            if (!text[..bytes.Length].SequenceEqual(bytes) || text[^1] != (byte)',') _headsMaskFree = false;
        }
    }

    private readonly bool _headsMaskFree;

    private static readonly JsonEncodedText PType = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText PSuccess = JsonEncodedText.Encode("success");
    private static readonly JsonEncodedText PUser = JsonEncodedText.Encode("user");
    private static readonly JsonEncodedText PSubject = JsonEncodedText.Encode("subject");
    private static readonly JsonEncodedText PGroups = JsonEncodedText.Encode("groups");
    private static readonly JsonEncodedText PClient = JsonEncodedText.Encode("client");
    private static readonly JsonEncodedText POrigin = JsonEncodedText.Encode("origin");
    private static readonly JsonEncodedText PAddress = JsonEncodedText.Encode("address");
    private static readonly JsonEncodedText PHop = JsonEncodedText.Encode("hop");
    private static readonly JsonEncodedText PCertificate = JsonEncodedText.Encode("certificate");
    private static readonly JsonEncodedText PSha256 = JsonEncodedText.Encode("sha256");
    private static readonly JsonEncodedText PMcpClient = JsonEncodedText.Encode("mcpClient");
    private static readonly JsonEncodedText PName = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText PVersion = JsonEncodedText.Encode("version");
    private static readonly JsonEncodedText PComponent = JsonEncodedText.Encode("component");
    private static readonly JsonEncodedText PUpstream = JsonEncodedText.Encode("upstream");
    private static readonly JsonEncodedText PUpstreamName = JsonEncodedText.Encode("upstreamName");
    private static readonly JsonEncodedText PMethod = JsonEncodedText.Encode("method");
    private static readonly JsonEncodedText PTarget = JsonEncodedText.Encode("target");
    private static readonly JsonEncodedText PQuery = JsonEncodedText.Encode("query");
    private static readonly JsonEncodedText PHeaders = JsonEncodedText.Encode("headers");
    private static readonly JsonEncodedText PCookies = JsonEncodedText.Encode("cookies");
    private static readonly JsonEncodedText PSession = JsonEncodedText.Encode("session");
    private static readonly JsonEncodedText PTrace = JsonEncodedText.Encode("trace");
    private static readonly JsonEncodedText PId = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText PSpan = JsonEncodedText.Encode("span");
    private static readonly JsonEncodedText PJsonRpcId = JsonEncodedText.Encode("jsonrpcId");
    private static readonly JsonEncodedText PDecision = JsonEncodedText.Encode("decision");
    private static readonly JsonEncodedText PRule = JsonEncodedText.Encode("rule");
    private static readonly JsonEncodedText PApprover = JsonEncodedText.Encode("approver");
    private static readonly JsonEncodedText PHttpStatus = JsonEncodedText.Encode("httpStatus");
    private static readonly JsonEncodedText PLatency = JsonEncodedText.Encode("latencyUs");
    private static readonly JsonEncodedText PCards = JsonEncodedText.Encode("cardFingerprints");
    private static readonly JsonEncodedText PDetail = JsonEncodedText.Encode("detail");
    private static readonly JsonEncodedText PDirection = JsonEncodedText.Encode("direction");
    private static readonly JsonEncodedText ServerToClient = JsonEncodedText.Encode("serverToClient");
    private static readonly JsonEncodedText PRequest = JsonEncodedText.Encode("request");
    private static readonly JsonEncodedText PResponse = JsonEncodedText.Encode("response");
    private static readonly JsonEncodedText PRequestInvalid = JsonEncodedText.Encode("requestNotJsonBase64");
    private static readonly JsonEncodedText PResponseInvalid = JsonEncodedText.Encode("responseNotJsonBase64");
    private static readonly JsonEncodedText PJsonRpcIdInvalid = JsonEncodedText.Encode("jsonrpcIdNotJsonBase64");
    private static readonly JsonEncodedText PRequestTruncated = JsonEncodedText.Encode("requestTruncated");
    private static readonly JsonEncodedText PResponseTruncated = JsonEncodedText.Encode("responseTruncated");
    private static readonly JsonEncodedText PLength = JsonEncodedText.Encode("length");
    private static readonly JsonEncodedText PHead = JsonEncodedText.Encode("head");

    /// <summary>
    /// The most a fields object may hold so that the composed body stays within the format's record limit
    /// (<see cref="RecordLayout.MaxBody"/>, docs/audit-format.md §5).
    /// </summary>
    internal const int MaxFieldsLength = RecordLayout.MaxBody - RecordLayout.BodyPrefix - SeqAndTimeMaxLength;

    // Bytes a payload property costs besides its value (comma, quoted name, colon, quotes), rounded up.
    private const int PayloadNameOverhead = 32;
    // Bytes a truncated payload costs besides its head: the name, {"length":<20 digits>,"sha256":"<64 hex>","head":""}.
    private const int TruncatedOverhead = 160;

    private static readonly JsonEncodedText[] TypeNames = CreateTypeNames();

    /// <summary>
    /// <c>{"type":"…","success":false</c> and <c>…true</c> for each event type (index 2 × type + success), as the JSON writer
    /// writes them: made by it once, copied into each record whose shared fields are copied (<see cref="WriteFieldsCopied"/>).
    /// </summary>
    private static readonly byte[][] Heads = CreateHeads();

    private static byte[][] CreateHeads()
    {
        var heads = new byte[TypeNames.Length * 2][];
        var buffer = new ArrayBufferWriter<byte>(128);
        using var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        for (int i = 0; i < heads.Length; i++)
        {
            buffer.Clear();
            w.Reset(buffer);
            w.WriteStartObject();
            w.WriteString(PType, TypeNames[i / 2]);
            w.WriteBoolean(PSuccess, (i & 1) == 1);
            w.Flush();
            heads[i] = buffer.WrittenSpan.ToArray();
        }
        return heads;
    }

    private readonly Utf8JsonWriter _json = new(Stream.Null, new JsonWriterOptions { SkipValidation = true });

    // The fields of the record being written by Write (Compose then adds the sequence and time).
    private readonly GrowableBuffer _fields = new(4096);

    /// <summary>Two lowercase hex digits per byte value.</summary>
    private static ReadOnlySpan<byte> HexPairs => "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"u8;

    /// <summary>16 lowercase hex digits, zero-padded, as in traceparent: a byte at a time from a table.</summary>
    private static void WriteHex16(ulong value, Span<byte> utf8)
    {
        ReadOnlySpan<byte> pairs = HexPairs;
        for (int i = 14; i >= 0; i -= 2)
        {
            int b = (int)(value & 0xFF) * 2;
            utf8[i] = pairs[b];
            utf8[i + 1] = pairs[b + 1];
            value >>= 8;
        }
    }

    public static string TypeName(AuditEventType type) => (uint)type < (uint)TypeNames.Length ? TypeNames[(int)type].Value : ((byte)type).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static JsonEncodedText[] CreateTypeNames()
    {
        var values = Enum.GetValues<AuditEventType>();
        var names = new JsonEncodedText[values.Length];
        foreach (var v in values) names[(int)v] = JsonEncodedText.Encode(v.ToString());
        return names;
    }

    /// <summary>Appends one record body for <paramref name="e"/> with the given sequence; returns the body length.</summary>
    public int Write(GrowableBuffer output, AuditEvent e, long sequence, long timeMicros)
    {
        _fields.Clear();
        WriteFields(_fields, e);
        return Compose(output, _fields.WrittenSpan, e.Type, sequence, timeMicros);
    }

    /// <summary>
    /// Appends a record body: the binary prefix, then <c>{"seq":…,"time":"…",</c> followed by the fields object
    /// written by <see cref="WriteFields"/> without its opening brace. The bytes are those one writer would make.
    /// The log composes under its lock, after serializing the fields outside it, so exchanges that record at the
    /// same time serialize in parallel and hold the lock only for this copy.
    /// </summary>
    public static int Compose(GrowableBuffer output, ReadOnlySpan<byte> fields, AuditEventType type, long sequence, long timeMicros) =>
        Compose(output, fields, type, sequence, timeMicros, null);

    /// <param name="time">The log's time text of the record before (used under its lock), or null to format the time afresh.</param>
    internal static int Compose(GrowableBuffer output, ReadOnlySpan<byte> fields, AuditEventType type, long sequence, long timeMicros, RecordTimeText? time)
    {
        if (fields.Length < 2 || fields[0] != (byte)'{') throw new ArgumentException("Not a fields object written by WriteFields.", nameof(fields));
        int length = RecordLayout.BodyPrefix + SeqAndTimeMaxLength + fields.Length;
        Span<byte> span = output.GetSpan(length);
        BinaryPrimitives.WriteInt64LittleEndian(span, sequence);
        BinaryPrimitives.WriteInt64LittleEndian(span[8..], timeMicros);
        span[16] = (byte)type;
        int at = RecordLayout.BodyPrefix;
        "{\"seq\":"u8.CopyTo(span[at..]);
        at += 7;
        Utf8Formatter.TryFormat(sequence, span[at..], out int digits);
        at += digits;
        ",\"time\":\""u8.CopyTo(span[at..]);
        at += 9;
        at += time is null ? NoteValues.FormatTime(timeMicros, span[at..]) : time.Format(timeMicros, span[at..]);
        span[at++] = (byte)'"';
        span[at++] = (byte)',';
        fields[1..].CopyTo(span[at..]);
        at += fields.Length - 1;
        output.Advance(at);
        return at;
    }

    // {"seq": + 20 digits + ,"time":" + 27 + ", (a little more than the most it can be).
    private const int SeqAndTimeMaxLength = 7 + 20 + 9 + NoteValues.TimeLength + 2 + 8;

    /// <summary>
    /// Writes every field of the record except the sequence and time, as one JSON object starting with
    /// <c>"type"</c>, with card numbers masked in the fields before the payloads. Depends on nothing but
    /// <paramref name="e"/>, so it can run before the record's sequence number is known.
    /// </summary>
    public void WriteFields(GrowableBuffer output, AuditEvent e)
    {
        // The fields from "user" through "approver" (the region) name the caller, origin, route, session, trace, id
        // and decision: an exchange's response record repeats its request record's, so they are copied when every
        // value is the same (RecordFieldReuse says why that is byte for byte a fresh serialization). The next exchange's
        // request record copies the caller's part ("user" through "session") when only the rest changed.
        RecordFieldReuse? reuse = e.FieldReuse;
        if (reuse is null && ++e.TimesWritten > 1) reuse = e.FieldReuse = new RecordFieldReuse();
        if (reuse is not null)
        {
            bool reused = reuse.Matches(e, _fieldMasker);
            if (reused || reuse.MatchesCaller(e, _fieldMasker))
            {
                WriteFieldsCopied(output, e, reuse, reused);
                return;
            }
        }
        var w = _json;
        w.Reset(output);
        int jsonStart = output.WrittenCount;
        w.WriteStartObject();
        w.WriteString(PType, TypeNames[(int)e.Type]);
        w.WriteBoolean(PSuccess, e.Success);
        w.Flush();
        int regionStart = output.WrittenCount + 1;
        WriteCallerFields(w, e);
        WriteOptional(w, PSession, e.SessionId);
        int callerEnd = output.WrittenCount + w.BytesPending;
        WriteExchangeFields(w, e);
        w.Flush();
        int regionEnd = output.WrittenCount;
        if (e.HttpStatus != 0) w.WriteNumber(PHttpStatus, e.HttpStatus);
        if (e.LatencyMicroseconds != 0) w.WriteNumber(PLatency, e.LatencyMicroseconds);
        if (e.CardFingerprints.Count > 0)
        {
            w.WriteStartArray(PCards);
            foreach (var f in e.CardFingerprints) w.WriteStringValue(f);
            w.WriteEndArray();
        }
        WriteOptional(w, PDetail, e.Detail);
        // Only a server-to-client request says its direction: every other record is the client's exchange.
        if (e.ServerToClient) w.WriteString(PDirection, ServerToClient);
        w.Flush();
        byte[] written = output.RawArray;
        _fieldMasker.MaskInPlace(written.AsSpan(jsonStart, output.WrittenCount - jsonStart));
        reuse?.Keep(e, _fieldMasker, written.AsSpan(regionStart, regionEnd - regionStart), callerEnd - regionStart);
        WritePayloads(w, e, MaxFieldsLength - (output.WrittenCount - jsonStart) - 1);
        w.WriteEndObject();
        w.Flush();
        // The estimate above is an upper bound, so this only guards against a mistake in it.
        if (output.WrittenCount - jsonStart > MaxFieldsLength) throw TooLarge();
    }

    /// <summary>
    /// <see cref="WriteFields"/> for a record that copies its region (<paramref name="reused"/>) or the region's caller part
    /// from <paramref name="reuse"/>: every byte is copied or written straight into <paramref name="output"/>, the bytes the
    /// JSON writer makes for these fields (the head from <see cref="Heads"/>, numbers as it formats them, strings it
    /// escapes from <see cref="EncodedStrings"/>, which it filled), and what only it writes (a JSON-RPC id that is not
    /// JSON, fingerprints, payloads that are not JSON or do not fit) it writes apart and the bytes are copied
    /// (<see cref="AppendWritten"/>). Issue #14: the writer's calls for these records cost ~2,700 instructions per exchange.
    /// </summary>
    private void WriteFieldsCopied(GrowableBuffer output, AuditEvent e, RecordFieldReuse reuse, bool reused)
    {
        int jsonStart = output.WrittenCount;
        byte[] head = Heads[2 * (int)e.Type + (e.Success ? 1 : 0)];
        ReadOnlySpan<byte> kept = reused ? reuse.Bytes : reuse.CallerBytes;
        Span<byte> span = output.GetSpan(head.Length + 1 + kept.Length);
        head.CopyTo(span);
        span[head.Length] = (byte)',';
        kept.CopyTo(span[(head.Length + 1)..]);
        output.Advance(head.Length + 1 + kept.Length);
        int regionStart = jsonStart + head.Length + 1;
        // Where the fields after the copied caller's part start to be masked: past the trace when its hex cannot hold a card number.
        int maskFrom = regionStart + reuse.CallerBytes.Length;
        if (!reused)
        {
            WriteTraceBytes(output, e);
            if (TraceHoldsNoDigitRun(e)) maskFrom = output.WrittenCount;
            WriteDecisionFieldsCopied(output, e);
        }
        int regionEnd = output.WrittenCount;
        if (e.HttpStatus != 0) AppendNumber(output, ",\"httpStatus\":"u8, e.HttpStatus);
        if (e.LatencyMicroseconds != 0) AppendNumber(output, ",\"latencyUs\":"u8, e.LatencyMicroseconds);
        if (e.CardFingerprints.Count > 0)
        {
            Utf8JsonWriter w = StartApart();
            w.WriteStartArray(PCards);
            foreach (var f in e.CardFingerprints) w.WriteStringValue(f);
            w.WriteEndArray();
            AppendWritten(output);
        }
        if (e.Detail is not null) AppendString(output, PDetail, e.Detail, _details);
        // Only a server-to-client request says its direction: every other record is the client's exchange.
        if (e.ServerToClient) output.Write(",\"direction\":\"serverToClient\""u8);
        byte[] written = output.RawArray;
        // The head is masked only if the masker could change it (checked once); the copied region was masked when it was
        // kept, and the copied caller's part too; what follows it (from the comma after "session", or after the trace,
        // which cannot hold a card number's run of digits: TraceHoldsNoDigitRun) is masked now.
        if (!_headsMaskFree) _fieldMasker.MaskInPlace(written.AsSpan(jsonStart, regionStart - jsonStart));
        int maskStart = reused ? regionEnd : maskFrom;
        _fieldMasker.MaskInPlace(written.AsSpan(maskStart, output.WrittenCount - maskStart));
        if (!reused) reuse.KeepExchange(e, written.AsSpan(regionStart, regionEnd - regionStart));
        WritePayloadsCopied(output, e, MaxFieldsLength - (output.WrittenCount - jsonStart) - 1);
        output.GetSpan(1)[0] = (byte)'}';
        output.Advance(1);
        // The estimate above is an upper bound, so this only guards against a mistake in it.
        if (output.WrittenCount - jsonStart > MaxFieldsLength) throw TooLarge();
    }

    // Written apart by the JSON writer (a fields object's members, its brace left out), then copied: see AppendWritten.
    private GrowableBuffer? _apart;

    // The last few decision, rule, approver and detail strings, as the writer writes them (comma, name, escaped value).
    private readonly EncodedStrings _decisions = new(), _rules = new(), _approvers = new(), _details = new();

    /// <summary>The JSON writer, reset onto the buffer written apart, inside an object whose next member is its first.</summary>
    private Utf8JsonWriter StartApart()
    {
        GrowableBuffer apart = _apart ??= new GrowableBuffer(1024);
        apart.Clear();
        _json.Reset(apart);
        _json.WriteStartObject();
        return _json;
    }

    /// <summary>
    /// Copies the members written apart since <see cref="StartApart"/> into <paramref name="output"/> as the writer would
    /// have written them after a member there: a comma, then its bytes without the opening brace (a writer after an
    /// object's first member puts a comma before each next one, and none before the first).
    /// </summary>
    private void AppendWritten(GrowableBuffer output)
    {
        _json.Flush();
        ReadOnlySpan<byte> members = _apart!.WrittenSpan[1..];
        if (members.IsEmpty) return;
        Span<byte> to = output.GetSpan(1 + members.Length);
        to[0] = (byte)',';
        members.CopyTo(to[1..]);
        output.Advance(1 + members.Length);
    }

    /// <summary><paramref name="name"/> (comma, quoted name and colon) and the number as the JSON writer formats it.</summary>
    private static void AppendNumber(GrowableBuffer output, ReadOnlySpan<byte> name, long value)
    {
        Span<byte> to = output.GetSpan(name.Length + 20);
        name.CopyTo(to);
        Utf8Formatter.TryFormat(value, to[name.Length..], out int digits);
        output.Advance(name.Length + digits);
    }

    /// <summary>A string member: its bytes from <paramref name="cache"/>, or written apart (and kept there) when not in it.</summary>
    private void AppendString(GrowableBuffer output, JsonEncodedText name, string value, EncodedStrings cache)
    {
        if (!cache.TryGet(value, out ReadOnlySpan<byte> bytes))
        {
            StartApart().WriteString(name, value);
            _json.Flush();
            // ',' then the member: the opening brace written apart is overwritten by the comma.
            Span<byte> member = _apart!.RawArray.AsSpan(0, _apart.WrittenCount);
            member[0] = (byte)',';
            bytes = cache.Put(value, member);
        }
        output.Write(bytes);
    }

    /// <summary><see cref="WriteDecisionFields"/>'s bytes for a record written by <see cref="WriteFieldsCopied"/>.</summary>
    private void WriteDecisionFieldsCopied(GrowableBuffer output, AuditEvent e)
    {
        ReadOnlySpan<byte> id = e.JsonRpcIdRaw.Span;
        if (!id.IsEmpty)
        {
            if (JsonRpcIds.IsPlainValue(id) || IsSingleJsonValue(id))
            {
                ReadOnlySpan<byte> name = ",\"jsonrpcId\":"u8;
                Span<byte> to = output.GetSpan(name.Length + id.Length);
                name.CopyTo(to);
                id.CopyTo(to[name.Length..]);
                output.Advance(name.Length + id.Length);
            }
            else
            {
                StartApart().WriteBase64String(PJsonRpcIdInvalid, id);
                AppendWritten(output);
            }
        }
        if (e.Decision is not null) AppendString(output, PDecision, e.Decision, _decisions);
        if (e.Rule is not null) AppendString(output, PRule, e.Rule, _rules);
        if (e.Approver is not null) AppendString(output, PApprover, e.Approver, _approvers);
    }

    /// <summary>
    /// <see cref="WritePayloads"/>'s bytes for a record written by <see cref="WriteFieldsCopied"/>: JSON payloads that fit
    /// copied after their names, anything else (base64, truncated) written apart.
    /// </summary>
    private void WritePayloadsCopied(GrowableBuffer output, AuditEvent e, int budget)
    {
        ReadOnlySpan<byte> request = e.RequestPayload.Span;
        ReadOnlySpan<byte> response = e.ResponsePayload.Span;
        bool requestIsJson = !request.IsEmpty && (e.RequestPayloadIsJson || IsSingleJsonValue(request));
        bool responseIsJson = !response.IsEmpty && (e.ResponsePayloadIsJson || IsSingleJsonValue(response));
        if ((request.IsEmpty || requestIsJson) && (response.IsEmpty || responseIsJson)
            && PayloadSize(request, requestIsJson) + PayloadSize(response, responseIsJson) <= budget)
        {
            AppendRaw(output, ",\"request\":"u8, request);
            AppendRaw(output, ",\"response\":"u8, response);
            return;
        }
        WritePayloads(StartApart(), e, budget);
        AppendWritten(output);
    }

    private static void AppendRaw(GrowableBuffer output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty) return;
        Span<byte> to = output.GetSpan(name.Length + value.Length);
        name.CopyTo(to);
        value.CopyTo(to[name.Length..]);
        output.Advance(name.Length + value.Length);
    }

    private static AuditUnavailableException TooLarge() => new(
        $"The audit record would exceed the {RecordLayout.MaxBody}-byte record limit of the audit format even with its payloads truncated; the exchange is refused.");

    /// <summary>
    /// Writes the request and response payloads whole when the record stays within the format's record limit
    /// (<paramref name="budget"/> bytes are left for them). Otherwise the larger is recorded truncated (its length,
    /// the SHA-256 of all its bytes, and as many of its first bytes as fit), and the smaller too if it still does not
    /// fit beside it. Fields before the payloads are never cut: a record they alone make too large is refused.
    /// </summary>
    private static void WritePayloads(Utf8JsonWriter w, AuditEvent e, int budget)
    {
        ReadOnlySpan<byte> request = e.RequestPayload.Span;
        ReadOnlySpan<byte> response = e.ResponsePayload.Span;
        bool requestIsJson = !request.IsEmpty && (e.RequestPayloadIsJson || IsSingleJsonValue(request));
        bool responseIsJson = !response.IsEmpty && (e.ResponsePayloadIsJson || IsSingleJsonValue(response));
        long requestSize = PayloadSize(request, requestIsJson);
        long responseSize = PayloadSize(response, responseIsJson);
        if (requestSize + responseSize <= budget)
        {
            WritePayload(w, PRequest, PRequestInvalid, request, requestIsJson);
            WritePayload(w, PResponse, PResponseInvalid, response, responseIsJson);
            return;
        }
        bool cutResponse = responseSize >= requestSize;
        long smaller = cutResponse ? requestSize : responseSize;
        bool cutBoth = smaller + TruncatedOverhead > budget;
        int heads = budget - TruncatedOverhead * (cutBoth ? 2 : 1) - (cutBoth ? 0 : (int)smaller);
        if (heads < 0) throw TooLarge();
        // Base64 takes 4 characters per 3 bytes; with both cut, each gets half.
        int headBytes = (cutBoth ? heads / 2 : heads) / 4 * 3;
        if (cutBoth || !cutResponse) WriteTruncated(w, PRequestTruncated, request, headBytes);
        else WritePayload(w, PRequest, PRequestInvalid, request, requestIsJson);
        if (cutBoth || cutResponse) WriteTruncated(w, PResponseTruncated, response, headBytes);
        else WritePayload(w, PResponse, PResponseInvalid, response, responseIsJson);
    }

    /// <summary>The most bytes a payload adds to the fields object (0 when absent).</summary>
    private static long PayloadSize(ReadOnlySpan<byte> raw, bool isJson) =>
        raw.IsEmpty ? 0 : PayloadNameOverhead + (isJson ? raw.Length : ((long)raw.Length + 2) / 3 * 4);

    private static void WritePayload(Utf8JsonWriter w, JsonEncodedText name, JsonEncodedText invalidName, ReadOnlySpan<byte> raw, bool isJson)
    {
        if (raw.IsEmpty) return;
        if (isJson)
        {
            w.WritePropertyName(name);
            w.WriteRawValue(raw, skipInputValidation: true);
        }
        else
        {
            w.WriteBase64String(invalidName, raw);
        }
    }

    /// <summary>A payload too large for the record: its length, the SHA-256 of all its bytes and its first bytes, base64.</summary>
    private static void WriteTruncated(Utf8JsonWriter w, JsonEncodedText name, ReadOnlySpan<byte> raw, int headBytes)
    {
        if (raw.IsEmpty) return;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(raw, hash);
        Span<byte> hex = stackalloc byte[64];
        ReadOnlySpan<byte> pairs = HexPairs;
        for (int i = 0; i < hash.Length; i++)
        {
            hex[2 * i] = pairs[hash[i] * 2];
            hex[2 * i + 1] = pairs[hash[i] * 2 + 1];
        }
        w.WriteStartObject(name);
        w.WriteNumber(PLength, raw.Length);
        w.WriteString(PSha256, hex);
        w.WriteBase64String(PHead, raw[..Math.Min(raw.Length, headBytes)]);
        w.WriteEndObject();
    }

    /// <summary>The region's first part: "user", "origin" and "component", in record order (who calls, from where, what).</summary>
    private static void WriteCallerFields(Utf8JsonWriter w, AuditEvent e)
    {
        w.WriteStartObject(PUser);
        WriteOptional(w, PSubject, e.Subject);
        if (e.Groups is { } groups)
        {
            w.WriteStartArray(PGroups);
            foreach (var g in groups) w.WriteStringValue(g);
            w.WriteEndArray();
        }
        WriteOptional(w, PClient, e.ClientId);
        w.WriteEndObject();

        w.WriteStartObject(POrigin);
        WriteOptional(w, PAddress, e.ClientAddress);
        WriteOptional(w, PHop, e.ClientHop);
        if (e.ClientCertificateSubject is not null || e.ClientCertificateSha256 is not null)
        {
            w.WriteStartObject(PCertificate);
            WriteOptional(w, PSubject, e.ClientCertificateSubject);
            WriteOptional(w, PSha256, e.ClientCertificateSha256);
            w.WriteEndObject();
        }
        if (e.McpClientName is not null || e.McpClientVersion is not null)
        {
            w.WriteStartObject(PMcpClient);
            WriteOptional(w, PName, e.McpClientName);
            WriteOptional(w, PVersion, e.McpClientVersion);
            w.WriteEndObject();
        }
        w.WriteEndObject();

        w.WriteStartObject(PComponent);
        WriteOptional(w, PUpstream, e.Upstream);
        WriteOptional(w, PUpstreamName, e.UpstreamName);
        WriteOptional(w, PMethod, e.Method);
        WriteOptional(w, PTarget, e.Target);
        // What the upstream was asked besides the body: the text after '?' ("" for a bare '?'), as forwarded.
        if (!e.Query.IsEmpty) w.WriteString(PQuery, e.Query.Span[1..]);
        // And the header fields and cookies it was sent besides MCP's own (forwardHeaders, forwardCookies).
        if (!e.Headers.IsEmpty) w.WriteString(PHeaders, e.Headers.Span);
        if (!e.Cookies.IsEmpty) w.WriteString(PCookies, e.Cookies.Span);
        w.WriteEndObject();
    }

    /// <summary>
    /// The region's second part: "trace" through "approver", in record order (this exchange's own). The session between the
    /// two parts is the caller's: the same from one exchange of a connection to the next.
    /// </summary>
    private static void WriteExchangeFields(Utf8JsonWriter w, AuditEvent e)
    {
        WriteTrace(w, e);
        WriteDecisionFields(w, e);
    }

    /// <summary>
    /// True when neither hex string of the trace ("id", 32 digits, "span", 16) holds a run of 12 decimal digits, the fewest a
    /// card number has. A run of hex digits has no separator inside it and ends at a letter or a quote, and hex holds no
    /// escape or multi-byte character, so the masker can find nothing in the trace; the fields after it are then masked apart
    /// from it (each part starts and ends at a member boundary, which no card number crosses). Every exchange has its own
    /// trace, so its hex was otherwise scanned in every request record; a few traces in a hundred have such a run and are
    /// masked as before.
    /// </summary>
    internal static bool TraceHoldsNoDigitRun(AuditEvent e)
    {
        if (e.TraceHigh == 0 && e.TraceLow == 0) return true; // no trace is written
        ulong high = Letters(e.TraceHigh), low = Letters(e.TraceLow);
        if (HasDigitRun(high) || HasDigitRun(low)) return false;
        // The id is one string, the high half first: the run that ends it goes on into the one that starts the low half.
        int across = (high == 0 ? 16 : BitOperations.TrailingZeroCount(high) / 4) + (low == 0 ? 16 : (BitOperations.LeadingZeroCount(low) - 3) / 4);
        return across < ShortestCardDigits && (e.SpanId == 0 || !HasDigitRun(Letters(e.SpanId)));
    }

    // The fewest digits a card number has (ISO/IEC 7812; the masker's shortest).
    private const int ShortestCardDigits = 12;

    private const ulong LowBits = 0x1111_1111_1111_1111;

    /// <summary>Bit 0 of each nibble of the result is set where <paramref name="value"/>'s nibble is a-f (8 set, and 4 or 2).</summary>
    private static ulong Letters(ulong value) => (value >> 3) & ((value >> 2) | (value >> 1)) & LowBits;

    /// <summary>Whether 12 nibbles in a row are not letters, given <see cref="Letters"/> of a value.</summary>
    private static bool HasDigitRun(ulong letters)
    {
        ulong digits = ~letters & LowBits;
        ulong two = digits & (digits >> 4), four = two & (two >> 8), eight = four & (four >> 16);
        return (eight & (four >> 32)) != 0;
    }

    /// <summary>
    /// <c>,"trace":{"id":"…","span":"…"}</c> straight into <paramref name="output"/>, the bytes <see cref="WriteTrace"/> has the
    /// JSON writer make (hex and these names need no escaping), for a writer flushed after a member: its next member still
    /// gets its comma.
    /// </summary>
    private static void WriteTraceBytes(GrowableBuffer output, AuditEvent e)
    {
        if (e.TraceHigh == 0 && e.TraceLow == 0) return;
        ReadOnlySpan<byte> open = ",\"trace\":{\"id\":\""u8, span = "\",\"span\":\""u8;
        Span<byte> to = output.GetSpan(open.Length + 32 + span.Length + 16 + 2);
        open.CopyTo(to);
        int at = open.Length;
        WriteHex16(e.TraceHigh, to[at..]);
        WriteHex16(e.TraceLow, to[(at + 16)..]);
        at += 32;
        if (e.SpanId != 0)
        {
            span.CopyTo(to[at..]);
            at += span.Length;
            WriteHex16(e.SpanId, to[at..]);
            at += 16;
        }
        to[at++] = (byte)'"';
        to[at++] = (byte)'}';
        output.Advance(at);
    }

    private static void WriteTrace(Utf8JsonWriter w, AuditEvent e)
    {
        if (e.TraceHigh != 0 || e.TraceLow != 0)
        {
            // Lowercase hex as in traceparent; inside the masked region like every header-derived field.
            Span<byte> hex = stackalloc byte[32];
            w.WriteStartObject(PTrace);
            WriteHex16(e.TraceHigh, hex);
            WriteHex16(e.TraceLow, hex[16..]);
            w.WriteString(PId, hex);
            if (e.SpanId != 0)
            {
                WriteHex16(e.SpanId, hex);
                w.WriteString(PSpan, hex[..16]);
            }
            w.WriteEndObject();
        }
    }

    /// <summary>The JSON-RPC id and the decision: "jsonrpcId" through "approver".</summary>
    private static void WriteDecisionFields(Utf8JsonWriter w, AuditEvent e)
    {
        WriteRawJson(w, PJsonRpcId, PJsonRpcIdInvalid, e.JsonRpcIdRaw.Span);
        WriteOptional(w, PDecision, e.Decision);
        WriteOptional(w, PRule, e.Rule);
        WriteOptional(w, PApprover, e.Approver);
    }

    private static void WriteOptional(Utf8JsonWriter w, JsonEncodedText name, string? value)
    {
        if (value is not null) w.WriteString(name, value);
    }

    /// <summary>Embeds valid JSON as-is; anything else is kept, base64-encoded, under a name that says it was not JSON.</summary>
    private static void WriteRawJson(Utf8JsonWriter w, JsonEncodedText name, JsonEncodedText invalidName, ReadOnlySpan<byte> raw)
    {
        if (!raw.IsEmpty) WritePayload(w, name, invalidName, raw, IsSingleJsonValue(raw));
    }

    internal static bool IsSingleJsonValue(ReadOnlySpan<byte> raw)
    {
        var reader = new Utf8JsonReader(raw, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (!reader.Read()) return false;
            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
