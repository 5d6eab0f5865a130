using System.Buffers.Binary;
using System.Security.Cryptography;
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
/// then releases every waiter of the batch. Any write failure fails closed until a retry succeeds,
/// and the outage is recorded.
/// </summary>
public sealed class AuditLog : IAsyncDisposable
{
    private readonly AuditOptions _options;
    private readonly IAuditFileSystem _fs;
    private readonly AuditSigner _signer;
    private readonly string _chainDir;
    private readonly AuditRecordSerializer _serializer;
    private readonly object _gate = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly AuditEvent _internalEvent = new();
    private readonly SegmentShipper? _shipper;
    private PendingBatch _pending = new();
    private PendingBatch _writing = new();
    private ActiveSegment _active;
    private long _nextSequence;
    private volatile bool _writable = true;
    private volatile bool _closed;
    private int _signaled;
    private long _lastCheckpointTicks;
    private Task _loop = Task.CompletedTask;
    private long _outageStartMicros;
    private string? _outageError;
    private long _refusedDuringOutage;

    /// <summary>False while the log cannot be written (fail closed); flips back once a retry succeeds.</summary>
    public bool IsWritable => _writable && !_closed;

    /// <summary>The folder this chain's segments are written to.</summary>
    public string ChainDirectory => _chainDir;

    /// <summary>The shipper, when shipping is configured.</summary>
    public SegmentShipper? Shipper => _shipper;

    private AuditLog(AuditOptions options, IAuditFileSystem fs, AuditSigner signer, string chainDir, ActiveSegment active)
    {
        _options = options;
        _serializer = new AuditRecordSerializer(options.FieldMasker);
        _fs = fs;
        _signer = signer;
        _chainDir = chainDir;
        _active = active;
        _nextSequence = active.NextSequence;
        _lastCheckpointTicks = Environment.TickCount64;
        if (options.Shipping is { } shipping)
            _shipper = new SegmentShipper(SegmentStores.Create(shipping), fs, chainDir, options.ChainId, shipping);
    }

    public static Task<AuditLog> OpenAsync(AuditOptions options, CancellationToken ct = default) =>
        OpenAsync(options, PhysicalAuditFileSystem.Instance, ct);

    /// <summary>Opens the chain: seals any segment a crash left open (as recovered), starts a new segment and records AuditStarted durably.</summary>
    public static Task<AuditLog> OpenAsync(AuditOptions options, IAuditFileSystem fileSystem, CancellationToken ct = default)
    {
        try
        {
            ct.ThrowIfCancellationRequested();
            return Task.FromResult(Open(options, fileSystem));
        }
        catch (Exception e)
        {
            return Task.FromException<AuditLog>(e);
        }
    }

