using System.Buffers.Binary;
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
    public AuditRecordSerializer(PanMasker? fieldMasker = null) => _fieldMasker = fieldMasker ?? DefaultFieldMasker;

    private static readonly JsonEncodedText PSeq = JsonEncodedText.Encode("seq");
    private static readonly JsonEncodedText PTime = JsonEncodedText.Encode("time");
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
    private static readonly JsonEncodedText PRequest = JsonEncodedText.Encode("request");
    private static readonly JsonEncodedText PResponse = JsonEncodedText.Encode("response");
    private static readonly JsonEncodedText PRequestInvalid = JsonEncodedText.Encode("requestNotJsonBase64");
    private static readonly JsonEncodedText PResponseInvalid = JsonEncodedText.Encode("responseNotJsonBase64");
    private static readonly JsonEncodedText PJsonRpcIdInvalid = JsonEncodedText.Encode("jsonrpcIdNotJsonBase64");

    private static readonly JsonEncodedText[] TypeNames = CreateTypeNames();

    private readonly Utf8JsonWriter _json = new(Stream.Null, new JsonWriterOptions { SkipValidation = true });

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
        int start = output.WrittenCount;
        var prefix = output.GetSpan(RecordLayout.BodyPrefix);
        BinaryPrimitives.WriteInt64LittleEndian(prefix, sequence);
        BinaryPrimitives.WriteInt64LittleEndian(prefix[8..], timeMicros);
        prefix[16] = (byte)e.Type;
        output.Advance(RecordLayout.BodyPrefix);

        var w = _json;
        w.Reset(output);
        int jsonStart = output.WrittenCount;
        w.WriteStartObject();
        w.WriteNumber(PSeq, sequence);
        Span<char> time = stackalloc char[32];
        DateTime.UnixEpoch.AddTicks(timeMicros * 10).TryFormat(time, out int tl, NoteValues.TimeFormat, System.Globalization.CultureInfo.InvariantCulture);
        w.WriteString(PTime, time[..tl]);
        w.WriteString(PType, TypeNames[(int)e.Type]);
        w.WriteBoolean(PSuccess, e.Success);

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
        w.WriteEndObject();

        WriteOptional(w, PSession, e.SessionId);
        if (e.TraceHigh != 0 || e.TraceLow != 0)
        {
            // Lowercase hex as in traceparent; inside the masked region like every header-derived field.
            Span<char> hex = stackalloc char[32];
            w.WriteStartObject(PTrace);
            e.TraceHigh.TryFormat(hex, out _, "x16", System.Globalization.CultureInfo.InvariantCulture);
            e.TraceLow.TryFormat(hex[16..], out _, "x16", System.Globalization.CultureInfo.InvariantCulture);
            w.WriteString(PId, hex);
            if (e.SpanId != 0)
            {
                e.SpanId.TryFormat(hex, out _, "x16", System.Globalization.CultureInfo.InvariantCulture);
                w.WriteString(PSpan, hex[..16]);
            }
            w.WriteEndObject();
        }
        WriteRawJson(w, PJsonRpcId, PJsonRpcIdInvalid, e.JsonRpcIdRaw.Span);
        WriteOptional(w, PDecision, e.Decision);
        WriteOptional(w, PRule, e.Rule);
        WriteOptional(w, PApprover, e.Approver);
        if (e.HttpStatus != 0) w.WriteNumber(PHttpStatus, e.HttpStatus);
        if (e.LatencyMicroseconds != 0) w.WriteNumber(PLatency, e.LatencyMicroseconds);
        if (e.CardFingerprints.Count > 0)
        {
            w.WriteStartArray(PCards);
            foreach (var f in e.CardFingerprints) w.WriteStringValue(f);
            w.WriteEndArray();
        }
        WriteOptional(w, PDetail, e.Detail);
        w.Flush();
        _fieldMasker.MaskInPlace(output.RawArray.AsSpan(jsonStart, output.WrittenCount - jsonStart));
        WriteRawJson(w, PRequest, PRequestInvalid, e.RequestPayload.Span);
        WriteRawJson(w, PResponse, PResponseInvalid, e.ResponsePayload.Span);
        w.WriteEndObject();
        w.Flush();
        return output.WrittenCount - start;
    }

    private static void WriteOptional(Utf8JsonWriter w, JsonEncodedText name, string? value)
    {
        if (value is not null) w.WriteString(name, value);
    }

    /// <summary>Embeds valid JSON as-is; anything else is kept, base64-encoded, under a name that says it was not JSON.</summary>
    private static void WriteRawJson(Utf8JsonWriter w, JsonEncodedText name, JsonEncodedText invalidName, ReadOnlySpan<byte> raw)
    {
        if (raw.IsEmpty) return;
        if (IsSingleJsonValue(raw))
        {
            w.WritePropertyName(name);
            w.WriteRawValue(raw, skipInputValidation: true);
        }
        else
        {
            w.WriteBase64String(invalidName, raw);
        }
    }

    private static bool IsSingleJsonValue(ReadOnlySpan<byte> raw)
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
