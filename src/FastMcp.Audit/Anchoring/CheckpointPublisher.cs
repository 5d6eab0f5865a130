using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FastMcp.Audit.Format;
using FastMcp.Audit.Shipping;

namespace FastMcp.Audit.Anchoring;

/// <summary>
/// Publishes signed checkpoints outside the host: create-only to the object store and, when set, as
/// an HTTP POST to a witness. The audit writer only hands over the newest note (no I/O, no wait);
/// a background loop publishes it, retrying with whatever is newest by then. Failures never touch
/// the data path: they are counted, kept in <see cref="LastError"/> and reported to
/// <see cref="AnchorOptions.OnProblem"/>.
/// </summary>
public sealed class CheckpointPublisher : IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly ISegmentStore? _store;
    private readonly HttpClient? _witness;
    private readonly Uri? _witnessUrl;
    private readonly string? _witnessToken;
    private readonly string _chain;
    private readonly AnchorOptions _options;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    // Cancels a publish in flight: only when the shutdown budget runs out, not at stop. A request cancelled at stop
    // may still reach the witness after the final checkpoint does, and a witness would then hold an older one last.
    private readonly CancellationTokenSource _publishing = new();
    private readonly SemaphoreSlim _publishLock = new(1, 1);
    private byte[]? _pending;
    private long _storedSequence = -1;
    private long _witnessedSequence = -1;
    private long _published;
    private long _failures;
    private long _conflicts;
    private Task _loop = Task.CompletedTask;

    private CheckpointPublisher(ISegmentStore? store, AuditOptions options)
    {
        _store = store;
        _chain = options.ChainId;
        _options = options.Anchoring;
        if (_options.WitnessUrl is { } url)
        {
            _witnessUrl = new Uri(url);
            // Read before the client is made: a file that cannot be read leaves nothing to release.
            if (_options.WitnessTokenFile is { } tokenFile) _witnessToken = File.ReadAllText(tokenFile).Trim();
            // The system store, or only the CAs of anchoring.caFile (a witness behind a private CA).
            X509ChainPolicy? privateCa = _options.CaFile is null ? null : _options.LoadWitnessCaPolicy();
            // No redirect is followed: a 307 would resend the signed checkpoint, and the witness token, to wherever it points.
            _witness = new HttpClient(FastMcp.Http.PrivateCaTrust.Apply(FastMcp.Http.RedirectRefusal.Handler(), privateCa)) { Timeout = _options.Timeout };
        }
    }

    /// <summary>The publisher <paramref name="options"/> ask for, or null when checkpoints stay on the host.</summary>
    public static CheckpointPublisher? Create(AuditOptions options)
    {
        bool toStore = options.Anchoring.PublishToStore && options.Shipping is not null;
        if (!toStore && options.Anchoring.WitnessUrl is null) return null;
        ISegmentStore? store = toStore ? SegmentStores.Create(options.Shipping!) : null;
        try
        {
            return new CheckpointPublisher(store, options);
        }
        catch
        {
            store?.Dispose();
            throw;
        }
    }

    /// <summary>Checkpoints published to every configured place.</summary>
    public long Published => Volatile.Read(ref _published);
    /// <summary>Publish attempts that failed (each is retried with the newest checkpoint).</summary>
    public long Failures => Volatile.Read(ref _failures);
    /// <summary>Published checkpoints at this sequence with another chain head: a fork or a rolled-back log.</summary>
    public long Conflicts => Volatile.Read(ref _conflicts);
    /// <summary>The newest sequence published to every configured place; -1 before the first.</summary>
    public long LastPublishedSequence => Math.Min(_store is null ? long.MaxValue : Volatile.Read(ref _storedSequence), _witness is null ? long.MaxValue : Volatile.Read(ref _witnessedSequence));
    public string? LastError { get; private set; }

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Hands over a newly written checkpoint note; returns at once.</summary>
    public void Offer(byte[] note)
    {
        Volatile.Write(ref _pending, note);
        try { _wake.Release(); }
        catch (SemaphoreFullException) { } // already signalled
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        TimeSpan backoff = TimeSpan.FromMilliseconds(500);
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _wake.WaitAsync(token).ConfigureAwait(false);
                while (!await PublishPendingAsync(_publishing.Token).ConfigureAwait(false))
                {
                    await Task.Delay(backoff, token).ConfigureAwait(false);
                    backoff = backoff * 2 > MaxBackoff ? MaxBackoff : backoff * 2;
                }
                backoff = TimeSpan.FromMilliseconds(500);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested || _publishing.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Publishes the newest offered checkpoint, if any is newer than what is published. False when a place failed (the note is kept for a retry).</summary>
    public async Task<bool> PublishPendingAsync(CancellationToken ct = default)
    {
        await _publishLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            byte[]? note = Interlocked.Exchange(ref _pending, null);
            if (note is null) return true;
            if (!Checkpoint.TryDecode(note, out var cp, out _, out var error))
            {
                Fail($"audit anchor: a checkpoint note cannot be read ({error}); not published");
                return true;
            }
            bool ok = true;
            if (_store is not null && cp!.Sequence > Volatile.Read(ref _storedSequence)) ok &= await StoreAsync(cp, note, ct).ConfigureAwait(false);
            if (_witness is not null && cp!.Sequence > Volatile.Read(ref _witnessedSequence)) ok &= await WitnessAsync(cp, note, ct).ConfigureAwait(false);
            if (ok)
            {
                Interlocked.Increment(ref _published);
                LastError = null;
            }
            else
            {
                Interlocked.CompareExchange(ref _pending, note, null); // retry it unless a newer one came
            }
            return ok;
        }
        finally
        {
            _publishLock.Release();
        }
    }

    private async Task<bool> StoreAsync(Checkpoint cp, byte[] note, CancellationToken ct)
    {
        string key = AnchorNames.Key(_chain, cp.Sequence);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(_options.Timeout);
            var result = await _store!.PutIfAbsentAsync(key, note, SHA256.HashData(note), timeout.Token).ConfigureAwait(false);
            if (result == PutResult.Conflict)
            {
                // Idle checkpoints repeat a sequence with a later time: the same head there is no conflict.
                var existing = await _store.GetAsync(key, timeout.Token).ConfigureAwait(false);
                if (existing is null || !Checkpoint.TryDecode(existing, out var other, out _, out _) || other!.Chain != cp.Chain || !other.Head.AsSpan().SequenceEqual(cp.Head))
                {
                    Interlocked.Increment(ref _conflicts);
                    Fail($"audit anchor: {_store.Describe(key)} already holds a different checkpoint for sequence {cp.Sequence} of chain '{cp.Chain}' (two writers on one chain id, or a rolled-back log); not overwritten");
                }
            }
            Volatile.Write(ref _storedSequence, cp.Sequence);
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException && !ct.IsCancellationRequested)
        {
            Fail($"audit anchor: publishing checkpoint {cp.Sequence} to {_store!.Describe(key)} failed: {StoreProblem.Describe(e)}");
            return false;
        }
    }

    private async Task<bool> WitnessAsync(Checkpoint cp, byte[] note, CancellationToken ct)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _witnessUrl) { Content = new ByteArrayContent(note) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
            if (_witnessToken is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _witnessToken);
            using var response = await _witness!.SendAsync(request, ct).ConfigureAwait(false);
            if (FastMcp.Http.RedirectRefusal.IsRedirect(response.StatusCode))
            {
                Fail($"audit anchor: witness {FastMcp.Http.RedirectRefusal.Describe(_witnessUrl!.GetLeftPart(UriPartial.Path), response.StatusCode)}, for checkpoint {cp.Sequence}");
                return false;
            }
            if (!response.IsSuccessStatusCode)
            {
                Fail($"audit anchor: witness {_witnessUrl!.GetLeftPart(UriPartial.Path)} answered {(int)response.StatusCode} for checkpoint {cp.Sequence}");
                return false;
            }
            Volatile.Write(ref _witnessedSequence, cp.Sequence);
            return true;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException && !ct.IsCancellationRequested)
        {
            Fail($"audit anchor: witness {_witnessUrl!.GetLeftPart(UriPartial.Path)} failed for checkpoint {cp.Sequence}: {FastMcp.Http.PlainError.Describe(e)}");
            return false;
        }
    }

    private void Fail(string message)
    {
        Interlocked.Increment(ref _failures);
        LastError = message;
        try { _options.OnProblem?.Invoke(message); }
        catch (Exception) { } // a broken logger must not stop publishing
    }

    /// <summary>
    /// Stops the loop (a publish in flight finishes first, so checkpoints reach every place in order), then makes one
    /// attempt to publish the newest checkpoint (the one written at shutdown); both within one anchoring timeout.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        using (var last = new CancellationTokenSource(_options.Timeout))
        using (last.Token.UnsafeRegister(static p => ((CancellationTokenSource)p!).Cancel(), _publishing))
        {
            _stop.Cancel();
            await _loop.ConfigureAwait(false);
            try { await PublishPendingAsync(last.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        _store?.Dispose();
        _witness?.Dispose();
        _stop.Dispose();
        _publishing.Dispose();
        _wake.Dispose();
        _publishLock.Dispose();
    }
}
