using System.Collections.Concurrent;

namespace FastMcp.Identity;

/// <summary>
/// The DPoP proofs (key thumbprint and jti) accepted within the proof window, so that none is accepted twice
/// (RFC 9449 §11.1). Bounded: when it holds its capacity of proofs that are all still inside the window, a new proof
/// is refused rather than an entry forgotten (forgetting one would let that proof be replayed).
/// A proof is remembered for the retention after its iat: the longest window (identity.dpop.maxAgeSeconds) any
/// verifier sharing this cache has accepted proofs under, so a reload that widens the window does not let a proof
/// the narrower one forgot be accepted again.
/// </summary>
internal sealed class DpopReplayCache(int capacity, TimeSpan retention)
{
    public enum Outcome : byte { Recorded, Replayed, Full }

    // The iat of each remembered proof.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private readonly Lock _trimLock = new();
    private long _retentionTicks = retention.Ticks;
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Remembers proofs at least <paramref name="window"/> after their iat from now on (never shortens).</summary>
    public void Retain(TimeSpan window)
    {
        long current = Volatile.Read(ref _retentionTicks);
        while (window.Ticks > current)
        {
            long seen = Interlocked.CompareExchange(ref _retentionTicks, window.Ticks, current);
            if (seen == current) return;
            current = seen;
        }
    }

    private bool Live(DateTimeOffset issued, DateTimeOffset now) => issued.AddTicks(Volatile.Read(ref _retentionTicks)) > now;

    /// <summary>Records <paramref name="key"/>, a proof issued at <paramref name="issued"/>, unless it is remembered already.</summary>
    public Outcome TryRecord(string key, DateTimeOffset issued, DateTimeOffset now)
    {
        if (Volatile.Read(ref _count) >= capacity)
        {
            lock (_trimLock)
            {
                foreach (var pair in _seen)
                {
                    if (!Live(pair.Value, now) && _seen.TryRemove(pair))
                        Interlocked.Decrement(ref _count);
                }
                if (Volatile.Read(ref _count) >= capacity)
                    return _seen.TryGetValue(key, out DateTimeOffset earlier) && Live(earlier, now) ? Outcome.Replayed : Outcome.Full;
            }
        }
        if (_seen.TryAdd(key, issued))
        {
            Interlocked.Increment(ref _count);
            return Outcome.Recorded;
        }
        // Seen before: a replay unless the earlier entry has left the retention (it is then replaced).
        if (_seen.TryGetValue(key, out DateTimeOffset previous) && Live(previous, now))
            return Outcome.Replayed;
        return _seen.TryUpdate(key, issued, previous) ? Outcome.Recorded : Outcome.Replayed;
    }
}
