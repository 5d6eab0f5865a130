using System.Diagnostics;
using System.Net.Http.Headers;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Tracing;

/// <summary>
/// The OTLP/HTTP exporter: a background thread that takes the tracer's queued spans in batches (a full
/// tracing.maxExportBatchSize, or whatever waited tracing.scheduleDelayMs), encodes them as protobuf into a kept
/// buffer and POSTs them (Content-Type application/x-protobuf) to tracing.otlpEndpoint. A receiver that answers
/// 429, 502, 503 or 504, or cannot be reached, is retried a bounded number of times with growing backoff (or its
/// Retry-After, capped); then the batch counts as failed. Nothing here runs on the data path: while this thread
/// waits on a slow or absent receiver, the queue fills and new spans are dropped and counted.
/// </summary>
internal sealed class OtlpExporter : IDisposable
{
    private const int MaxAttempts = 3;
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private static readonly MediaTypeHeaderValue Protobuf = new("application/x-protobuf");

    private readonly Tracer _tracer;
    private readonly Uri _endpoint;
    private readonly int _maxBatchSpans;
    private readonly int _scheduleDelayMs;
    private readonly TimeSpan _timeout;
    private readonly HttpClient _http;
    private readonly OtlpTraceEncoder _encoder;
    private readonly ProtobufWriter _writer = new();
    private readonly ExchangeSpanRecord[] _batch;
    private readonly Thread _thread;
    // Stop: flush what is queued and end. Abort: cut a flush short (the last export's deadline passed).
    private readonly ManualResetEventSlim _wake = new();
    private readonly CancellationTokenSource _abort = new();
    private volatile bool _stopping;
    private bool _warned;
    // A receiver that fails every other batch would log an outage and a recovery per batch: changes of state at most once per interval.
    private readonly Hosting.ThrottledWarning _changeLine = new(Hosting.LogRateLimit.IntervalMs);

    public OtlpExporter(Tracer tracer, TracingOptions options, string scopeVersion)
    {
        _tracer = tracer;
        _endpoint = new Uri(options.OtlpEndpoint);
        _maxBatchSpans = options.MaxExportBatchSize;
        _scheduleDelayMs = options.ScheduleDelayMs;
        _timeout = TimeSpan.FromMilliseconds(options.ExportTimeoutMs);
        // No redirect is followed: a 307 would resend the batch (span attributes, the upstreams' names) to wherever it points.
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30), UseProxy = false, AllowAutoRedirect = false })
        {
            Timeout = Timeout.InfiniteTimeSpan, // each attempt has its own deadline
        };
        _encoder = new OtlpTraceEncoder(options.ServiceName, scopeVersion);
        _batch = new ExchangeSpanRecord[options.MaxExportBatchSize];
        _thread = new Thread(Run) { IsBackground = true, Name = "fastmcp otlp export" };
        _thread.Start();
    }

    private void Run()
    {
        long lastExport = Stopwatch.GetTimestamp();
        while (true)
        {
            bool stopping = _stopping;
            int queued = _tracer.QueuedSpans;
            // Polled, not signalled: the data path only copies a record into the ring and never wakes anyone.
            if (queued >= _maxBatchSpans || (queued > 0 && (stopping || Stopwatch.GetElapsedTime(lastExport).TotalMilliseconds >= _scheduleDelayMs)))
            {
                try
                {
                    ExportOnce();
                }
                catch (Exception e)
                {
                    // Tracing must never take the gateway down: a batch that cannot be encoded or sent is lost and counted.
                    Log.Error($"tracing: export failed unexpectedly ({e.GetType().Name}); the batch is lost");
                }
                lastExport = Stopwatch.GetTimestamp();
                continue;
            }
            if (stopping) return;
            _wake.Wait(Math.Min(20, _scheduleDelayMs));
        }
    }

    private void ExportOnce()
    {
        int records = _tracer.Take(_batch, _maxBatchSpans, out int spans);
        if (records == 0) return;
        bool sent = false;
        try
        {
            _encoder.Encode(_writer, _batch.AsSpan(0, records));
            Array.Clear(_batch, 0, records); // drop the string references
            sent = Send();
        }
        finally
        {
            if (sent) _tracer.CountExported(spans);
            else _tracer.CountFailed(spans);
        }
    }

    /// <summary>POSTs the encoded batch: true when the receiver took it (2xx).</summary>
    private bool Send()
    {
        for (int attempt = 1; ; attempt++)
        {
            TimeSpan backoff = TimeSpan.FromMilliseconds(100 << attempt);
            string problem;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
                {
                    Content = new ByteArrayContent(_writer.Buffer, 0, _writer.Length) { Headers = { ContentType = Protobuf } },
                };
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
                deadline.CancelAfter(_timeout);
                using HttpResponseMessage response = _http.Send(request, HttpCompletionOption.ResponseContentRead, deadline.Token);
                if (response.IsSuccessStatusCode)
                {
                    if (_warned && _changeLine.TryTake(out int held))
                        Log.Info($"tracing: the OTLP receiver at {_endpoint} takes spans again" + Hosting.LogRateLimit.Held(held, "changes of state"));
                    _warned = false;
                    return true;
                }
                int status = (int)response.StatusCode;
                if (FastMcp.Http.RedirectRefusal.IsRedirect(response.StatusCode)) return Failed($"answered {status} (a redirect), and redirects are not followed");
                problem = $"answered {status}";
                // OTLP/HTTP: only these are worth retrying; anything else is a batch the receiver will never take.
                if (status is not (429 or 502 or 503 or 504)) return Failed(problem);
                if (response.Headers.RetryAfter?.Delta is TimeSpan after) backoff = after < MaxBackoff ? after : MaxBackoff;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException or ObjectDisposedException)
            {
                if (_abort.IsCancellationRequested) return Failed("the gateway stopped during the export");
                problem = e is OperationCanceledException ? $"no answer within {(int)_timeout.TotalMilliseconds} ms" : $"unreachable ({Describe(e)})";
            }
            if (attempt == MaxAttempts) return Failed(problem);
            if (_abort.Token.WaitHandle.WaitOne(backoff)) return Failed("the gateway stopped during the export");
        }
    }

    private bool Failed(string problem)
    {
        // Once per outage, not once per batch.
        if (!_warned && _changeLine.TryTake(out int held))
            Log.Warn($"tracing: exporting spans to {_endpoint} failed: {problem}; spans are counted in fastmcp_tracing_spans_failed_total until it recovers"
                + Hosting.LogRateLimit.Held(held, "changes of state"));
        _warned = true;
        return false;
    }

    private static string Describe(Exception e) =>
        e.InnerException is System.Net.Sockets.SocketException s ? s.SocketErrorCode.ToString() : e.GetType().Name;

    /// <summary>Exports what is queued, within one export's timeout (tracing.exportTimeoutMs), then stops.</summary>
    public void Dispose()
    {
        _stopping = true;
        _wake.Set();
        _abort.CancelAfter(_timeout);
        _thread.Join(_timeout + TimeSpan.FromSeconds(2));
        _http.Dispose();
        _writer.Dispose();
    }
}