    private static AuditLog Open(AuditOptions options, IAuditFileSystem fileSystem)
    {
        options.Validate();
        var signer = AuditSigner.FromPemFile(options.SigningKeyPath);
        try
        {
            string chainDir = Path.Combine(options.Directory, options.ChainId);
            fileSystem.CreateDirectory(chainDir);
            string? recoveryNote = RecoverOpenSegments(fileSystem, chainDir, signer, options.CompressionLevel);
            var (index, firstSeq, prevSeal, prevHead) = FindContinuation(fileSystem, chainDir);
            var header = new SegmentHeader(options.ChainId, index, firstSeq, NowMicros(), (long)options.CheckpointInterval.TotalMilliseconds,
                signer.KeyId, prevSeal, prevHead);
            var active = ActiveSegment.Create(fileSystem, chainDir, signer, options.CompressionLevel, header);
            var log = new AuditLog(options, fileSystem, signer, chainDir, active);
            var started = log._internalEvent;
            started.Reset();
            started.Type = AuditEventType.AuditStarted;
            started.Success = true;
            started.Subject = "fastmcp";
            started.Detail = recoveryNote is null
                ? $"audit started; segment {index}, durability {options.Durability}"
                : $"audit started; segment {index}, durability {options.Durability}; {recoveryNote}";
            log.EnqueueInternal(started);
            log.WritePending(flush: true);
            log.WriteCheckpoint();
            log._loop = log.StartWriterThread();
            log._shipper?.Start();
            return log;
        }
        catch
        {
            signer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Serializes <paramref name="e"/> now (it may be reused as soon as this returns) and completes when the
    /// record is durable (Strict) or queued (Batched). Throws <see cref="AuditUnavailableException"/> when the
    /// log cannot be written: the caller must not forward the request.
    /// </summary>
    public ValueTask<long> AppendAsync(AuditEvent e, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (!_writable || _closed) return Refuse();
        long time = e.TimestampUtc == default ? NowMicros() : NoteValues.ToUnixMicros(e.TimestampUtc.Kind == DateTimeKind.Local ? e.TimestampUtc.ToUniversalTime() : e.TimestampUtc);
        bool strict = _options.Durability == AuditDurability.Strict;
        AppendWaiter? waiter = null;
        long seq;
        bool first;
        lock (_gate)
        {
            if (!_writable || _closed) return Refuse();
            seq = Enqueue(e, time);
            if (strict)
            {
                waiter = AppendWaiter.Rent();
                waiter.Sequence = seq;
                _pending.Waiters.Add(waiter);
            }
            first = _pending.Count == 1;
        }
        // Strict wakes the writer at once (group commit collects whatever arrives during the fsync);
        // batched lets the flush timer or a large buffer trigger the write.
        if (strict ? first : _pending.Entries.WrittenCount > 1024 * 1024) Signal();
        return waiter is null ? new ValueTask<long>(seq) : new ValueTask<long>(waiter, waiter.Version);
    }

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

    private void EnqueueInternal(AuditEvent e)
    {
        lock (_gate) Enqueue(e, e.TimestampUtc == default ? NowMicros() : NoteValues.ToUnixMicros(e.TimestampUtc));
    }

    private void Signal()
    {
        if (Interlocked.Exchange(ref _signaled, 1) == 0) _signal.Release();
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
        var token = _stop.Token;
        while (true)
        {
            try
            {
                _signal.Wait(NextWakeDelay(), token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Interlocked.Exchange(ref _signaled, 0);
            if (!_writable)
            {
                TryRecover();
                continue;
            }
            try
            {
                WritePending(flush: true);
                if (Environment.TickCount64 - _lastCheckpointTicks >= (long)_options.CheckpointInterval.TotalMilliseconds) WriteCheckpoint();
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

    /// <summary>Writes everything pending as one frame; on failure the batch's waiters get <see cref="AuditUnavailableException"/> and the exception propagates.</summary>
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
        try
        {
            _active.AppendRecords(batch.Entries.WrittenSpan, batch.Count, flush);
        }
        catch (Exception ex) when (IsWriteFailure(ex))
        {
            // Whoever sees an append fail must also see the log unwritable: mark it before failing them.
            MarkUnwritable(ex);
            FailWaiters(batch, ex);
            batch.Clear();
            throw;
        }
        foreach (var w in batch.Waiters) w.Succeed();
        batch.Clear();
    }

    private void WriteCheckpoint()
    {
        var note = _active.WriteCheckpoint(_options.ChainId, NowMicros());
        _fs.ReplaceDurably(Path.Combine(_chainDir, SegmentNames.CheckpointName), note);
        _lastCheckpointTicks = Environment.TickCount64;
        _shipper?.NotifyCheckpoint(note);
    }

    private bool RotationDue() =>
        _active.RecordCount > 0 &&
        (_active.CommittedLength >= _options.MaxSegmentBytes || DateTime.UtcNow - _active.CreatedUtc >= _options.MaxSegmentAge);

    /// <summary>Seals the active segment and starts the next one, linked to the seal.</summary>
    private void Rotate()
    {
        var sealNote = _active.SealAndRename(recovered: false, NowMicros());
        _fs.ReplaceDurably(Path.Combine(_chainDir, SegmentNames.LastSealName), sealNote);
        _fs.ReplaceDurably(Path.Combine(_chainDir, SegmentNames.CheckpointName), _active.CurrentCheckpointNote(_options.ChainId, NowMicros()));
        Seal.TryDecode(sealNote, out var seal, out _, out _);
        var header = new SegmentHeader(_options.ChainId, _active.Index + 1, _active.NextSequence, NowMicros(),
            (long)_options.CheckpointInterval.TotalMilliseconds, _signer.KeyId, SHA256.HashData(sealNote), seal!.Head);
        var next = ActiveSegment.Create(_fs, _chainDir, _signer, _options.CompressionLevel, header);
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
            _outageError = ex.Message;
            _refusedDuringOutage = 0;
        }
    }

    private void EnterOutage(Exception ex)
    {
        lock (_gate)
        {
            MarkUnwritable(ex);
            // Nothing queued is durable: fail its waiters and give the sequence numbers back.
            FailWaiters(_pending, ex);
            _pending.Clear();
            _nextSequence = _active.NextSequence;
        }
    }

    /// <summary>Cuts any partial frame, then records the outage and the recovery; writable again only if that is durable.</summary>
    private void TryRecover()
    {
        try
        {
            _active.RollBack();
            var e = _internalEvent;
            e.Reset();
            e.Type = AuditEventType.AuditOutage;
            e.Success = false;
            e.Subject = "fastmcp";
            e.TimestampUtc = DateTime.UnixEpoch.AddTicks(_outageStartMicros * 10);
            e.Detail = "audit log could not be written: " + _outageError;
            EnqueueInternal(e);
            e.Reset();
            e.Type = AuditEventType.AuditRecovered;
            e.Success = true;
            e.Subject = "fastmcp";
            e.Detail = $"audit log writable again after {(NowMicros() - _outageStartMicros) / 1000} ms; {Interlocked.Read(ref _refusedDuringOutage)} appends refused";
            EnqueueInternal(e);
            WritePending(flush: true);
            WriteCheckpoint();
            _writable = true;
        }
        catch (Exception ex) when (IsWriteFailure(ex))
        {
            lock (_gate)
            {
                _pending.Clear();
                _nextSequence = _active.NextSequence;
            }
        }
    }

    private static void FailWaiters(PendingBatch batch, Exception cause)
    {
        foreach (var w in batch.Waiters) w.Fail(new AuditUnavailableException("The audit record could not be made durable: " + cause.Message, cause));
        batch.Waiters.Clear();
    }

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
        _stop.Cancel();
        await _loop.ConfigureAwait(false);
        try
        {
            if (_writable)
            {
                WritePending(flush: true);
                var sealNote = _active.SealAndRename(recovered: false, NowMicros());
                _fs.ReplaceDurably(Path.Combine(_chainDir, SegmentNames.LastSealName), sealNote);
                var cp = _active.CurrentCheckpointNote(_options.ChainId, NowMicros());
                _fs.ReplaceDurably(Path.Combine(_chainDir, SegmentNames.CheckpointName), cp);
                _shipper?.NotifyCheckpoint(cp);
            }
        }
        catch (Exception ex) when (IsWriteFailure(ex))
        {
            // Left unsealed: the next start recovers and seals it.
            lock (_gate) FailWaiters(_pending, ex);
        }
        finally
        {
            _active.Dispose();
            if (_shipper is not null)
            {
                // One last bounded pass so a clean shutdown leaves nothing unshipped; the next start ships anything left.
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try { await _shipper.ShipPendingAsync(limit.Token).ConfigureAwait(false); }
                catch (Exception ex) when (ex is OperationCanceledException or IOException) { }
                await _shipper.DisposeAsync().ConfigureAwait(false);
            }
            _signer.Dispose();
            _stop.Dispose();
        }
    }

    internal static long NowMicros() => NoteValues.ToUnixMicros(DateTime.UtcNow);

    /// <summary>Seals every segment a crash left open; returns a description of what was recovered, or null.</summary>
    private static string? RecoverOpenSegments(IAuditFileSystem fs, string chainDir, AuditSigner signer, int level)
    {
        var opens = new List<long>();
        foreach (var name in fs.ListFileNames(chainDir))
        {
            if (SegmentNames.TryParse(name, out long index, out bool sealed_) && !sealed_) opens.Add(index);
        }
        opens.Sort();
        string? summary = null;
        foreach (long index in opens)
        {
            using var seg = ActiveSegment.Resume(fs, chainDir, signer, level, index, out bool hadSeal, out long cut);
            if (seg is null)
            {
                summary = Append(summary, $"segment {index} had no complete header and was discarded");
                continue;
            }
            if (hadSeal)
            {
                seg.CompleteRename();
                continue;
            }
            var sealNote = seg.SealAndRename(recovered: true, NowMicros());
            fs.ReplaceDurably(Path.Combine(chainDir, SegmentNames.LastSealName), sealNote);
            summary = Append(summary, $"recovered segment {index}: {seg.RecordCount} records kept, {cut} bytes of torn tail cut");
        }
        return summary;

        static string Append(string? s, string more) => s is null ? more : s + "; " + more;
    }

    /// <summary>Where the chain continues: after the newest seal found in a sealed segment or in last-seal.</summary>
    private static (long Index, long FirstSequence, byte[] PrevSeal, byte[] PrevHead) FindContinuation(IAuditFileSystem fs, string chainDir)
    {
        long newest = 0;
        foreach (var name in fs.ListFileNames(chainDir))
        {
            if (SegmentNames.TryParse(name, out long index, out bool sealed_) && sealed_) newest = Math.Max(newest, index);
        }
        byte[]? sealNote = null;
        if (newest > 0) sealNote = SegmentFiles.FindSealNote(fs.ReadAllBytes(Path.Combine(chainDir, SegmentNames.Sealed(newest))));
        string lastSealPath = Path.Combine(chainDir, SegmentNames.LastSealName);
        if (fs.Exists(lastSealPath))
        {
            var kept = fs.ReadAllBytes(lastSealPath);
            if (Seal.TryDecode(kept, out var keptSeal, out _, out _) && keptSeal!.Segment > newest) sealNote = kept;
        }
        if (sealNote is null)
        {
            if (newest > 0) throw new InvalidDataException($"segment {newest} in {chainDir} has no valid seal; refusing to continue the chain");
            return (1, 0, new byte[32], new byte[32]);
        }
        if (!Seal.TryDecode(sealNote, out var seal, out _, out var error)) throw new InvalidDataException("the newest seal cannot be read: " + error);
        return (seal!.Segment + 1, seal.FirstSequence + seal.RecordCount, SHA256.HashData(sealNote), seal.Head);
    }
}
