using System.Buffers;
using System.Diagnostics;
using System.Text;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Proxy;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tracing;

/// <summary>
/// The gateway's spans: decides which new traces are sampled, turns a sampled exchange into a fixed-size record
/// in a preallocated ring (no allocation, no I/O, a short lock) and hands the ring to the OTLP exporter's thread.
/// When the ring holds tracing.maxQueueSize spans, new ones are dropped and counted instead of making a request
/// wait. An unsampled exchange costs a flag test.
/// </summary>
internal sealed class Tracer : IDisposable
{
    private readonly double _sampleRatio;
    private readonly ExchangeSpanRecord[] _ring;
    private readonly int _maxQueuedSpans;
    private readonly Lock _gate = new();
    private readonly OtlpExporter _exporter;
    private int _head, _count, _queuedSpans;
    private long _dropped, _exported, _failed;

    public Tracer(TracingOptions options, string scopeVersion)
    {
        _sampleRatio = options.SampleRatio;
        _maxQueuedSpans = options.MaxQueueSize;
        // A record is at least one span, so this many records always hold the queue's spans.
        _ring = new ExchangeSpanRecord[options.MaxQueueSize];
        _exporter = new OtlpExporter(this, options, scopeVersion);
    }

    public long Dropped => Volatile.Read(ref _dropped);
    public long Exported => Volatile.Read(ref _exported);
    public long Failed => Volatile.Read(ref _failed);
    public int QueuedSpans => Volatile.Read(ref _queuedSpans);

    /// <summary>Whether a trace the gateway starts is sampled (tracing.sampleRatio); a continued one keeps its caller's flag.</summary>
    public bool SampleNewTrace() => _sampleRatio >= 1 || (_sampleRatio > 0 && Random.Shared.NextDouble() < _sampleRatio);

    /// <summary>
    /// Copies the tools/call tool name and the JSON-RPC request id while the body is still readable (it leaves the
    /// pipe before the exchange ends); only for sampled exchanges. The exporter masks card numbers in both like any
    /// logged text.
    /// </summary>
    public static void CaptureCall(Exchange ex, in ReadOnlySequence<byte> body)
    {
        if (!ex.Trace.Sampled || !ex.HasCall) return;
        ref McpCall call = ref ex.Call;
        if (call.Kind == McpMessageKind.Request && call.HasId)
        {
            Span<byte> id = ex.Times.RequestId;
            int start = call.IdRange.Start.Value, length = call.IdRange.End.Value - start;
            if (length > 0 && start + length <= body.Length)
            {
                ReadOnlySequence<byte> token = body.Slice(start, length);
                if (token.FirstSpan[0] == (byte)'"') ex.Times.RequestIdLength = Math.Max(0, McpInspector.CopyUnescaped(body, call.IdRange, id));
                else if (length <= id.Length)
                {
                    token.CopyTo(id);
                    ex.Times.RequestIdLength = length;
                }
            }
        }
        if (call.Method != McpMethod.ToolsCall || !call.HasName) return;
        Span<byte> tool = ex.Times.Tool;
        int n = McpInspector.CopyUnescaped(body, call.NameRange, tool);
        ex.Times.ToolLength = n < 0 ? -1 : n;
    }

    /// <summary>Queues a sampled exchange's spans (call when its answer was written or it ended).</summary>
    public void Record(Exchange ex, string clientAddress)
    {
        if (!ex.Trace.Sampled || !ex.Trace.IsValid) return;
        var record = new ExchangeSpanRecord
        {
            TraceHigh = ex.Trace.TraceHigh,
            TraceLow = ex.Trace.TraceLow,
            ParentSpanId = ex.Trace.ParentSpanId,
            SpanId = ex.Trace.SpanId,
            Start = ex.StartTimestamp,
            End = Stopwatch.GetTimestamp(),
            Stages = ex.Times,
            Method = MethodOf(ex),
            Subject = ex.Principal?.Subject,
            Client = clientAddress,
            Status = ex.ResponseStatus,
        };
        if (ex.Decision is { } d)
        {
            record.Decision = d.Action switch { PolicyAction.Allow => "allow", PolicyAction.Deny => "deny", _ => "require_approval" };
            record.Rule = d.Rule?.Name ?? "(default)";
        }
        Enqueue(record);
    }

    /// <summary>Hands a record to the exporter; false (its spans counted as dropped) when the queue is full.</summary>
    internal bool Enqueue(in ExchangeSpanRecord record)
    {
        int spans = record.SpanCount;
        lock (_gate)
        {
            if (_queuedSpans + spans > _maxQueuedSpans || _count == _ring.Length)
            {
                _dropped += spans;
                return false;
            }
            _ring[(_head + _count) % _ring.Length] = record;
            _count++;
            _queuedSpans += spans;
        }
        return true;
    }

    /// <summary>Moves queued records into <paramref name="batch"/>, at most <paramref name="maxSpans"/> spans (at least one record); returns the count.</summary>
    internal int Take(ExchangeSpanRecord[] batch, int maxSpans, out int spans)
    {
        spans = 0;
        int n = 0;
        lock (_gate)
        {
            while (_count > 0 && n < batch.Length)
            {
                int next = _ring[_head].SpanCount;
                if (n > 0 && spans + next > maxSpans) break;
                batch[n++] = _ring[_head];
                _ring[_head] = default; // drop the string references
                _head = (_head + 1) % _ring.Length;
                _count--;
                _queuedSpans -= next;
                spans += next;
            }
        }
        return n;
    }

    internal void CountExported(int spans) => Interlocked.Add(ref _exported, spans);
    internal void CountFailed(int spans) => Interlocked.Add(ref _failed, spans);

    private static string MethodOf(Exchange ex)
    {
        if (!ex.HasCall) return ex.Request.Method switch { Http.HttpMethod.Get => "GET", Http.HttpMethod.Delete => "DELETE", _ => "POST" };
        return ex.Call.Kind switch
        {
            McpMessageKind.Batch => "batch",
            McpMessageKind.Response or McpMessageKind.ErrorResponse => "response",
            // A method the gateway does not know is the client's text: not a span name (bounded names only).
            _ => ex.Call.Method == McpMethod.Unknown ? "other" : McpMethods.Name(ex.Call.Method),
        };
    }

    /// <summary>The export counters on /metrics (zero while tracing is off, so dashboards and alerts can rely on them).</summary>
    public static void Render(StringBuilder sb, Tracer? tracer)
    {
        Counter(sb, "fastmcp_tracing_spans_exported_total", "spans the OTLP receiver accepted", tracer?.Exported ?? 0);
        Counter(sb, "fastmcp_tracing_spans_dropped_total", "spans dropped because the export queue was full (tracing.maxQueueSize)", tracer?.Dropped ?? 0);
        Counter(sb, "fastmcp_tracing_spans_failed_total", "spans in export requests that failed after their retries (receiver down, refused, timed out)", tracer?.Failed ?? 0);
        sb.Append("# HELP fastmcp_tracing_queue_spans spans waiting for export\n# TYPE fastmcp_tracing_queue_spans gauge\nfastmcp_tracing_queue_spans ")
          .Append(tracer?.QueuedSpans ?? 0).Append('\n');
    }

    private static void Counter(StringBuilder sb, string name, string help, long value) =>
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(" counter\n")
          .Append(name).Append(' ').Append(value).Append('\n');

    /// <summary>Exports what is queued (bounded by tracing.exportTimeoutMs), then stops the exporter.</summary>
    public void Dispose() => _exporter.Dispose();
}
