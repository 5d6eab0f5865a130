using System.Collections.Concurrent;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Per-source budget for failed authentication (a token bucket per client address). An unauthenticated flood
/// used to cost one durable audit record per request (about 1 MB/s from one client): within the budget each
/// failure is recorded on its own; beyond it the source is answered 429 before its token is even validated,
/// and what was refused is recorded in aggregate, one record per source per interval with the count
/// (PCI DSS 10.2.1.4: invalid logical access attempts are still all accounted for).
/// </summary>
internal sealed class FailedAuthenticationLimiter
{
    private sealed class Source
    {
        public double Tokens;
        public long LastRefillTicks;
        public long Refused;
        public long LastSeenTicks;
    }

    private readonly ConcurrentDictionary<string, Source> _sources = new(StringComparer.Ordinal);
    private readonly double _perSecond;
    private readonly double _burst;
    private readonly int _maxSources;
    private readonly TimeProvider _time;

    public FailedAuthenticationLimiter(FailedAuthenticationOptions options, TimeProvider? time = null)
    {
        _perSecond = options.PerMinute / 60.0;
        _burst = options.Burst;
        _maxSources = options.MaxTrackedSources;
        RecordInterval = TimeSpan.FromSeconds(options.RecordIntervalSeconds);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>How often refused attempts are summed into one audit record per source.</summary>
    public TimeSpan RecordInterval { get; }

    /// <summary>
    /// True when <paramref name="address"/> has used up its budget: refuse it (429) without validating anything,
    /// and count the attempt for the aggregate record. <paramref name="retryAfterSeconds"/> says when a token is back.
    /// </summary>
    public bool IsExhausted(string address, out int retryAfterSeconds)
    {
        retryAfterSeconds = 0;
        if (!_sources.TryGetValue(address, out Source? source)) return false;
        lock (source)
        {
            Refill(source);
            if (source.Tokens >= 1) return false;
            source.Refused++;
            retryAfterSeconds = Math.Max(1, (int)Math.Ceiling((1 - source.Tokens) / _perSecond));
            return true;
        }
    }

    /// <summary>Takes one failure from the source's budget (call after a failure that was recorded on its own).</summary>
    public void CountFailure(string address)
    {
        long now = _time.GetTimestamp();
        if (!_sources.TryGetValue(address, out Source? source))
        {
            if (_sources.Count >= _maxSources) Prune();
            source = _sources.GetOrAdd(address, _ => new Source { Tokens = _burst, LastRefillTicks = now });
        }
        lock (source)
        {
            Refill(source);
            source.Tokens = Math.Max(0, source.Tokens - 1);
            source.LastSeenTicks = now;
        }
    }

    /// <summary>Takes the refused counts since the last call: (address, count) for each source that was refused.</summary>
    public List<(string Address, long Refused)> DrainRefused()
    {
        var drained = new List<(string, long)>();
        foreach ((string address, Source source) in _sources)
        {
            long refused;
            lock (source)
            {
                refused = source.Refused;
                source.Refused = 0;
            }
            if (refused > 0) drained.Add((address, refused));
        }
        return drained;
    }

    private void Refill(Source source)
    {
        long now = _time.GetTimestamp();
        double seconds = _time.GetElapsedTime(source.LastRefillTicks, now).TotalSeconds;
        source.Tokens = Math.Min(_burst, source.Tokens + seconds * _perSecond);
        source.LastRefillTicks = now;
    }

    /// <summary>Forgets sources whose budget is whole again and that have nothing left to record.</summary>
    private void Prune()
    {
        foreach ((string address, Source source) in _sources)
        {
            lock (source)
            {
                Refill(source);
                if (source.Tokens >= _burst && source.Refused == 0) _sources.TryRemove(address, out _);
            }
        }
    }
}
