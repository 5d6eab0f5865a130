using System.Security.Cryptography;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Storage;
using FastMcp.Audit.Verification;

namespace FastMcp.Audit.Shipping;

/// <summary>What one shipping pass did.</summary>
/// <param name="Unverified">Sealed segments that did not verify against their seal: not shipped, kept locally.</param>
public readonly record struct ShipPassResult(int Uploaded, int AlreadyPresent, int DeletedLocally, int Failed, int Conflicts, int Unverified = 0);

/// <summary>
/// Copies sealed segments and the latest checkpoint to object storage. A segment is uploaded only
/// after it verifies against its own seal (and last-seal, when that is its seal): the store keeps
/// what it gets for good (create-only, often object-locked), so a segment edited after sealing must
/// never be the copy that survives. A local segment is deleted (or, with a retention, marked
/// ".shipped") only after the store reports the same SHA-256, and a marker is confirmed with the
/// store again before its segment is deleted; uploads are create-only, so a crash between upload and
/// delete just finds the object already there next pass.
/// </summary>
public sealed class SegmentShipper : IAsyncDisposable
{
    public const string ShippedMarkerSuffix = ".shipped";

    private readonly ISegmentStore _store;

    /// <summary>The store segments are shipped to (read back at start for records the local folder no longer holds).</summary>
    internal ISegmentStore Store => _store;
    private readonly IAuditFileSystem _fs;
    private readonly string _chainDir;
    private readonly string _chain;
    private readonly ShippingOptions _options;
    private readonly ChainKeys _keys;
    // Segments already reported as not verifying: reported once, refused on every pass.
    private readonly HashSet<long> _reportedUnverified = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly SemaphoreSlim _passLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private byte[]? _shippedCheckpoint;
    private Task _loop = Task.CompletedTask;

    /// <param name="keys">The chain's keys, to verify each segment before it leaves; owned by the shipper from here on.</param>
    public SegmentShipper(ISegmentStore store, IAuditFileSystem fs, string chainDir, string chain, ChainKeys keys, ShippingOptions options)
    {
        _store = store;
        _fs = fs;
        _chainDir = chainDir;
        _chain = chain;
        _keys = keys;
        _options = options;
    }

    /// <summary>The last shipping error, for health reporting; null after a clean pass.</summary>
    public string? LastError { get; private set; }

    /// <summary>Segments that exist with different content in the store (never overwritten; needs a human).</summary>
    public long ConflictCount { get; private set; }

    /// <summary>Sealed segments that did not verify against their seal in the last pass (tampering: kept, never shipped).</summary>
    public int UnverifiedSegments { get; private set; }

    /// <summary>Sealed segments still local and not shipped, after the last pass.</summary>
    public int BacklogSegments { get; private set; }

    /// <summary>Their bytes.</summary>
    public long BacklogBytes { get; private set; }

    /// <summary>Passes that left something unshipped (failed uploads, verifications or conflicts).</summary>
    public long FailedPasses { get; private set; }

    /// <summary>Unix seconds of the last pass that shipped everything it found (0: none yet).</summary>
    public long LastSuccessUnixSeconds { get; private set; }

    /// <summary>True while the backlog exceeds <see cref="ShippingOptions.MaxBacklogSegments"/>.</summary>
    public bool BacklogTooLarge => _options.MaxBacklogSegments > 0 && BacklogSegments > _options.MaxBacklogSegments;

    // Whether the last pass failed: the first failure and the recovery are reported, not every retry.
    private bool _failing;

    /// <summary>
    /// Asked before a shipped segment's local copy is deleted (audit.export: whether the SIEM has all its records);
    /// false keeps it, shipped, until a later pass. Null: no other reader needs local segments.
    /// </summary>
    public Func<long, bool>? MayDeleteLocal { get; set; }

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>A segment was sealed: ship soon.</summary>
    public void Notify() => _wake.Release();

