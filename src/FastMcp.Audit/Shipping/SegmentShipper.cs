using System.Security.Cryptography;
using FastMcp.Audit.Format;
using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Shipping;

/// <summary>What one shipping pass did.</summary>
public readonly record struct ShipPassResult(int Uploaded, int AlreadyPresent, int DeletedLocally, int Failed, int Conflicts);

/// <summary>
/// Copies sealed segments and the latest checkpoint to object storage. A local segment is deleted (or,
/// with a retention, marked ".shipped") only after the store reports the same SHA-256; uploads are
/// create-only, so a crash between upload and delete just finds the object already there next pass.
/// </summary>
public sealed class SegmentShipper : IAsyncDisposable
{
    public const string ShippedMarkerSuffix = ".shipped";

    private readonly ISegmentStore _store;
    private readonly IAuditFileSystem _fs;
    private readonly string _chainDir;
    private readonly string _chain;
    private readonly ShippingOptions _options;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly SemaphoreSlim _passLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private byte[]? _shippedCheckpoint;
    private Task _loop = Task.CompletedTask;

    public SegmentShipper(ISegmentStore store, IAuditFileSystem fs, string chainDir, string chain, ShippingOptions options)
    {
        _store = store;
        _fs = fs;
        _chainDir = chainDir;
        _chain = chain;
        _options = options;
    }

    /// <summary>The last shipping error, for health reporting; null after a clean pass.</summary>
    public string? LastError { get; private set; }

    /// <summary>Segments that exist with different content in the store (never overwritten; needs a human).</summary>
    public long ConflictCount { get; private set; }

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
                LastError = e.Message;
                ReportHealth(e.Message);
            }
        }
    }

    /// <summary>One pass over the local folder: upload, verify, then delete or mark every sealed segment.</summary>
    public async Task<ShipPassResult> ShipPendingAsync(CancellationToken ct = default)
    {
        await _passLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            int uploaded = 0, present = 0, deleted = 0, failed = 0, conflicts = 0;
            int backlog = 0;
            long backlogBytes = 0;
            var names = new List<string>(_fs.ListFileNames(_chainDir));
            names.Sort(StringComparer.Ordinal);
            var nameSet = new HashSet<string>(names, StringComparer.Ordinal);
            string? error = null;
            long lowestUnshipped = long.MaxValue;
            foreach (var name in names)
            {
                if (!SegmentNames.TryParse(name, out long index, out bool sealed_)) continue;
                if (!sealed_) { lowestUnshipped = Math.Min(lowestUnshipped, index); continue; }
                string path = Path.Combine(_chainDir, name);
                string marker = path + ShippedMarkerSuffix;
                if (nameSet.Contains(name + ShippedMarkerSuffix))
                {
                    if (DateTime.UtcNow - _fs.GetLastWriteTimeUtc(marker) >= _options.LocalRetention)
                    {
                        _fs.Delete(path);
                        _fs.Delete(marker);
                        deleted++;
                    }
                    continue;
                }
                var data = _fs.ReadAllBytes(path);
                var sha = SHA256.HashData(data);
                string key = _chain + "/" + name;
                var result = await WithRetriesAsync<PutResult?>(async () => await _store.PutIfAbsentAsync(key, data, sha, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
                if (result is null)
                {
                    failed++;
                    backlog++;
                    backlogBytes += data.Length;
                    lowestUnshipped = Math.Min(lowestUnshipped, index);
                    error = $"upload of {_store.Describe(key)} failed after {_options.MaxAttempts} attempts: {LastError}";
                    continue;
                }
                if (result == PutResult.Conflict)
                {
                    lowestUnshipped = Math.Min(lowestUnshipped, index);
                    conflicts++;
                    ConflictCount++;
                    backlog++;
                    backlogBytes += data.Length;
                    error = $"{_store.Describe(key)} exists with different content; local copy kept";
                    continue;
                }
                if (result == PutResult.Created) uploaded++; else present++;
                var stored = await WithRetriesAsync(() => _store.GetSha256Async(key, ct), ct).ConfigureAwait(false);
                if (stored is null || !stored.AsSpan().SequenceEqual(sha))
                {
                    lowestUnshipped = Math.Min(lowestUnshipped, index);
                    failed++;
                    backlog++;
                    backlogBytes += data.Length;
                    error = $"{_store.Describe(key)} did not verify after upload; local copy kept";
                    continue;
                }
                if (_options.LocalRetention == TimeSpan.Zero)
                {
                    _fs.Delete(path);
                    deleted++;
                }
                else
                {
                    _fs.ReplaceDurably(marker, sha);
                }
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
            BacklogSegments = backlog;
            BacklogBytes = backlogBytes;
            ReportHealth(error);
            return new ShipPassResult(uploaded, present, deleted, failed, conflicts);
        }
        finally
        {
            _passLock.Release();
        }
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
                LastError = e.Message;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LastError = e.Message;
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
        _stop.Dispose();
    }
}
