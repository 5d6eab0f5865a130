using System.Buffers.Binary;
using System.Security.Cryptography;
using FastMcp.Audit.Anchoring;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Shipping;
using FastMcp.Audit.Storage;

using FastMcp.Audit.Recording;

namespace FastMcp.Audit;

/// <summary>
/// The tamper-evident audit log of one chain. Callers serialize events into a pending batch under a
/// short lock; one writer loop frames, compresses, appends and fsyncs whole batches (group commit),
/// then resumes the batch's waiters with one hand-off per socket loop they named, or one thread-pool work item (<see cref="GroupCompletion"/>). Any write failure fails closed until a retry succeeds,
/// and the outage is recorded.
/// </summary>
public sealed class AuditLog : IAsyncDisposable
{
    private readonly AuditOptions _options;
    private readonly IAuditFileSystem _fs;
    private readonly AuditSigner _signer;
    private readonly string _chainDir;
    private readonly AuditRecordSerializer _serializer;
    // The time text of the record composed last (under _gate): the next one in the same second copies its date and second.
    private readonly RecordTimeText _timeText = new();
    private readonly RecordScratchPool _scratch;
    private readonly object _gate = new();
    private readonly WriterStatistics _statistics = new();
    private readonly AuditEvent _internalEvent = new();
    private readonly SegmentShipper? _shipper;
    private readonly Export.AuditExporter? _exporter;
    // Records with a lower sequence are written and fsynced: the exporter sends nothing past it.
    private long _durableSequence;
    private readonly CheckpointPublisher? _anchors;
    private PendingBatch _pending = new();
    private PendingBatch _writing = new();
    private ActiveSegment _active;
    private long _nextSequence;
    private volatile bool _writable = true;
    private volatile bool _closed;
    // Guarded by _gate: the writer sleeps in Monitor.Wait(_gate) (no spinning) and appenders pulse it only when it does.
    private bool _writerSleeping;
    private bool _stopRequested;
    private long _lastCheckpointTicks;
    private Task _loop = Task.CompletedTask;
    private long _outageStartMicros;
    private string? _outageError;
    private long _refusedDuringOutage;
    // Batched durability: records answered (queued) that the failed write took with it, first sequence and count.
    // Guarded by _gate; recorded in the AuditOutage record, then cleared.
    private long _lostFirstSequence;
    private long _lostRecords;
    // AppendCheckpointedAsync: appends that complete only once a signed checkpoint covers their record, oldest first.
    // Guarded by _gate; empty on the data path, which never adds to it.
    private readonly List<CheckpointWaiter> _checkpointWaiters = new();
    // Its count, written under _gate, read by the writer loop without taking the lock.
    private int _checkpointsWaiting;

    private readonly record struct CheckpointWaiter(long Sequence, TaskCompletionSource<long> Done);

    // Batched durability's bound on what is answered and not yet durable (audit.batchedMaxPendingBytes); null in Strict,
    // where every append waits for its own flush and the queue is bounded by the exchanges waiting.
    private readonly PendingBound? _bound;
    // Bytes of records answered and not yet durable: the pending batch and the one the writer is writing (what
    // batchedFlushBytes counts: records and their length prefixes). Written under _gate; read without it for /metrics.
    private long _unwrittenBytes;
    // The append's one compare: a record goes straight into the batch while _unwrittenBytes is below this. The bound
    // while nobody waits; 0 while appends wait for room (they go first, oldest first); long.MaxValue without a bound.
    private long _admitBelow = long.MaxValue;
    // Refuses the appends that waited for room past audit.batchedMaxPendingWait; made at the first wait.
    private Timer? _waitTimer;
    // The writer's: waiting appends it admitted under _gate, resumed once it let go of the lock.
    private List<AppendWaiter> _admitted = new();
    // The timer's: waiting appends refused under _gate (failures go to the thread pool, never inline).
    private List<AppendWaiter> _expired = new();
    // A line about the bound's episode for OnProblem, said by the writer once it let go of the lock.
    private string? _boundNote;

    /// <summary>False while the log cannot be written (fail closed); flips back once a retry succeeds.</summary>
    public bool IsWritable => _writable && !_closed;

    /// <summary>The folder this chain's segments are written to.</summary>
    public string ChainDirectory => _chainDir;

    /// <summary>What opening the chain found: crash recovery, tampering (also recorded as AuditTampering), or a clean start.</summary>
    public AuditStartReport StartReport { get; private init; } = new();

    /// <summary>Group-commit figures for /metrics: fsyncs, records made durable, fsync latency, queue depth.</summary>
    public WriterStatistics Statistics => _statistics;

    /// <summary>Records appended and not yet written and flushed (the pending batch plus the one being written); racy, for a gauge.</summary>
    public long QueueDepth => Volatile.Read(ref _pending.Count) + _statistics.InFlight;

    /// <summary>Bytes of records answered and not yet durable (queued, or being written and flushed), for a gauge.</summary>
    public long PendingBytes => Volatile.Read(ref _unwrittenBytes);

    /// <summary>Batched durability's bound on <see cref="PendingBytes"/> (audit.batchedMaxPendingBytes); 0 in Strict, which has none.</summary>
    public long PendingBytesLimit => _bound?.Limit ?? 0;

    /// <summary>Appends that found <see cref="PendingBytes"/> at its bound and waited for the writer.</summary>
    public long PendingWaits => _bound?.Waits ?? 0;

    /// <summary>Appends refused because <see cref="PendingBytes"/> stayed at its bound (the caller answers as in an outage).</summary>
    public long PendingRefused => _bound?.Refused ?? 0;

    /// <summary>The shipper, when shipping is configured.</summary>
    public SegmentShipper? Shipper => _shipper;

    /// <summary>The live export to a SIEM endpoint (audit.export), or null.</summary>
    public Export.AuditExporter? Exporter => _exporter;

