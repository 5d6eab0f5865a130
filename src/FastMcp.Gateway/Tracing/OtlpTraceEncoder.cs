using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

namespace FastMcp.Gateway.Tracing;

/// <summary>
/// Encodes queued exchange records as an OTLP ExportTraceServiceRequest (opentelemetry/proto/collector/trace/v1,
/// protobuf): one ResourceSpans (service.name) with one ScopeSpans holding, per exchange, its server span and a
/// child span for each stage that ran (decide, hold, record, forward). Runs on the exporter's thread. Text that a
/// client chose (tool name, request id, subject, rule) is card-masked here like any logged text; arguments, tokens and
/// payloads are never in a record to begin with.
/// </summary>
internal sealed class OtlpTraceEncoder
{
    // Field numbers of opentelemetry/proto/{collector/trace,trace,resource,common}/v1.
    private const int RequestResourceSpans = 1;
    private const int ResourceSpansResource = 1, ResourceSpansScopeSpans = 2;
    private const int ResourceAttributes = 1;
    private const int ScopeSpansScope = 1, ScopeSpansSpans = 2;
    private const int ScopeName = 1, ScopeVersion = 2;
    private const int SpanTraceId = 1, SpanSpanId = 2, SpanParentSpanId = 4, SpanName = 5, SpanKind = 6, SpanStart = 7, SpanEnd = 8,
        SpanAttributes = 9, SpanStatus = 15, SpanFlags = 16;
    private const int StatusMessage = 2, StatusCode = 3;
    private const int KeyValueKey = 1, KeyValueValue = 2;
    private const int AnyString = 1, AnyInt = 3;

    private const int KindInternal = 1, KindServer = 2, KindClient = 3;
    private const int StatusError = 2;
    // Span.flags: W3C trace flags (sampled) in bits 0-7, bit 8 "is_remote known", bit 9 "parent is remote".
    private const uint FlagsSampled = 0x01, FlagsRemoteKnown = 0x100, FlagsRemote = 0x200;

    private readonly string _serviceName;
    private readonly string _scopeVersion;
    private readonly long _epochUnixNanos;
    private readonly long _epochTicks;

    public OtlpTraceEncoder(string serviceName, string scopeVersion)
    {
        _serviceName = serviceName;
        _scopeVersion = scopeVersion;
        // Span times are Stopwatch timestamps (monotonic, cheap on the data path); this pair maps them to unix time.
        _epochTicks = Stopwatch.GetTimestamp();
        _epochUnixNanos = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
    }

    public void Encode(ProtobufWriter w, ReadOnlySpan<ExchangeSpanRecord> records)
    {
        w.Clear();
        int resourceSpans = w.BeginMessage(RequestResourceSpans);
        int resource = w.BeginMessage(ResourceSpansResource);
        StringAttribute(w, ResourceAttributes, "service.name", _serviceName);
        w.EndMessage(resource);
        int scopeSpans = w.BeginMessage(ResourceSpansScopeSpans);
        int scope = w.BeginMessage(ScopeSpansScope);
        w.String(ScopeName, "fastmcp.gateway");
        w.String(ScopeVersion, _scopeVersion);
        w.EndMessage(scope);
        foreach (ref readonly ExchangeSpanRecord r in records) Exchange(w, r);
        w.EndMessage(scopeSpans);
        w.EndMessage(resourceSpans);
    }

