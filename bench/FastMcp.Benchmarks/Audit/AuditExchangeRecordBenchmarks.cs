using BenchmarkDotNet.Attributes;
using FastMcp.Audit;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Recording;

namespace FastMcp.Benchmarks.Audit;

/// <summary>
/// Serializing one exchange's two records (request, then response) from the one event the gateway refills: with
/// every field written and masked for both, against the response copying the fields it shares with the request
/// (user through approver), and with the request also embedded without parsing it again (the gateway vouches for a
/// body its inspector validated and masking left alone), and with the response so embedded too (the relay vouches for an
/// answer it read that no stage changed). A new trace id per exchange, so the request record never copies.
/// </summary>
[MemoryDiagnoser]
public class AuditExchangeRecordBenchmarks
{
    private readonly AuditRecordSerializer _serializer = new();
    private readonly GrowableBuffer _output = new(1 << 16);
    private AuditEvent _event = null!;
    private ReadOnlyMemory<byte> _request, _response;
    private long _sequence;

    [GlobalSetup]
    public void Setup()
    {
        _event = AuditBenchmarkData.Exchange();
        _event.TraceHigh = 0x0af7651916cd43dd;
        _event.SpanId = 0x00f067aa0ba902b7;
        _request = _event.RequestPayload;
        _response = _event.ResponsePayload;
    }

    [Benchmark(Baseline = true, Description = "request + response record, every field written")]
    public int EveryFieldWritten() => Exchange(copyShared: false);

    [Benchmark(Description = "request + response record, response copies the shared fields")]
    public int SharedFieldsCopied() => Exchange(copyShared: true);

    [Benchmark(Description = "... and the request embedded without a second parse (RequestPayloadIsJson)")]
    public int SharedFieldsCopiedRequestParsedOnce() => Exchange(copyShared: true, requestParsed: true);

    [Benchmark(Description = "... and the response too (ResponsePayloadIsJson: the relay read it and no stage changed it)")]
    public int SharedFieldsCopiedBothParsedOnce() => Exchange(copyShared: true, requestParsed: true, responseParsed: true);

    private int Exchange(bool copyShared, bool requestParsed = false, bool responseParsed = false)
    {
        AuditEvent e = _event;
        long micros = NoteValues.ToUnixMicros(e.TimestampUtc);
        _output.Clear();
        e.TraceLow = (ulong)++_sequence;
        e.Detail = "request";
        e.RequestPayload = _request;
        e.RequestPayloadIsJson = requestParsed;
        e.ResponsePayload = default;
        e.ResponsePayloadIsJson = false;
        e.HttpStatus = 0;
        int n = _serializer.Write(_output, e, _sequence * 2, micros);
        if (!copyShared) e.ForgetSharedFields();
        e.Detail = "response";
        e.RequestPayload = default;
        e.RequestPayloadIsJson = false;
        e.ResponsePayload = _response;
        e.ResponsePayloadIsJson = responseParsed;
        e.HttpStatus = 200;
        n += _serializer.Write(_output, e, _sequence * 2 + 1, micros);
        if (!copyShared) e.ForgetSharedFields();
        return n;
    }
}
