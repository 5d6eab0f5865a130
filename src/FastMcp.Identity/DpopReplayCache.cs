using System.Collections.Concurrent;

namespace FastMcp.Identity;

/// <summary>
/// The DPoP proofs (key thumbprint and jti) accepted within the proof window, so that none is accepted twice
/// (RFC 9449 §11.1). Bounded: when it holds its capacity of proofs that are all still inside the window, a new proof
/// is refused rather than an entry forgotten (forgetting one would let that proof be replayed).
/// </summary>
internal sealed class DpopReplayCache(int capacity)
{
    public enum Outcome : byte { Recorded, Replayed, Full }

    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private readonly Lock _trimLock = new();
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Records <paramref name="key"/> until <paramref name="forgetAfter"/> (after which its proof is stale anyway).</summary>
    public Outcome TryRecord(string key, DateTimeOffset forgetAfter, DateTimeOffset now)
    {
        if (Volatile.Read(ref _count) >= capacity)
        {
            lock (_trimLock)
            {
                foreach (var pair in _seen)
                {
                    if (pair.Value <= now && _seen.TryRemove(pair))
                        Interlocked.Decrement(ref _count);
                }
                if (Volatile.Read(ref _count) >= capacity)
                    return _seen.TryGetValue(key, out DateTimeOffset until) && until > now ? Outcome.Replayed : Outcome.Full;
            }
        }
        if (_seen.TryAdd(key, forgetAfter))
        {
            Interlocked.Increment(ref _count);
            return Outcome.Recorded;
        }
        // Seen before: a replay unless the earlier entry has left the window (it is then replaced).
        if (_seen.TryGetValue(key, out DateTimeOffset previous) && previous > now)
            return Outcome.Replayed;
        return _seen.TryUpdate(key, forgetAfter, previous) ? Outcome.Recorded : Outcome.Replayed;
    }
}
