using System.Diagnostics;

namespace FastMcp.Gateway.RateLimiting;

/// <summary>
/// Token buckets keyed by a string (a client address, a subject) in a fixed-size table: 4-way set-associative,
/// the set chosen by the key's (per-process randomized) hash. A key not in its set takes an empty way, else the
/// least recently used one: a flood of distinct keys costs no memory beyond the table, and allocates nothing.
/// Refusals are counted per key for the aggregate audit record; those of an evicted key are kept as "other".
/// </summary>
internal sealed class TokenBucketTable
{
    private const int Ways = 4;

    private struct Bucket
    {
        public string? Key;
        public double Tokens;
        public long LastRefill;
        public long Refused;
    }

    private readonly Bucket[] _buckets;
    private readonly object[] _locks;
    private readonly int _setMask;
    private readonly double _tokensPerTick;
    private readonly double _burst;
    private long _evictedRefused;

    public TokenBucketTable(int perMinute, int burst, int capacity)
    {
        int sets = 1;
        while (sets * Ways < capacity) sets <<= 1;
        _buckets = new Bucket[sets * Ways];
        _locks = new object[sets];
        for (int i = 0; i < sets; i++) _locks[i] = new object();
        _setMask = sets - 1;
        _tokensPerTick = perMinute / 60.0 / Stopwatch.Frequency;
        _burst = burst > 0 ? burst : perMinute;
    }

    public int Capacity => _buckets.Length;

    /// <summary>Takes one token for <paramref name="key"/>. False: refused; <paramref name="retryAfterSeconds"/> says when a token is back.</summary>
    public bool TryTake(string key, out int retryAfterSeconds)
    {
        long now = Stopwatch.GetTimestamp();
        int set = key.GetHashCode() & _setMask;
        lock (_locks[set])
        {
            ref Bucket b = ref Find(set, key, now);
            double tokens = Math.Min(_burst, b.Tokens + (now - b.LastRefill) * _tokensPerTick);
            b.LastRefill = now;
            if (tokens >= 1)
            {
                b.Tokens = tokens - 1;
                retryAfterSeconds = 0;
                return true;
            }
            b.Tokens = tokens;
            b.Refused++;
            retryAfterSeconds = Math.Max(1, (int)Math.Ceiling((1 - tokens) / (_tokensPerTick * Stopwatch.Frequency)));
            return false;
        }
    }

    /// <summary>
    /// True when <paramref name="key"/> is tracked and has no whole token left (its refusal is counted); a key
    /// not in the table has its whole budget and is not added. Takes nothing.
    /// </summary>
    public bool IsExhausted(string key, out int retryAfterSeconds)
    {
        retryAfterSeconds = 0;
        long now = Stopwatch.GetTimestamp();
        int set = key.GetHashCode() & _setMask;
        lock (_locks[set])
        {
            for (int i = set * Ways; i < (set + 1) * Ways; i++)
            {
                ref Bucket b = ref _buckets[i];
                if (b.Key is null || !string.Equals(b.Key, key, StringComparison.Ordinal)) continue;
                double tokens = Math.Min(_burst, b.Tokens + (now - b.LastRefill) * _tokensPerTick);
                b.Tokens = tokens;
                b.LastRefill = now;
                if (tokens >= 1) return false;
                b.Refused++;
                retryAfterSeconds = Math.Max(1, (int)Math.Ceiling((1 - tokens) / (_tokensPerTick * Stopwatch.Frequency)));
                return true;
            }
            return false;
        }
    }

    /// <summary>Spends one token of <paramref name="key"/> (tracking it if new) without refusing: the event already happened.</summary>
    public void Spend(string key)
    {
        long now = Stopwatch.GetTimestamp();
        int set = key.GetHashCode() & _setMask;
        lock (_locks[set])
        {
            ref Bucket b = ref Find(set, key, now);
            double tokens = Math.Min(_burst, b.Tokens + (now - b.LastRefill) * _tokensPerTick);
            b.Tokens = Math.Max(0, tokens - 1);
            b.LastRefill = now;
        }
    }

    private ref Bucket Find(int set, string key, long now)
    {
        int first = set * Ways;
        int victim = first;
        for (int i = first; i < first + Ways; i++)
        {
            ref Bucket b = ref _buckets[i];
            if (b.Key is not null && (ReferenceEquals(b.Key, key) || string.Equals(b.Key, key, StringComparison.Ordinal))) return ref b;
            if (b.Key is null) { victim = i; break; }
            if (b.LastRefill < _buckets[victim].LastRefill) victim = i;
        }
        ref Bucket v = ref _buckets[victim];
        if (v.Refused > 0) Interlocked.Add(ref _evictedRefused, v.Refused);
        v.Key = key;
        v.Tokens = _burst;
        v.LastRefill = now;
        v.Refused = 0;
        return ref v;
    }

    /// <summary>Takes the refusal counts since the last call: (key, count) per key refused, and the count of evicted keys.</summary>
    public List<(string Key, long Refused)> DrainRefused(out long evicted)
    {
        var drained = new List<(string, long)>();
        for (int set = 0; set < _locks.Length; set++)
        {
            lock (_locks[set])
            {
                for (int i = set * Ways; i < (set + 1) * Ways; i++)
                {
                    ref Bucket b = ref _buckets[i];
                    if (b.Refused == 0 || b.Key is null) continue;
                    drained.Add((b.Key, b.Refused));
                    b.Refused = 0;
                }
            }
        }
        evicted = Interlocked.Exchange(ref _evictedRefused, 0);
        return drained;
    }
}