    /// <summary>Every record with a lower sequence is durable in the segment files.</summary>
    public long DurableSequence => Volatile.Read(ref _durableSequence);

    /// <summary>Publishes checkpoints outside the host, when configured (options.Anchoring).</summary>
    public CheckpointPublisher? Anchors => _anchors;

    /// <summary>The chain this log writes (AuditOptions.ChainId).</summary>
    public string ChainId => _options.ChainId;

    /// <summary>The index of the segment being written now (racy: rotation replaces it).</summary>
    public long CurrentSegment => _active.Index;

    /// <summary>
    /// Records of <paramref name="type"/> in this chain's newest sealed segments (not the one being written), newest segment
    /// first, read from the local folder or, for a segment shipping removed, from the shipping store, each verified against
    /// its seal with the chain's keys before any of its records is handed over; stops after the first segment holding one or
    /// after <paramref name="maxSegments"/> (Verification.TailRecordSearch). A segment that does not verify or cannot be
    /// read ends the search with its reason.
    /// </summary>
    public async Task<Verification.TailSearchResult> SearchTailAsync(AuditEventType type, int maxSegments, Verification.SegmentWalk.RecordVisitor visit, CancellationToken ct = default)
    {
        long current = _active.Index;
        try
        {
            using var keys = ChainKeys.Load(_signer.PublicKey, _options.PreviousPublicKeys);
            return await Verification.TailRecordSearch.RunAsync(_fs, _chainDir, _options.ChainId, keys, _shipper?.Store, type, current, maxSegments, visit, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or HttpRequestException or TaskCanceledException)
        {
            return new Verification.TailSearchResult(0, null, $"cannot read the chain's segments: {FastMcp.Http.PlainError.Describe(e)}");
        }
    }

    // Held while the log is open (one writer per chain); released last on dispose.
    private ChainWriterLock? _writerLock;

    private AuditLog(AuditOptions options, IAuditFileSystem fs, AuditSigner signer, string chainDir, ActiveSegment active)
    {
        _options = options;
        _serializer = new AuditRecordSerializer(options.FieldMasker);
        _scratch = new RecordScratchPool(options.FieldMasker);
        _fs = fs;
        _signer = signer;
        _chainDir = chainDir;
        _active = active;
        _nextSequence = active.NextSequence;
        _lastCheckpointTicks = Environment.TickCount64;
        if (options.Durability == AuditDurability.Batched)
        {
            _bound = new PendingBound(options.BatchedMaxPendingBytes, options.BatchedMaxPendingWait);
            _admitBelow = _bound.Limit;
        }
        try
        {
            if (options.Export is { } export)
                _exporter = new Export.AuditExporter(export, fs, chainDir, options.ChainId, () => DurableSequence, options.OnProblem);
            if (options.Shipping is { } shipping)
            {
                _shipper = CreateShipper(shipping, fs, chainDir, options, signer);
                // A shipped segment stays local until the SIEM has all of it: the exporter reads only local segments.
                if (_exporter is { } exporter) _shipper.MayDeleteLocal = exporter.IsExported;
            }
            _anchors = CheckpointPublisher.Create(options);
        }
        catch
        {
            ReleaseUnstarted();
            throw;
        }
    }

    /// <summary>The shipper and its store; the store is released when the chain's keys do not load.</summary>
    private static SegmentShipper CreateShipper(ShippingOptions shipping, IAuditFileSystem fs, string chainDir, AuditOptions options, AuditSigner signer)
    {
        ISegmentStore store = SegmentStores.Create(shipping);
        try
        {
            return new SegmentShipper(store, fs, chainDir, options.ChainId, ChainKeys.Load(signer.PublicKey, options.PreviousPublicKeys), shipping);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Releases the exporter, shipper and publisher of a log whose opening failed: HTTP clients (the SIEM's, the
    /// store's, the witness's), the store and the chain's keys. None is started yet, so each disposal completes at once
    /// and sends nothing.
    /// </summary>
    private void ReleaseUnstarted()
    {
        _exporter?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _shipper?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _anchors?.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    public static Task<AuditLog> OpenAsync(AuditOptions options, CancellationToken ct = default) =>
        OpenAsync(options, PhysicalAuditFileSystem.Instance, ct);

    /// <summary>
    /// Opens the chain: refuses a chain behind its newest published checkpoint, seals any segment a
    /// crash left open (as recovered), starts a new segment and records AuditStarted durably.
    /// </summary>
    public static async Task<AuditLog> OpenAsync(AuditOptions options, IAuditFileSystem fileSystem, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        options.Validate();
        return await OpenAsync(options, fileSystem, AuditSigner.FromPemFile(options.SigningKeyPath), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The same with the signing key the caller already loaded from <see cref="AuditOptions.SigningKeyPath"/> (the
    /// gateway's custody check does), so the start reads and parses the key file once. The log owns
    /// <paramref name="signer"/> from here on: it is disposed with the log, or at once when opening fails.
    /// </summary>
    public static Task<AuditLog> OpenAsync(AuditOptions options, AuditSigner signer, CancellationToken ct = default) =>
        OpenAsync(options, PhysicalAuditFileSystem.Instance, signer, ct);

    /// <inheritdoc cref="OpenAsync(AuditOptions, AuditSigner, CancellationToken)"/>
    public static async Task<AuditLog> OpenAsync(AuditOptions options, IAuditFileSystem fileSystem, AuditSigner signer, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(signer);
        try
        {
            ct.ThrowIfCancellationRequested();
            options.Validate();
            await ChainAnchorCheck.EnsureNotBehindAsync(options, fileSystem, signer.PublicKey, ct).ConfigureAwait(false);
        }
        catch
        {
            signer.Dispose();
            throw;
        }
        return Open(options, fileSystem, signer);
    }

    /// <summary>Opens the chain with <paramref name="signer"/>, which it owns (disposed here when opening fails).</summary>
    private static AuditLog Open(AuditOptions options, IAuditFileSystem fileSystem, AuditSigner signer)
    {
        ChainWriterLock? writerLock = null;
        ActiveSegment? active = null;
        AuditLog? log = null;
        try
        {
            string chainDir = Path.Combine(options.Directory, options.ChainId);
            fileSystem.CreateDirectory(chainDir);
            // Before anything is read: a second writer would take the first one's live segment for a crash.
            writerLock = ChainWriterLock.Acquire(chainDir, options.ChainId);
            OpenSegmentRecovery.Outcome recovery;
            using (var keys = ChainKeys.Load(signer.PublicKey, options.PreviousPublicKeys))
                recovery = OpenSegmentRecovery.Run(fileSystem, chainDir, options.ChainId, signer, keys, options.CompressionLevel, NowMicros());
            var header = new SegmentHeader(options.ChainId, recovery.Index, recovery.FirstSequence, NowMicros(), (long)options.CheckpointInterval.TotalMilliseconds,
                signer.KeyId, recovery.PrevSeal, recovery.PrevHead, recovery.Start);
            // Written, not flushed: the first checkpoint below makes the header, the first reserve step, the records
            // before it and the checkpoint frame durable in one fdatasync, then the segment's name (docs/audit-format.md §8).
            active = ActiveSegment.Create(fileSystem, chainDir, signer, options.CompressionLevel, header, options.MaxSegmentBytes, durable: false);
            log = new AuditLog(options, fileSystem, signer, chainDir, active) { StartReport = recovery.Report, _writerLock = writerLock };
            var started = log._internalEvent;
            if (recovery.Report.Tampering is { } tampering)
            {
                // Recorded before anything else in the new segment, so the first signed checkpoint covers it.
                started.Reset();
                started.Type = AuditEventType.AuditTampering;
                started.Success = false;
                started.Subject = "fastmcp";
                started.Detail = $"tampering found at start: {tampering}; evidence kept unsigned: {string.Join(", ", recovery.Report.Evidence)}";
                log.EnqueueInternal(started);
            }
            started.Reset();
            started.Type = AuditEventType.AuditStarted;
            started.Success = true;
            started.Subject = "fastmcp";
            started.Detail = $"audit started; segment {recovery.Index}, durability {options.Durability}; {recovery.Report.Summary}";
            log.EnqueueInternal(started);
            // One flush for the segment (header, AuditTampering, AuditStarted, the checkpoint frame), one folder sync
            // for its name, then the checkpoint object (its own fsync and the folder's). Until the object is replaced
            // the previous one names an older state, and a crash before the segment's flush leaves nothing that counts:
            // recovery finds a consistent log at every point (RecoveryCrashPointTests).
            log.WritePending(flush: false);
            log.WriteCheckpoint();
            log._statistics.Synced((int)active.RecordCount, active.LastFlushTicks);
            Volatile.Write(ref log._durableSequence, active.NextSequence);
        }
        catch
        {
            // Nothing started: what was opened is released here, or a failed start (a full disk) would keep the new
            // segment's file handle and the background parts' HTTP clients for the life of the process.
            log?.ReleaseUnstarted();
            active?.Dispose();
            writerLock?.Dispose();
            signer.Dispose();
            throw;
        }
        log._loop = log.StartWriterThread();
        log._shipper?.Start();
        log._exporter?.Start();
        log._anchors?.Start();
        return log;
    }

    /// <summary>
    /// Serializes <paramref name="e"/> now (it may be reused as soon as this returns) and completes when the
    /// record is durable (Strict) or queued (Batched; at BatchedMaxPendingBytes after waiting for room, or refused). Throws <see cref="AuditUnavailableException"/> when the
    /// log cannot be written: the caller must not forward the request.
    /// </summary>
    public ValueTask<long> AppendAsync(AuditEvent e, CancellationToken ct = default) =>
        Append(e, waitForDurability: _options.Durability == AuditDurability.Strict);

    /// <summary>
    /// As <see cref="AppendAsync(AuditEvent, CancellationToken)"/>; in Strict durability the caller resumes on
    /// <paramref name="resumeOn"/>'s thread once the record is durable (null: on the thread pool). A refusal (the log
    /// not writable, the write or fdatasync failed) still completes on the thread pool.
    /// </summary>
    public ValueTask<long> AppendAsync(AuditEvent e, IAppendResumeTarget? resumeOn) =>
        Append(e, waitForDurability: _options.Durability == AuditDurability.Strict, resumeOn: resumeOn);

    /// <summary>
    /// Serializes <paramref name="e"/> now and completes, in either durability mode, only once the record is written,
    /// flushed and covered by a signed checkpoint (a checkpoint frame in the segment and the <c>checkpoint</c> object, both
    /// durable), which the writer makes for it at once instead of at the next interval. For the rare records whose loss or
    /// removal must not pass for a crash's torn tail (docs/audit-format.md §8): from then on, cutting the record out of the
    /// open segment contradicts a signed statement and is found as tampering at the next start. Appends made meanwhile
    /// share its write and are not slowed beyond it. Throws <see cref="AuditUnavailableException"/> when the log cannot
    /// take the record or the write or checkpoint fails (the record may then be durable without a checkpoint over it).
    /// </summary>
    public ValueTask<long> AppendCheckpointedAsync(AuditEvent e) => Append(e, waitForDurability: true, checkpoint: true);

    /// <summary>
    /// Serializes <paramref name="e"/> and queues it for the writer without waiting for it to be durable, in either
    /// durability mode: for records a live event stream must not wait for (a server request relayed mid-stream). Returns
    /// the record's sequence; throws <see cref="AuditUnavailableException"/> when the log cannot take it.
    /// </summary>
    public long AppendQueued(AuditEvent e)
    {
        // It cannot wait for room under the bound either: a full queue refuses it at once.
        ValueTask<long> queued = Append(e, waitForDurability: false, mayWait: false);
        // Without a waiter the append completes before returning: its sequence, or the refusal (thrown here).
        return queued.IsCompletedSuccessfully ? queued.Result : queued.AsTask().GetAwaiter().GetResult();
    }

    private ValueTask<long> Append(AuditEvent e, bool waitForDurability, bool checkpoint = false, IAppendResumeTarget? resumeOn = null, bool mayWait = true)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (!_writable || _closed) return Refuse();
        long time = e.TimestampUtc == default ? NowMicros() : NoteValues.ToUnixMicros(e.TimestampUtc.Kind == DateTimeKind.Local ? e.TimestampUtc.ToUniversalTime() : e.TimestampUtc);
        bool strict = waitForDurability;
        AppendWaiter? waiter = null;
        TaskCompletionSource<long>? covered = null;
        long seq;
        // Everything but the sequence and time is serialized (and masked) before taking the lock; under it the
        // record is only composed, a copy.
        RecordScratch scratch = _scratch.Rent();
        // A record that waits for room keeps its scratch until it is admitted or refused.
        bool waiting = false;
        string? episodeNote = null;
        try
        {
            try
            {
                scratch.Serializer.WriteFields(scratch.Fields, e);
            }
            catch (AuditUnavailableException tooLarge)
            {
                // A record over the format's limit even with its payloads truncated: this exchange is refused, the log stays writable.
                return ValueTask.FromException<long>(tooLarge);
            }
            lock (_gate)
            {
                if (!_writable || _closed) return Refuse();
                // Batched: at its bound (or behind appends already waiting), the record waits for the writer or is refused.
                if (_unwrittenBytes >= _admitBelow)
                    return WaitForRoom(scratch, e.Type, time, checkpoint, resumeOn, mayWait, out waiting, out episodeNote);
                seq = EnqueueComposed(scratch.Fields.WrittenSpan, e.Type, time);
                if (checkpoint)
                {
                    // Completed by the writer after the checkpoint (never inline on its thread).
                    covered = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                    _checkpointWaiters.Add(new CheckpointWaiter(seq, covered));
                    Volatile.Write(ref _checkpointsWaiting, _checkpointWaiters.Count);
                    if (_writerSleeping) Monitor.Pulse(_gate);
                }
                else if (strict)
                {
                    waiter = AppendWaiter.Rent();
                    waiter.Sequence = seq;
                    waiter.ResumeOn = resumeOn;
                    _pending.Waiters.Add(waiter);
                }
                // Strict wakes a sleeping writer at once (group commit collects whatever arrives during the fsync), a
                // queued record too, so it is not left waiting for the next append; batched lets the flush timer or a
                // large buffer trigger the write. A busy writer takes the record with the next batch without being told,
                // so an append costs no system call.
                if (_writerSleeping && (_options.Durability == AuditDurability.Strict || _pending.RecordBytes > BatchedWakeBytes)) Monitor.Pulse(_gate);
            }
        }
        finally
        {
            if (!waiting) _scratch.Return(scratch);
            // Once per episode, outside the lock.
            if (episodeNote is not null) _options.OnProblem?.Invoke(episodeNote);
        }
        if (covered is not null) return new ValueTask<long>(covered.Task);
        return waiter is null ? new ValueTask<long>(seq) : new ValueTask<long>(waiter, waiter.Version);
    }

    /// <summary>Must hold _gate. Completes the checkpointed appends whose record a checkpoint or seal now covers (sequence below <paramref name="coveredBelow"/>).</summary>
    private void CompleteCheckpointWaiters(long coveredBelow)
    {
        int done = 0;
        while (done < _checkpointWaiters.Count && _checkpointWaiters[done].Sequence < coveredBelow)
        {
            _checkpointWaiters[done].Done.TrySetResult(_checkpointWaiters[done].Sequence);
            done++;
        }
        if (done == 0) return;
        _checkpointWaiters.RemoveRange(0, done);
        Volatile.Write(ref _checkpointsWaiting, _checkpointWaiters.Count);
    }

    /// <summary>Must hold _gate. The write or checkpoint failed (or the log closed): no checkpointed append still waiting is covered.</summary>
    private void FailCheckpointWaiters(Exception cause)
    {
        foreach (CheckpointWaiter w in _checkpointWaiters)
            w.Done.TrySetException(cause as AuditUnavailableException ?? new AuditUnavailableException("The audit log could not write and checkpoint the record: " + FastMcp.Http.PlainError.Describe(cause), cause));
        _checkpointWaiters.Clear();
        Volatile.Write(ref _checkpointsWaiting, 0);
    }

    /// <summary>
    /// Must hold _gate. Batched: the bytes answered and not yet durable reached audit.batchedMaxPendingBytes, or appends
    /// wait already. The record, serialized, waits for the writer to make room (oldest first, at most
    /// audit.batchedMaxPendingWait; the timer refuses it then), or is refused at once: when its caller cannot wait
    /// (<see cref="AppendQueued"/>), when waiting is off, or when the records waiting already hold as many bytes as the
    /// bound (what a wait adds to memory is its record: the exchange holds its buffers whether it waits or is forwarded).
    /// A refusal is an <see cref="AuditUnavailableException"/>, so the caller answers as in an outage.
    /// </summary>
    private ValueTask<long> WaitForRoom(RecordScratch scratch, AuditEventType type, long timeMicros, bool checkpoint, IAppendResumeTarget? resumeOn, bool mayWait,
        out bool waiting, out string? episodeNote)
    {
        PendingBound bound = _bound!;
        waiting = false;
        episodeNote = bound.Begin(NowMicros())
            ? $"audit log: records answered and not yet durable reached audit.batchedMaxPendingBytes ({bound.Limit} bytes): the writer is behind (a slow or stuck disk?); appends wait up to {bound.WaitMs} ms for it, then are refused (503) until it catches up"
            : null;
        if (!mayWait || bound.WaitMs == 0 || bound.WaitingBytes >= bound.Limit)
        {
            bound.CountRefused();
            return ValueTask.FromException<long>(QueueFull());
        }
        AppendWaiter? done = null;
        TaskCompletionSource<long>? covered = null;
        if (checkpoint)
        {
            covered = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        else
        {
            done = AppendWaiter.Rent();
            done.ResumeOn = resumeOn;
        }
        bound.Add(new WaitingAppend(scratch, type, timeMicros, scratch.Fields.WrittenCount, Environment.TickCount64 + bound.WaitMs, done, covered));
        waiting = true;
        // Later appends queue behind this one, so the oldest is admitted first.
        _admitBelow = 0;
        if (bound.WaitingCount == 1)
            (_waitTimer ??= new Timer(static log => ((AuditLog)log!).ExpireWaiting(), this, Timeout.Infinite, Timeout.Infinite)).Change(bound.WaitMs, Timeout.Infinite);
        // The writer makes the room: one asleep (a queue at its bound below the flush size) writes at once.
        if (_writerSleeping) Monitor.Pulse(_gate);
        return covered is not null ? new ValueTask<long>(covered.Task) : new ValueTask<long>(done!, done!.Version);
    }

    /// <summary>
    /// Must hold _gate; the writer, with nothing being written. Admits waiting appends, oldest first, while the bytes
    /// answered and not yet durable are below the bound (their callers are resumed by <see cref="ResumeAdmitted"/> once
    /// the lock is let go), and closes an episode that has drained. True when there is something to resume or say.
    /// </summary>
    private bool AdmitWaiting()
    {
        PendingBound bound = _bound!;
        while (_unwrittenBytes < bound.Limit && bound.WaitingCount > 0)
        {
            WaitingAppend w = bound.Take();
            long seq = EnqueueComposed(w.Scratch.Fields.WrittenSpan, w.Type, w.TimeMicros);
            _scratch.Return(w.Scratch);
            if (w.Covered is { } covered)
            {
                _checkpointWaiters.Add(new CheckpointWaiter(seq, covered));
                Volatile.Write(ref _checkpointsWaiting, _checkpointWaiters.Count);
            }
            else
            {
                w.Done!.Sequence = seq;
                _admitted.Add(w.Done);
            }
        }
        if (bound.WaitingCount == 0) _admitBelow = bound.Limit;
        // Below half, not just below the bound: a writer that keeps up only just would otherwise open an episode per flush.
        if (bound.InEpisode && bound.WaitingCount == 0 && _unwrittenBytes < bound.Limit / 2) EndEpisode();
        return _admitted.Count > 0 || _boundNote is not null;
    }

    /// <summary>The writer, outside _gate: resumes the appends it admitted (on their loops, like a strict group) and says an episode's end.</summary>
    private bool ResumeAdmitted()
    {
        string? note = _boundNote;
        if (note is null && _admitted.Count == 0) return false;
        _boundNote = null;
        GroupCompletion.Complete(ref _admitted, failure: null);
        if (note is not null) _options.OnProblem?.Invoke(note);
        return true;
    }

    /// <summary>
    /// Must hold _gate; the writer. The episode is over: its line for OnProblem and, when it refused appends, an
    /// AuditOutage record (time: the episode's start) and an AuditRecovered record, as an outage is recorded: the log
    /// could not take those exchanges' records, so they were refused.
    /// </summary>
    private void EndEpisode()
    {
        PendingBound bound = _bound!;
        (long startMicros, long waits, long refused) = bound.End();
        long ms = (NowMicros() - startMicros) / 1000;
        _boundNote = $"audit log: records answered and not yet durable are below half of audit.batchedMaxPendingBytes again after {ms} ms; {waits} appends waited for the writer, {refused} were refused (503) meanwhile";
        if (refused == 0) return;
        var e = _internalEvent;
        e.Reset();
        e.Type = AuditEventType.AuditOutage;
        e.Success = false;
        e.Subject = "fastmcp";
        e.Detail = $"audit queue at its bound: records answered and not yet durable reached audit.batchedMaxPendingBytes ({bound.Limit} bytes), the writer being behind; appends waited up to {bound.WaitMs} ms for room, then were refused";
        Enqueue(e, startMicros);
        e.Reset();
        e.Type = AuditEventType.AuditRecovered;
        e.Success = true;
        e.Subject = "fastmcp";
        e.Detail = $"audit queue below half of its bound again after {ms} ms; {refused} appends refused, {waits} waited";
        Enqueue(e, NowMicros());
    }

    /// <summary>A timer thread: refuses the appends that waited for room past audit.batchedMaxPendingWait (on the thread pool).</summary>
    private void ExpireWaiting()
    {
        lock (_gate)
        {
            PendingBound bound = _bound!;
            long now = Environment.TickCount64;
            // Oldest first, and every wait is as long: the expired ones are at the head.
            while (bound.TryPeek(out WaitingAppend head) && head.DeadlineTicks <= now)
            {
                RefuseWaiting(bound.Take());
                bound.CountRefused();
            }
            if (bound.TryPeek(out WaitingAppend next)) _waitTimer!.Change(Math.Max(1, next.DeadlineTicks - now), Timeout.Infinite);
            else _admitBelow = bound.Limit;
            if (_expired.Count > 0) GroupCompletion.Complete(ref _expired, QueueFull());
        }
    }

    /// <summary>Must hold _gate. Every waiting append is refused with <paramref name="cause"/> (an outage began, or the log closed).</summary>
    private void RefuseAllWaiting(Exception cause)
    {
        if (_bound is not { WaitingCount: > 0 } bound) return;
        while (bound.WaitingCount > 0) RefuseWaiting(bound.Take(), cause);
        _admitBelow = bound.Limit;
        GroupCompletion.Complete(ref _expired, cause);
    }

    /// <summary>Must hold _gate. Gives the record's scratch back and queues its caller's refusal (completed on the thread pool).</summary>
    private void RefuseWaiting(in WaitingAppend w, Exception? cause = null)
    {
        _scratch.Return(w.Scratch);
        if (w.Covered is { } covered)
            covered.TrySetException(cause is null ? QueueFull() : cause as AuditUnavailableException ?? new AuditUnavailableException("The audit log is not writable: " + FastMcp.Http.PlainError.Describe(cause), cause));
        else _expired.Add(w.Done!);
    }

    private AuditUnavailableException QueueFull() =>
        new($"The audit log's queue is at its bound (audit.batchedMaxPendingBytes, {_bound!.Limit} bytes): the writer is behind.");

    private ValueTask<long> Refuse()
    {
        Interlocked.Increment(ref _refusedDuringOutage);
        return ValueTask.FromException<long>(new AuditUnavailableException(_closed ? "The audit log is closed." : "The audit log is not writable: " + _outageError));
    }

    /// <summary>Must hold _gate. Serializes one record into the pending batch; undoes itself if serialization throws.</summary>
    private long Enqueue(AuditEvent e, long timeMicros)
    {
        var entries = _pending.Entries;
        int start = entries.WrittenCount;
        long seq = _nextSequence;
        try
        {
            entries.GetSpan(4);
            entries.Advance(4);
            int length = _serializer.Write(entries, e, seq, timeMicros);
            BinaryPrimitives.WriteInt32LittleEndian(entries.RawArray.AsSpan(start), length);
            PendingBatch.LeaveChainSlot(entries);
            _unwrittenBytes += RecordLayout.LengthPrefix + length;
        }
        catch
        {
            entries.TruncateTo(start);
            throw;
        }
        _nextSequence = seq + 1;
        _pending.Count++;
        return seq;
    }

    /// <summary>Must hold _gate. Adds one record, whose fields were serialized already, to the pending batch.</summary>
    private long EnqueueComposed(ReadOnlySpan<byte> fields, AuditEventType type, long timeMicros)
    {
        var entries = _pending.Entries;
        int start = entries.WrittenCount;
        long seq = _nextSequence;
        entries.GetSpan(4);
        entries.Advance(4);
        int length = AuditRecordSerializer.Compose(entries, fields, type, seq, timeMicros, _timeText);
        BinaryPrimitives.WriteInt32LittleEndian(entries.RawArray.AsSpan(start), length);
        PendingBatch.LeaveChainSlot(entries);
        _unwrittenBytes += RecordLayout.LengthPrefix + length;
        _nextSequence = seq + 1;
        _pending.Count++;
        return seq;
    }

    private void EnqueueInternal(AuditEvent e)
    {
        lock (_gate) Enqueue(e, e.TimestampUtc == default ? NowMicros() : NoteValues.ToUnixMicros(e.TimestampUtc));
    }

    // Batched writes once AuditOptions.BatchedFlushBytes is queued (default 64 KiB, ~100 records), or at the flush
    // interval, whichever comes first. The flush hashes, compresses and writes the whole batch in one burst; a 1 MiB
    // burst (~1,600 records at 5,000 req/s with the 200 ms interval) held a core for milliseconds at a time, in the
    // open-loop p99 of a 2-core machine (issue #14). Smaller batches cost more fdatasyncs and CPU per record.
    private int BatchedWakeBytes => _options.BatchedFlushBytes;

    /// <summary>
    /// Waits for work under _gate. Monitor.Wait blocks at once (a futex); the semaphore it replaces spun with
    /// sched_yield before blocking on every hand-off, which under strict load cost several yields per request.
    /// </summary>
    private bool WaitForWork()
    {
        lock (_gate)
        {
            if (_stopRequested) return false;
            // Nothing is being written now: what is answered and not yet durable is the pending batch.
            _unwrittenBytes = _pending.RecordBytes;
            if (_bound is not null && AdmitWaiting()) return true;
            bool ready = _writable && (_checkpointWaiters.Count > 0
                || (_options.Durability == AuditDurability.Strict ? _pending.Count > 0 : _pending.RecordBytes > BatchedWakeBytes || _bound!.WaitingCount > 0));
            if (!ready)
            {
                _writerSleeping = true;
                Monitor.Wait(_gate, NextWakeDelay());
                _writerSleeping = false;
            }
            return !_stopRequested;
        }
    }

    /// <summary>
    /// The writer runs on its own thread: it blocks in write and fsync, which would otherwise hold
    /// a thread-pool thread (and make the pool inject more), and a synchronous wait for the next
    /// batch allocates nothing where an async timed wait allocated on every wake-up.
    /// </summary>
    private Task StartWriterThread()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                // Batched: nobody waits for the writer (short of the bound), so its flush bursts give way to the socket loops.
                if (_options.Durability == AuditDurability.Batched) WriterThreadPriority.TryLower(WriterThreadPriority.BatchedNice);
                Run();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "fastmcp-audit-writer",
        };
        thread.Start();
        return done.Task;
    }

    private void Run()
    {
        while (WaitForWork())
        {
            if (ResumeAdmitted()) continue;
            if (!_writable)
            {
                TryRecover();
                continue;
            }
            try
            {
                WritePending(flush: true);
                // Before any rotation: the checkpoint asked for goes into the segment its record is in.
                if (Volatile.Read(ref _checkpointsWaiting) > 0 || Environment.TickCount64 - _lastCheckpointTicks >= (long)_options.CheckpointInterval.TotalMilliseconds) WriteCheckpoint();
                if (RotationDue()) Rotate();
            }
            catch (Exception ex) when (IsWriteFailure(ex))
            {
                EnterOutage(ex);
            }
        }
    }

    private TimeSpan NextWakeDelay()
    {
        if (!_writable) return _options.OutageRetryInterval;
        long sinceCheckpoint = Environment.TickCount64 - _lastCheckpointTicks;
        long delay = Math.Max(1, (long)_options.CheckpointInterval.TotalMilliseconds - sinceCheckpoint);
        if (_options.Durability == AuditDurability.Batched) delay = Math.Min(delay, (long)_options.BatchedFlushInterval.TotalMilliseconds);
        if (_active.RecordCount > 0)
        {
            long ageLeft = (long)(_active.CreatedUtc + _options.MaxSegmentAge - DateTime.UtcNow).TotalMilliseconds;
            delay = Math.Min(delay, Math.Max(1, ageLeft));
        }
        return TimeSpan.FromMilliseconds(delay);
    }

    /// <summary>Writes everything pending in one write (one frame, or several past the frame limit); on failure the batch's waiters get <see cref="AuditUnavailableException"/> and the exception propagates.</summary>
    private void WritePending(bool flush)
    {
        PendingBatch batch;
        lock (_gate)
        {
            if (_pending.Count == 0) return;
            batch = _pending;
            _pending = _writing;
            _writing = batch;
        }
        _statistics.InFlight = batch.Count;
        try
        {
            _active.AppendRecords(batch.Entries.RawArray.AsSpan(0, batch.Entries.WrittenCount), batch.Count, flush);
            if (flush)
            {
                _statistics.Synced(batch.Count, _active.LastFlushTicks);
                Volatile.Write(ref _durableSequence, _active.NextSequence);
            }
        }
        catch (Exception ex) when (IsWriteFailure(ex))
        {
            _statistics.InFlight = 0;
            // Whoever sees an append fail must also see the log unwritable: mark it before failing them.
            MarkUnwritable(ex);
            FailWaiters(batch, ex);
            batch.Clear();
            throw;
        }
        _statistics.InFlight = 0;
        // One hand-off per target for the whole group: its exchanges resume in sequence order on their loops (or one worker).
        GroupCompletion.Complete(ref batch.Waiters, failure: null, _statistics);
        batch.Clear();
    }

    private void WriteCheckpoint()
    {
        // Batched mode answers appends once queued: the checkpoint says how many were answered, so a crash's loss can be counted at restart.
        long acknowledged;
        lock (_gate) acknowledged = _options.Durability == AuditDurability.Batched ? _nextSequence : _active.NextSequence;
        var note = _active.WriteCheckpoint(_options.ChainId, NowMicros(), acknowledged);
        _fs.ReplaceDurably(Path.Combine(_chainDir, SegmentNames.CheckpointName), note);
        _lastCheckpointTicks = Environment.TickCount64;
        // Both the frame and the object are durable: every record written so far is covered.
        if (Volatile.Read(ref _checkpointsWaiting) > 0)
            lock (_gate) CompleteCheckpointWaiters(_active.NextSequence);
        _shipper?.NotifyCheckpoint(note);
        _anchors?.Offer(note);
    }

    private bool RotationDue() =>
        _active.RecordCount > 0 &&
        (_active.CommittedLength >= _options.MaxSegmentBytes || DateTime.UtcNow - _active.CreatedUtc >= _options.MaxSegmentAge);

    /// <summary>Seals the active segment and starts the next one, linked to the seal.</summary>
    private void Rotate()
    {
        _active.SealAndRename(recovered: false, NowMicros());
        CompleteRotation();
    }

    /// <summary>
    /// The steps of a rotation after the seal frame: rename to .seg, last-seal, checkpoint, next segment. Each is
    /// idempotent, so a rotation a write fault cut short (a full disk after sealing) is finished by the recovery
    /// retry instead of leaving the log appending to a sealed segment for ever.
    /// </summary>
    private void CompleteRotation()
    {
        var sealNote = _active.SealNote!;
        if (_fs.Exists(_active.OpenPath)) _active.CompleteRename();
        _fs.ReplaceDurably(Path.Combine(_chainDir, SegmentNames.LastSealName), sealNote);
        var sealedState = _active.CurrentCheckpointNote(_options.ChainId, NowMicros());
        _fs.ReplaceDurably(Path.Combine(_chainDir, SegmentNames.CheckpointName), sealedState);
        _anchors?.Offer(sealedState);
        Seal.TryDecode(sealNote, out var seal, out _, out _);
        var header = new SegmentHeader(_options.ChainId, _active.Index + 1, _active.NextSequence, NowMicros(),
            (long)_options.CheckpointInterval.TotalMilliseconds, _signer.KeyId, SHA256.HashData(sealNote), seal!.Head, SegmentStart.Clean(seal.SealedMicros));
        var next = ActiveSegment.Create(_fs, _chainDir, _signer, _options.CompressionLevel, header, _options.MaxSegmentBytes);
        _active.Dispose();
        _active = next;
        _shipper?.Notify();
    }

    /// <summary>Starts an outage (first failure only): new appends are refused from here on.</summary>
    private void MarkUnwritable(Exception ex)
    {
        lock (_gate)
        {
            if (!_writable) return;
            _writable = false;
            _outageStartMicros = NowMicros();
            _outageError = FastMcp.Http.PlainError.Describe(ex);
            _refusedDuringOutage = _bound?.WaitingCount ?? 0;
            // Appends waiting for room wait for a writer that cannot write: refused now, as new ones are.
            RefuseAllWaiting(ex);
        }
        _options.OnProblem?.Invoke($"audit log: cannot be written ({FastMcp.Http.PlainError.Describe(ex)}); every call is refused (503) until it recovers, retried every {_options.OutageRetryInterval.TotalMilliseconds:0} ms");
    }

    private void EnterOutage(Exception ex)
    {
        lock (_gate)
        {
            MarkUnwritable(ex);
            // Batched mode answered every queued record already: their exchanges went ahead, so the loss is counted
            // for the AuditOutage record (a crash's recovery counts it as lost-records the same way).
            long committed = _active.NextSequence;
            if (_options.Durability == AuditDurability.Batched && _nextSequence > committed)
            {
                _lostFirstSequence = committed;
                _lostRecords = _nextSequence - committed;
            }
            // Nothing queued is durable: fail its waiters and give the sequence numbers back.
            FailWaiters(_pending, ex);
            FailCheckpointWaiters(ex);
            _pending.Clear();
            _unwrittenBytes = 0;
            _nextSequence = committed;
        }
    }

    /// <summary>Cuts any partial frame, then records the outage and the recovery; writable again only if that is durable.</summary>
    private void TryRecover()
    {
        try
        {
            // A fault between sealing and the next segment: finish the rotation first, then record the outage in the new segment.
            if (_active.Sealed) CompleteRotation();
            _active.RollBack();
            var e = _internalEvent;
            e.Reset();
            e.Type = AuditEventType.AuditOutage;
            e.Success = false;
            e.Subject = "fastmcp";
            e.TimestampUtc = DateTime.UnixEpoch.AddTicks(_outageStartMicros * 10);
            long lost, lostFirst;
            lock (_gate) (lost, lostFirst) = (_lostRecords, _lostFirstSequence);
            e.Detail = lost == 0
                ? "audit log could not be written: " + _outageError
                : $"audit log could not be written: {_outageError}; lost {lost} answered records, sequences {lostFirst}-{lostFirst + lost - 1} (batched durability; the numbers are used again from this record on)";
            EnqueueInternal(e);
            e.Reset();
            e.Type = AuditEventType.AuditRecovered;
            e.Success = true;
            e.Subject = "fastmcp";
            e.Detail = $"audit log writable again after {(NowMicros() - _outageStartMicros) / 1000} ms; {Interlocked.Read(ref _refusedDuringOutage)} appends refused";
            EnqueueInternal(e);
            WritePending(flush: true);
            WriteCheckpoint();
            lock (_gate) _lostRecords = 0;
            _writable = true;
            string lostNote = lost == 0 ? "" : $"; {lost} answered records (sequences {lostFirst}-{lostFirst + lost - 1}) were lost";
            _options.OnProblem?.Invoke($"audit log: writable again after {(NowMicros() - _outageStartMicros) / 1000} ms; {Interlocked.Read(ref _refusedDuringOutage)} appends refused meanwhile{lostNote} (outage and recovery recorded)");
        }
        catch (Exception ex) when (IsWriteFailure(ex))
        {
            lock (_gate)
            {
                _pending.Clear();
                _unwrittenBytes = 0;
                _nextSequence = _active.NextSequence;
            }
        }
    }

    private static void FailWaiters(PendingBatch batch, Exception cause) => GroupCompletion.Complete(ref batch.Waiters, cause);

    /// <summary>Any failure to write (I/O, permissions, a compressor or crypto fault) fails closed; only OOM is left to crash.</summary>
    private static bool IsWriteFailure(Exception ex) => ex is not OutOfMemoryException;

    /// <summary>Records AuditStopped, writes everything pending, seals the open segment and stops the shipper.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_closed) return;
        if (_writable)
        {
            var stop = new AuditEvent { Type = AuditEventType.AuditStopped, Success = true, Subject = "fastmcp", Detail = "audit stopped" };
            try { await AppendAsync(stop).ConfigureAwait(false); }
            catch (AuditUnavailableException) { }
        }
        _closed = true;
        lock (_gate)
        {
            _stopRequested = true;
            RefuseAllWaiting(new AuditUnavailableException("The audit log is closed."));
            Monitor.Pulse(_gate);
        }
        await _loop.ConfigureAwait(false);
        if (_waitTimer is not null) await _waitTimer.DisposeAsync().ConfigureAwait(false);
        try
        {
            if (_writable)
            {
                WritePending(flush: true);
                var sealNote = _active.SealAndRename(recovered: false, NowMicros());
                _fs.ReplaceDurably(Path.Combine(_chainDir, SegmentNames.LastSealName), sealNote);
                var cp = _active.CurrentCheckpointNote(_options.ChainId, NowMicros());
                _fs.ReplaceDurably(Path.Combine(_chainDir, SegmentNames.CheckpointName), cp);
                lock (_gate) CompleteCheckpointWaiters(_active.NextSequence);
                _shipper?.NotifyCheckpoint(cp);
                _anchors?.Offer(cp);
            }
        }
        catch (Exception ex) when (IsWriteFailure(ex))
        {
            // Left unsealed: the next start recovers and seals it.
            lock (_gate) FailWaiters(_pending, ex);
        }
        finally
        {
            lock (_gate) FailCheckpointWaiters(new AuditUnavailableException("The audit log is closed."));
            _active.Dispose();
            try
            {
                // Stopped first: the shipper's last pass then sees the export's final progress.
                if (_exporter is not null) await _exporter.DisposeAsync().ConfigureAwait(false);
                if (_shipper is not null) await StopShipperAsync(_shipper).ConfigureAwait(false);
            }
            finally
            {
                // Whatever failed above, the witness's client, the key and the chain lock are released (a lock kept
                // would refuse the next open in this process as a second writer).
                try
                {
                    if (_anchors is not null) await _anchors.DisposeAsync().ConfigureAwait(false);
                }
                finally
                {
                    _signer.Dispose();
                    _writerLock?.Dispose();
                }
            }
        }
    }

    /// <summary>One last bounded pass so a clean shutdown leaves nothing unshipped, then the shipper and its store are released.</summary>
    private async Task StopShipperAsync(SegmentShipper shipper)
    {
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await shipper.ShipPendingAsync(limit.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A segment that cannot be read now (its permissions, the volume) stays local; the next start ships it.
            if (ex is not OperationCanceledException)
            {
                try { _options.Shipping?.OnProblem?.Invoke($"audit shipping: the last pass at stop failed ({FastMcp.Http.PlainError.Describe(ex)}); what it did not ship stays local and ships after the next start (chain {_options.ChainId})"); }
                catch (Exception) { /* a logger must not stop the shutdown */ }
            }
        }
        finally
        {
            await shipper.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal static long NowMicros() => NoteValues.ToUnixMicros(DateTime.UtcNow);
}