    /// <summary>A checkpoint was written; it ships once the segment it describes has shipped.</summary>
    public void NotifyCheckpoint(byte[] note) => _wake.Release();

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await ShipPendingAsync(token).ConfigureAwait(false);
                await _wake.WaitAsync(_options.ScanInterval, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LastError = FastMcp.Http.PlainError.Describe(e);
                ReportHealth(FastMcp.Http.PlainError.Describe(e));
            }
        }
    }

    /// <summary>One pass over the local folder: upload, verify, then delete or mark every sealed segment.</summary>
    public async Task<ShipPassResult> ShipPendingAsync(CancellationToken ct = default)
    {
        await _passLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            int uploaded = 0, present = 0, deleted = 0, failed = 0, conflicts = 0, unverified = 0;
            int backlog = 0;
            long backlogBytes = 0;
            var names = new List<string>(_fs.ListFileNames(_chainDir));
            names.Sort(StringComparer.Ordinal);
            var nameSet = new HashSet<string>(names, StringComparer.Ordinal);
            string? error = null;
            long lowestUnshipped = long.MaxValue;
            SegmentWalk? walk = null;
            byte[]? lastSeal = null;
            bool lastSealRead = false;
            // A segment that stays on the host for now: it and everything after it count as not shipped.
            void KeepInBacklog(long index, long bytes, string why)
            {
                lowestUnshipped = Math.Min(lowestUnshipped, index);
                backlog++;
                backlogBytes += bytes;
                error = why;
            }
            try
            {
                foreach (var name in names)
                {
                    if (!SegmentNames.TryParse(name, out long index, out bool sealed_)) continue;
                    if (!sealed_) { lowestUnshipped = Math.Min(lowestUnshipped, index); continue; }
                    string path = Path.Combine(_chainDir, name);
                    string marker = path + ShippedMarkerSuffix;
                    string key = _chain + "/" + name;
                    if (nameSet.Contains(name + ShippedMarkerSuffix))
                    {
                        if (DateTime.UtcNow - _fs.GetLastWriteTimeUtc(marker) < _options.LocalRetention) continue;
                        if (MayDeleteLocal is { } mayDelete && !mayDelete(index)) continue;
                        // A marker is a local file like any other: only the store can say the segment left the host.
                        var shipped = _fs.ReadAllBytes(path);
                        var localSha = SHA256.HashData(shipped);
                        var (asked, storedSha) = await WithRetriesAsync<(bool, byte[]?)>(async () => (true, await _store.GetSha256Async(key, ct).ConfigureAwait(false)), ct).ConfigureAwait(false);
                        if (!asked)
                        {
                            failed++;
                            error = $"cannot confirm {_store.Describe(key)} before deleting the local copy after {_options.MaxAttempts} attempts: {LastError}";
                            continue;
                        }
                        if (storedSha is not null && storedSha.AsSpan().SequenceEqual(localSha))
                        {
                            _fs.Delete(path);
                            _fs.Delete(marker);
                            deleted++;
                            continue;
                        }
                        if (storedSha is not null)
                        {
                            conflicts++;
                            ConflictCount++;
                            KeepInBacklog(index, shipped.Length, $"{_store.Describe(key)} holds other content than {name}, which {name}{ShippedMarkerSuffix} says was shipped; local copy kept");
                            continue;
                        }
                        Report($"audit shipping: {name}{ShippedMarkerSuffix} says the segment was shipped, but it is not in the store ({_store.Describe(key)}): the marker was planted or the store lost the object; marker removed and the segment shipped again (chain {_chain})");
                        _fs.Delete(marker);
                    }
                    var data = _fs.ReadAllBytes(path);
                    if (!lastSealRead)
                    {
                        lastSeal = VerifiedLastSeal();
                        lastSealRead = true;
                    }
                    if (Unverifiable(walk ??= new SegmentWalk(_keys.Trusted), index, data, lastSeal) is { } problem)
                    {
                        unverified++;
                        KeepInBacklog(index, data.Length, $"{name} does not verify against its seal ({problem}); not shipped, local copy kept");
                        if (_reportedUnverified.Add(index))
                            Report($"audit shipping: TAMPERING: {name} in {_chainDir} does not verify against its seal: {problem}. It is not shipped and not deleted; keep it as evidence (chain {_chain})");
                        continue;
                    }
                    var sha = SHA256.HashData(data);
                    var result = await WithRetriesAsync<PutResult?>(async () => await _store.PutIfAbsentAsync(key, data, sha, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
                    if (result is null)
                    {
                        failed++;
                        KeepInBacklog(index, data.Length, $"upload of {_store.Describe(key)} failed after {_options.MaxAttempts} attempts: {LastError}");
                        continue;
                    }
                    if (result == PutResult.Conflict)
                    {
                        conflicts++;
                        ConflictCount++;
                        KeepInBacklog(index, data.Length, $"{_store.Describe(key)} exists with different content; local copy kept");
                        continue;
                    }
                    if (result == PutResult.Created) uploaded++; else present++;
                    var stored = await WithRetriesAsync(() => _store.GetSha256Async(key, ct), ct).ConfigureAwait(false);
                    if (stored is null || !stored.AsSpan().SequenceEqual(sha))
                    {
                        failed++;
                        KeepInBacklog(index, data.Length, $"{_store.Describe(key)} did not verify after upload; local copy kept");
                        continue;
                    }
                    if (_options.LocalRetention == TimeSpan.Zero)
                    {
                        // Shipped and verified, but still needed locally: uploads are create-only, so the next pass finds it present.
                        if (MayDeleteLocal is { } mayDelete && !mayDelete(index)) continue;
                        _fs.Delete(path);
                        deleted++;
                    }
                    else
                    {
                        _fs.ReplaceDurably(marker, sha);
                    }
                }
            }
            finally
            {
                walk?.Dispose();
            }
            // The store's checkpoint may only describe shipped segments, or the store would look truncated.
            string checkpointPath = Path.Combine(_chainDir, SegmentNames.CheckpointName);
            if (_fs.Exists(checkpointPath))
            {
                var note = _fs.ReadAllBytes(checkpointPath);
                if (Checkpoint.TryDecode(note, out var cp, out _, out _) && cp!.Segment < lowestUnshipped &&
                    (_shippedCheckpoint is null || !_shippedCheckpoint.AsSpan().SequenceEqual(note)))
                {
                    bool ok = await WithRetriesAsync(async () => { await _store.PutAsync(_chain + "/" + SegmentNames.CheckpointName, note, ct).ConfigureAwait(false); return true; }, ct).ConfigureAwait(false);
                    if (ok) _shippedCheckpoint = note;
                    else { failed++; error = "checkpoint upload failed"; }
                }
            }
            LastError = error;
            UnverifiedSegments = unverified;
            BacklogSegments = backlog;
            BacklogBytes = backlogBytes;
            ReportHealth(error);
            return new ShipPassResult(uploaded, present, deleted, failed, conflicts, unverified);
        }
        finally
        {
            _passLock.Release();
        }
    }

    /// <summary>
    /// Why a sealed segment must not ship, or null: the full walk (every record's chain hash, the
    /// Merkle root, checkpoints, the seal's signature with one of the chain's keys and every field of
    /// it), and agreement with last-seal when that is this segment's seal. The link to the previous
    /// segment is taken from the segment's own header: the predecessor may have shipped already, and
    /// the verifier checks links across the store.
    /// </summary>
    private string? Unverifiable(SegmentWalk walk, long index, byte[] data, byte[]? lastSeal)
    {
        using var reader = new FrameReader();
        reader.Reset(data);
        if (reader.Next(out var first, out var error) != FrameReadStatus.Ok || first.Header.Kind != FrameKind.Header
            || !SegmentHeader.TryDecode(first.Payload.Span, out var header, out error))
            return "no readable header: " + (error ?? "the first frame is not a header");
        var outcome = walk.Walk(data, new SegmentExpectation(_chain, index, header!.FirstSequence, header.PrevSeal, header.PrevHead), mayBeOpen: false, []);
        if (outcome.Error is { } finding) return $"[{finding.Code}] {finding.Message}";
        if (lastSeal is not null && Seal.TryDecode(lastSeal, out var kept, out _, out _) && kept!.Segment == index && !lastSeal.AsSpan().SequenceEqual(outcome.SealNote))
            return $"its seal differs from last-seal, the chain's record of segment {index}'s seal";
        return null;
    }

    /// <summary>last-seal when it is a seal of this chain that verifies with the chain's keys; a forged one is recovery's to report, not evidence against a segment.</summary>
    private byte[]? VerifiedLastSeal()
    {
        string path = Path.Combine(_chainDir, SegmentNames.LastSealName);
        if (!_fs.Exists(path)) return null;
        var note = _fs.ReadAllBytes(path);
        return Seal.TryDecode(note, out var seal, out var parsed, out _) && seal!.Chain == _chain && _keys.Check(seal.KeyId, parsed!) == NoteTrust.Verified ? note : null;
    }

    /// <summary>Counts the pass, and reports the first failure and the recovery (not every retry).</summary>
    private void ReportHealth(string? error)
    {
        if (error is null)
        {
            LastSuccessUnixSeconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (_failing) Report($"audit shipping: working again; backlog 0 segments (chain {_chain})");
            _failing = false;
            return;
        }
        FailedPasses++;
        if (!_failing) Report($"audit shipping: failing ({error}); {BacklogSegments} sealed segment(s), {BacklogBytes} bytes kept locally until it works again (chain {_chain})");
        _failing = true;
    }

    private void Report(string message)
    {
        try { _options.OnProblem?.Invoke(message); }
        catch (Exception) { /* a logger must not stop shipping */ }
    }

    /// <summary>Runs <paramref name="action"/> up to MaxAttempts times with doubling backoff; default on final failure.</summary>
    private async Task<T?> WithRetriesAsync<T>(Func<Task<T>> action, CancellationToken ct)
    {
        var delay = _options.InitialBackoff;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await action().ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException && attempt < _options.MaxAttempts)
            {
                LastError = StoreProblem.Describe(e);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LastError = StoreProblem.Describe(e);
                return default;
            }
            await Task.Delay(delay, ct).ConfigureAwait(false);
            delay += delay;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _loop.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        _store.Dispose();
        _keys.Dispose();
        _stop.Dispose();
    }
}
