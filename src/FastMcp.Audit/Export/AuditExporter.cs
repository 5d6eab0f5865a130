using System.Net.Http.Headers;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Export;

/// <summary>
/// Sends records to the SIEM endpoint (audit.export) on its own task, reading them back from the segment files the
/// writer produced, and only those below the writer's durable sequence: the log is the source of truth, so an
/// endpoint that is down only makes the export lag, never a request wait. At least once: the cursor moves only
/// after a 2xx, so a POST cut short is sent again (the SIEM deduplicates on chain, segment and seq).
/// </summary>
public sealed class AuditExporter : IAsyncDisposable
{
    private static readonly MediaTypeHeaderValue NdjsonType = new("application/x-ndjson");
    private static readonly MediaTypeHeaderValue JsonType = new("application/json");

    private readonly AuditExportOptions _options;
    private readonly IAuditFileSystem _fs;
    private readonly string _chainDir;
    private readonly string _chain;
    private readonly Func<long> _durableSequence;
    private readonly Action<string>? _onProblem;
    private readonly ExportCursor _cursor;
    private readonly ExportBatch _batch;
    private readonly HttpClient _http;
    private readonly AuthenticationHeaderValue? _authorization;
    private readonly SegmentTailReader _tail = new();
    private readonly CancellationTokenSource _stop = new();
    // Sealed segments read to their end (their last sequence), until they are complete.
    private readonly List<(long Index, long LastSequence)> _sealedEnds = new();
    private readonly List<(long Index, long LastSequence)> _pendingSealedEnds = new();
    // Where the next pass reads on: the segment, the offset past its last frame whose records are all acknowledged,
    // and that segment's last sequence before it. The pending position becomes it once the batch holding those
    // records is acknowledged (a failed POST reads them again).
    private long _readIndex, _readOffset, _readLast = -1;
    private long _pendingIndex, _pendingOffset, _pendingLast = -1;
    private bool _pendingSet;
    private Task _loop = Task.CompletedTask;
    private bool _started;
    private long _exported, _failedPosts, _next, _completeThrough, _lastSuccess;
    private bool _failing;
    private long _reportedGapAt = -1;

    public AuditExporter(AuditExportOptions options, IAuditFileSystem fs, string chainDir, string chain, Func<long> durableSequence, Action<string>? onProblem)
    {
        _options = options;
        _fs = fs;
        _chainDir = chainDir;
        _chain = chain;
        _durableSequence = durableSequence;
        _onProblem = onProblem;
        _cursor = ExportCursor.Load(fs, chainDir);
        _next = _cursor.NextSequence;
        _completeThrough = _cursor.CompleteThrough;
        _batch = new ExportBatch(options.Format, chain);
        string? token = options.ReadToken();
        if (token is not null) _authorization = new AuthenticationHeaderValue(options.Format == AuditExportOptions.SplunkHec ? "Splunk" : "Bearer", token);
        // The trust is loaded before the handler exists: a caFile that fails here leaves no handler behind.
        System.Security.Cryptography.X509Certificates.X509ChainPolicy? privateCa = options.LoadCaPolicy();
        // A redirect is not followed: the log goes only to the configured endpoint, and only its own 2xx acknowledges.
        _http = new HttpClient(FastMcp.Http.PrivateCaTrust.Apply(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AllowAutoRedirect = false }, privateCa))
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>Records the endpoint acknowledged since start.</summary>
    public long ExportedRecords => Interlocked.Read(ref _exported);
    /// <summary>POSTs that failed (refused, non-2xx, timed out) since start.</summary>
    public long FailedPosts => Interlocked.Read(ref _failedPosts);
    /// <summary>The first sequence not yet acknowledged.</summary>
    public long CursorSequence => Interlocked.Read(ref _next);
    /// <summary>Durable records not yet acknowledged.</summary>
    public long LagRecords => Math.Max(0, _durableSequence() - CursorSequence);
    /// <summary>Unix seconds of the last acknowledged POST (0: none since start).</summary>
    public long LastSuccessUnixSeconds => Interlocked.Read(ref _lastSuccess);
    /// <summary>Why the last pass stopped short, or null.</summary>
    public string? LastError { get; private set; }

    /// <summary>Whether every record of sealed segment <paramref name="index"/> is acknowledged (shipping may delete it only then).</summary>
    public bool IsExported(long index) => index <= Interlocked.Read(ref _completeThrough);

