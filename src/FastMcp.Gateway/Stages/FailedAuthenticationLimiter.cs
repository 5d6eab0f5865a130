using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.RateLimiting;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Per-source budget for failed authentication (a token bucket per client address). An unauthenticated flood
/// used to cost one durable audit record per request (about 1 MB/s from one client): within the budget each
/// failure is recorded on its own; beyond it the source is answered 429 before its token is even validated,
/// and what was refused is recorded in aggregate, one record per source per interval with the count
/// (PCI DSS 10.2.1.4: invalid logical access attempts are still all accounted for).
/// The buckets live in a fixed table (<see cref="TokenBucketTable"/>): a flood from ever new addresses costs no
/// memory beyond failedAuthentication.maxTrackedSources; refusals of addresses evicted before they were
/// recorded are still counted, in one record without an address.
/// </summary>
internal sealed class FailedAuthenticationLimiter
{
    private readonly TokenBucketTable _table;

    public FailedAuthenticationLimiter(FailedAuthenticationOptions options)
    {
        _table = new TokenBucketTable(options.PerMinute, options.Burst, options.MaxTrackedSources);
        RecordInterval = TimeSpan.FromSeconds(options.RecordIntervalSeconds);
    }

    /// <summary>How often refused attempts are summed into one audit record per source.</summary>
    public TimeSpan RecordInterval { get; }

    /// <summary>Addresses the table can hold at once (maxTrackedSources rounded up to whole sets).</summary>
    public int Capacity => _table.Capacity;

    /// <summary>
    /// True when <paramref name="address"/> has used up its budget: refuse it (429) without validating anything,
    /// and count the attempt for the aggregate record. <paramref name="retryAfterSeconds"/> says when a token is back.
    /// </summary>
    public bool IsExhausted(string address, out int retryAfterSeconds) => _table.IsExhausted(address, out retryAfterSeconds);

    /// <summary>Takes one failure from the source's budget (call after a failure that was recorded on its own).</summary>
    public void CountFailure(string address) => _table.Spend(address);

    /// <summary>
    /// Takes the refused counts since the last call: (address, count) for each source that was refused, and
    /// (null, count) for the refusals of sources evicted from the table in the meantime.
    /// </summary>
    public List<(string? Address, long Refused)> DrainRefused()
    {
        List<(string Key, long Refused)> refused = _table.DrainRefused(out long evicted);
        var drained = new List<(string? Address, long Refused)>(refused.Count + 1);
        foreach ((string key, long count) in refused) drained.Add((key, count));
        if (evicted > 0) drained.Add((null, evicted));
        return drained;
    }
}