    private void Exchange(ProtobufWriter w, in ExchangeSpanRecord r)
    {
        ref readonly StageTimes t = ref r.Stages;
        string? tool = t.ToolLength switch
        {
            > 0 => Stages.CardText.Mask(Encoding.UTF8.GetString(((ReadOnlySpan<byte>)t.Tool)[..t.ToolLength])),
            < 0 => "(long value)",
            _ => null,
        };
        string? requestId = t.RequestIdLength > 0 ? Stages.CardText.Mask(Encoding.UTF8.GetString(((ReadOnlySpan<byte>)t.RequestId)[..t.RequestIdLength])) : null;
        string? subject = r.Subject is null ? null : Stages.CardText.Mask(r.Subject);
        string? rule = r.Rule is null ? null : Stages.CardText.Mask(r.Rule);

        // The server span: the exchange as the client saw it. Its id is the one the upstream received as parent.
        int span = BeginSpan(w, r, r.SpanId, r.ParentSpanId, KindServer, r.Start, r.End, r.ParentSpanId != 0);
        w.String(SpanName, "mcp "u8, r.Method);
        StringAttribute(w, SpanAttributes, "mcp.method.name", r.Method);
        if (tool is not null) StringAttribute(w, SpanAttributes, "gen_ai.tool.name", tool);
        if (requestId is not null) StringAttribute(w, SpanAttributes, "rpc.jsonrpc.request_id", requestId);
        if (subject is not null) StringAttribute(w, SpanAttributes, "enduser.id", subject);
        if (r.Client is not null) StringAttribute(w, SpanAttributes, "client.address", r.Client);
        if (r.Decision is not null) StringAttribute(w, SpanAttributes, "fastmcp.decision", r.Decision);
        if (rule is not null) StringAttribute(w, SpanAttributes, "fastmcp.rule", rule);
        if (r.Status != 0) IntAttribute(w, "http.response.status_code", r.Status);
        if (t.UpstreamStatus != 0) IntAttribute(w, "fastmcp.upstream.status_code", t.UpstreamStatus);
        if (r.Status == 0) Error(w, "the exchange ended without an answer");
        else if (r.Status >= 500) Error(w, null);
        w.EndMessage(span);

        if (t.DecideStart != 0)
        {
            span = BeginSpan(w, r, NewSpanId(), r.SpanId, KindInternal, t.DecideStart, EndOr(t.DecideEnd, r.End), remoteParent: false);
            w.String(SpanName, "decide");
            if (r.Decision is not null) StringAttribute(w, SpanAttributes, "fastmcp.decision", r.Decision);
            if (rule is not null) StringAttribute(w, SpanAttributes, "fastmcp.rule", rule);
            w.EndMessage(span);
        }
        if (t.HoldStart != 0)
        {
            span = BeginSpan(w, r, NewSpanId(), r.SpanId, KindInternal, t.HoldStart, EndOr(t.HoldEnd, r.End), remoteParent: false);
            w.String(SpanName, "hold");
            if (t.HoldEnd == 0) Error(w, "no approval decision arrived while the client waited");
            w.EndMessage(span);
        }
        if (t.RecordStart != 0)
        {
            span = BeginSpan(w, r, NewSpanId(), r.SpanId, KindInternal, t.RecordStart, EndOr(t.RecordEnd, r.End), remoteParent: false);
            w.String(SpanName, "record");
            if (t.RecordEnd == 0) Error(w, "the audit record did not become durable");
            w.EndMessage(span);
        }
        if (t.ForwardStart != 0)
        {
            span = BeginSpan(w, r, NewSpanId(), r.SpanId, KindClient, t.ForwardStart, EndOr(t.ForwardEnd, r.End), remoteParent: false);
            w.String(SpanName, "forward");
            if (t.UpstreamStatus != 0) IntAttribute(w, "http.response.status_code", t.UpstreamStatus);
            if (t.ForwardEnd == 0) Error(w, "no response head from the upstream");
            else if (t.UpstreamStatus >= 500) Error(w, null);
            w.EndMessage(span);
        }
    }

    private int BeginSpan(ProtobufWriter w, in ExchangeSpanRecord r, ulong spanId, ulong parentId, int kind, long start, long end, bool remoteParent)
    {
        int span = w.BeginMessage(ScopeSpansSpans);
        Span<byte> id = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(id, r.TraceHigh);
        BinaryPrimitives.WriteUInt64BigEndian(id[8..], r.TraceLow);
        w.Bytes(SpanTraceId, id);
        BinaryPrimitives.WriteUInt64BigEndian(id, spanId);
        w.Bytes(SpanSpanId, id[..8]);
        if (parentId != 0)
        {
            BinaryPrimitives.WriteUInt64BigEndian(id, parentId);
            w.Bytes(SpanParentSpanId, id[..8]);
        }
        w.Varint(SpanKind, (ulong)kind);
        w.Fixed64(SpanStart, UnixNanos(start));
        w.Fixed64(SpanEnd, UnixNanos(Math.Max(start, end)));
        w.Fixed32(SpanFlags, FlagsSampled | FlagsRemoteKnown | (remoteParent ? FlagsRemote : 0));
        return span;
    }

    private static long EndOr(long end, long fallback) => end != 0 ? end : fallback;

    private ulong UnixNanos(long timestamp)
    {
        long elapsed = timestamp - _epochTicks;
        long f = Stopwatch.Frequency;
        long nanos = f == 1_000_000_000 ? elapsed : elapsed / f * 1_000_000_000 + elapsed % f * 1_000_000_000 / f;
        return (ulong)(_epochUnixNanos + nanos);
    }

    private static ulong NewSpanId()
    {
        ulong v;
        do v = (ulong)Random.Shared.NextInt64(long.MinValue, long.MaxValue); while (v == 0);
        return v;
    }

    private static void Error(ProtobufWriter w, string? message)
    {
        int status = w.BeginMessage(SpanStatus);
        if (message is not null) w.String(StatusMessage, message);
        w.Varint(StatusCode, StatusError);
        w.EndMessage(status);
    }

    private static void StringAttribute(ProtobufWriter w, int field, string key, string value)
    {
        int kv = w.BeginMessage(field);
        w.String(KeyValueKey, key);
        int any = w.BeginMessage(KeyValueValue);
        w.String(AnyString, value);
        w.EndMessage(any);
        w.EndMessage(kv);
    }

    private static void IntAttribute(ProtobufWriter w, string key, long value)
    {
        int kv = w.BeginMessage(SpanAttributes);
        w.String(KeyValueKey, key);
        int any = w.BeginMessage(KeyValueValue);
        w.Varint(AnyInt, (ulong)value);
        w.EndMessage(any);
        w.EndMessage(kv);
    }
}