    public void Start()
    {
        _started = true;
        _loop = Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        int backoff = _options.FlushMs;
        while (!token.IsCancellationRequested)
        {
            bool ok;
            try
            {
                ok = await ExportPendingAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LastError = FastMcp.Http.PlainError.Describe(e);
                ok = false;
            }
            ReportHealth(ok);
            int delay = _options.FlushMs;
            if (!ok)
            {
                // Doubling backoff: a SIEM that is down is not hammered, and comes back to at most MaxBackoffMs of lag.
                delay = backoff;
                backoff = (int)Math.Min((long)backoff * 2, _options.MaxBackoffMs);
            }
            else backoff = _options.FlushMs;
            // FlushMs is the batching window: records made durable meanwhile go in the next pass's POSTs.
            try { await Task.Delay(delay, token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>One pass: every durable record past the cursor, in batches; false when a POST or a segment read failed (retried after a backoff).</summary>
    private async Task<bool> ExportPendingAsync(CancellationToken ct)
    {
        long durable = _durableSequence();
        long first = Math.Max(_cursor.Segment, _readIndex);
        var segments = new List<(long Index, bool Sealed, string Name)>();
        foreach (var name in _fs.ListFileNames(_chainDir))
        {
            // Complete segments are skipped: shipping may be deleting them.
            if (SegmentNames.TryParse(name, out long index, out bool sealed_) && index >= first && index > _cursor.CompleteThrough)
                segments.Add((index, sealed_, name));
        }
        segments.Sort((a, b) => a.Index.CompareTo(b.Index));
        _batch.Clear();
        _pendingSealedEnds.Clear();
        _pendingSet = false;
        foreach (var (index, sealed_, name) in segments)
        {
            // An .open segment gives nothing until a record past the cursor is durable (its sealing shows in the listing).
            if (!sealed_ && durable <= Interlocked.Read(ref _next)) break;
            bool resume = index == _readIndex;
            long segmentLast = resume ? _readLast : -1;
            bool reachedDurable = false;
            try
            {
                // A segment sealed and renamed since the last pass holds the same bytes up to its seal: read on at the same offset.
                _tail.Open(_fs, Path.Combine(_chainDir, name), resume ? _readOffset : 0, sealed_);
                while (!reachedDurable)
                {
                    var status = _tail.Next(out var frame, out string? error);
                    if (status == FrameReadStatus.End) break;
                    if (status != FrameReadStatus.Ok)
                    {
                        // The open segment's tail may be a frame still being written; a sealed segment must read whole.
                        if (!sealed_) break;
                        throw new InvalidDataException($"segment {name} cannot be read ({error}); records after it are not exported until it can");
                    }
                    if (frame.Header.Kind != FrameKind.Records) continue;
                    // The payload stays valid until the next frame is read: a full batch is posted and the frame resumed.
                    int from = 0;
                    while ((from = Fill(index, name, frame.Payload, frame.Header.RecordCount, from, durable, ref segmentLast, out reachedDurable)) >= 0)
                    {
                        if (!await PostAsync(ct).ConfigureAwait(false)) return false;
                    }
                    if (reachedDurable) break;
                    // A records frame read whole holds durable records only, so every frame before it is final too
                    // (a checkpoint frame after the last durable record could still be cut back: it is read again).
                    SetPending(index, _tail.FrameEnd, segmentLast);
                }
            }
            catch (FileNotFoundException) when (!sealed_)
            {
                // Sealed and renamed since the listing: the next pass reads it as .seg.
                break;
            }
            if (reachedDurable || !sealed_) break;
            _pendingSealedEnds.Add((index, segmentLast));
            SetPending(index + 1, 0, -1);
        }
        if (_batch.Count > 0 && !await PostAsync(ct).ConfigureAwait(false)) return false;
        if (AdvanceComplete()) _cursor.Save(_fs, _chainDir);
        return true;
    }

    /// <summary>Notes how far this pass has read; it becomes the read position as soon as no record read is unacknowledged.</summary>
    private void SetPending(long index, long offset, long last)
    {
        _pendingIndex = index;
        _pendingOffset = offset;
        _pendingLast = last;
        _pendingSet = true;
        if (_batch.Count == 0) CommitReadPosition();
    }

    private void CommitReadPosition()
    {
        if (_pendingSet)
        {
            _readIndex = _pendingIndex;
            _readOffset = _pendingOffset;
            _readLast = _pendingLast;
            _pendingSet = false;
        }
        foreach (var end in _pendingSealedEnds) _sealedEnds.Add(end);
        _pendingSealedEnds.Clear();
    }

    /// <summary>
    /// Adds the records of one frame from record <paramref name="start"/> on; the index to resume at when the batch
    /// filled up, or -1 when the frame is done or a record is not durable yet (<paramref name="reachedDurable"/>).
    /// </summary>
    private int Fill(long index, string name, ReadOnlyMemory<byte> payload, int count, int start, long durable, ref long segmentLast, out bool reachedDurable)
    {
        reachedDurable = false;
        var records = new RecordIterator(payload.Span);
        for (int i = 0; i < count; i++)
        {
            if (!records.TryNext(out var body, out _, out string? error))
                throw new InvalidDataException($"segment {name}: {error}; records after it are not exported until it can be read");
            if (i < start) continue;
            long sequence = RecordLayout.ReadSequence(body);
            segmentLast = sequence;
            long expected = _batch.Count > 0 ? _batch.LastSequence + 1 : Interlocked.Read(ref _next);
            if (sequence < expected) continue;
            if (sequence >= durable) { reachedDurable = true; return -1; }
            if (sequence > expected && _reportedGapAt != expected)
            {
                // Not local any more (deleted before the export was configured): nothing can send them; said once.
                _reportedGapAt = expected;
                Report($"audit export: records {expected}..{sequence - 1} of chain {_chain} are no longer in {_chainDir} and cannot be exported; continuing at {sequence}");
            }
            _batch.Add(index, body);
            if (_batch.Count >= _options.BatchRecords) return i + 1;
        }
        return -1;
    }

    /// <summary>Sealed segments read to their end whose last record is acknowledged are complete; true when that moved.</summary>
    private bool AdvanceComplete()
    {
        long next = Interlocked.Read(ref _next);
        bool moved = false;
        int done = 0;
        foreach (var (index, last) in _sealedEnds)
        {
            if (index <= _cursor.CompleteThrough) { done++; continue; }
            if (last >= next) break;
            _cursor.CompleteThrough = index;
            moved = true;
            done++;
        }
        _sealedEnds.RemoveRange(0, done);
        if (moved) Interlocked.Exchange(ref _completeThrough, _cursor.CompleteThrough);
        return moved;
    }

    private async Task<bool> PostAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.TimeoutMs);
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Url);
        request.Headers.Authorization = _authorization;
        request.Content = new ReadOnlyMemoryContent(_batch.Body);
        request.Content.Headers.ContentType = _options.Format == AuditExportOptions.SplunkHec ? JsonType : NdjsonType;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref _failedPosts);
                LastError = $"the endpoint answered {(int)response.StatusCode}";
                return false;
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            Interlocked.Increment(ref _failedPosts);
            LastError = e is OperationCanceledException ? $"no answer within {_options.TimeoutMs} ms" : FastMcp.Http.PlainError.Describe(e);
            return false;
        }
        // Acknowledged: the cursor moves (durably) before anything else is sent.
        _cursor.NextSequence = _batch.LastSequence + 1;
        _cursor.Segment = _batch.LastSegment;
        Interlocked.Exchange(ref _next, _cursor.NextSequence);
        int acknowledged = _batch.Count;
        _batch.Clear();
        CommitReadPosition();
        AdvanceComplete();
        _cursor.Save(_fs, _chainDir);
        Interlocked.Add(ref _exported, acknowledged);
        Interlocked.Exchange(ref _lastSuccess, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        return true;
    }

