using System.Buffers;
using System.Globalization;
using FastMcp.Audit.Format;
using FastMcp.Audit.Replay;

namespace FastMcp.Audit.Export;

/// <summary>One POST body being filled: records in the configured format, reused from pass to pass.</summary>
internal sealed class ExportBatch(string format, string chain)
{
    private readonly ArrayBufferWriter<byte> _body = new(64 * 1024);
    private readonly bool _splunk = format == AuditExportOptions.SplunkHec;

    public int Count { get; private set; }
    public long LastSequence { get; private set; } = -1;
    public long LastSegment { get; private set; }
    public ReadOnlyMemory<byte> Body => _body.WrittenMemory;

    public void Clear()
    {
        _body.ResetWrittenCount();
        Count = 0;
        LastSequence = -1;
    }

    /// <summary>Adds a record body (binary prefix + JSON) as replay's JSON line, wrapped as a HEC event for splunk-hec.</summary>
    public void Add(long segment, ReadOnlySpan<byte> body)
    {
        long sequence = RecordLayout.ReadSequence(body);
        // The writer only writes JSON objects; anything else is not ours to pass on as a record.
        var json = RecordLayout.ReadJson(body);
        if (json.IsEmpty || json[0] != (byte)'{') throw new InvalidDataException($"record {sequence} of segment {segment} is not a JSON object; not exported");
        if (_splunk)
        {
            long micros = RecordLayout.ReadTimeMicros(body);
            _body.Write("{\"time\":"u8);
            Span<byte> digits = stackalloc byte[32];
            long seconds = Math.DivRem(micros, 1_000_000, out long fraction);
            if (fraction < 0) { seconds--; fraction += 1_000_000; }
            seconds.TryFormat(digits, out int n, default, CultureInfo.InvariantCulture);
            _body.Write(digits[..n]);
            _body.Write("."u8);
            fraction.TryFormat(digits, out n, "D6", CultureInfo.InvariantCulture);
            _body.Write(digits[..n]);
            _body.Write(",\"source\":\"fastmcp\",\"sourcetype\":\"fastmcp:audit\",\"event\":"u8);
        }
        ReplayJsonLine.Write(_body, chain, segment, verified: null, json);
        _body.Write(_splunk ? "}\n"u8 : "\n"u8);
        Count++;
        LastSequence = sequence;
        LastSegment = segment;
    }
}