    /// <summary>The first failure and the recovery are reported, not every retry (the log stays readable while the SIEM is down).</summary>
    private void ReportHealth(bool ok)
    {
        if (ok)
        {
            if (_failing) Report($"audit export: working again; {LagRecords} record(s) behind (chain {_chain})");
            _failing = false;
            LastError = null;
            return;
        }
        if (!_failing) Report($"audit export: failing ({LastError}); records stay in the log and are sent when {Endpoint} answers again (chain {_chain})");
        _failing = true;
    }

    // Scheme, host and path only: userinfo or a query could carry a credential, which is never logged.
    private string Endpoint => Uri.TryCreate(_options.Url, UriKind.Absolute, out var u) ? u.Scheme + "://" + u.Authority + u.AbsolutePath : "the endpoint";

    private void Report(string message)
    {
        try { _onProblem?.Invoke(message); }
        catch (Exception) { /* a logger must not stop the export */ }
    }

    /// <summary>How long the last attempt at a graceful stop may take to send what is durable (the stop record among it).</summary>
    public static readonly TimeSpan FinalAttempt = TimeSpan.FromSeconds(2);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _loop.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        if (_started)
        {
            // One bounded pass after the writer's last record (AuditStopped) is durable, so it need not wait for the next start;
            // whatever it cannot send stays in the log behind the cursor.
            using var limit = new CancellationTokenSource(FinalAttempt);
            try { await ExportPendingAsync(limit.Token).ConfigureAwait(false); }
            catch (Exception e)
            {
                LastError = FastMcp.Http.PlainError.Describe(e);
            }
        }
        _http.Dispose();
        _tail.Dispose();
        _stop.Dispose();
    }
}
