using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;

namespace FastMcp.Gateway.RateLimiting;

/// <summary>
/// Records requests refused by a rate limit in aggregate: every interval one Denied record (HTTP 429) per client
/// address or subject that was refused, with the count, instead of a durable record per refused request of a flood.
/// </summary>
internal sealed class RateLimitRecorder(RateLimits limits, AuditRecording audit) : PeriodicRecorder(limits.RecordInterval)
{
    // During an audit outage, one line per refused address and pass would let a flood from many addresses flood the log.
    private readonly ThrottledWarning _lostLine = new(LogRateLimit.IntervalMs);

    protected override async Task RecordPassAsync()
    {
        await DrainAsync(limits.PerClientAddress, RateLimitScope.ClientAddress).ConfigureAwait(false);
        await DrainAsync(limits.PerSubject, RateLimitScope.Subject).ConfigureAwait(false);
        foreach ((FastMcp.Policy.CompiledRule rule, TokenBucketTable table) in limits.RuleTables())
            await DrainAsync(table, RateLimitScope.Rule, rule.Name).ConfigureAwait(false);
    }

    private async Task DrainAsync(TokenBucketTable? table, RateLimitScope scope, string? ruleName = null)
    {
        if (table is null) return;
        List<(string Key, long Refused)> refused = table.DrainRefused(out long evicted);
        if (evicted > 0) refused.Add((null!, evicted));
        foreach ((string key, long count) in refused)
        {
            try
            {
                await audit.RecordRateLimitedAsync(scope, key, count, limits.RecordInterval, ruleName).ConfigureAwait(false);
            }
            catch (FastMcp.Audit.AuditUnavailableException)
            {
                if (_lostLine.TryTake(out int held))
                    Log.Warn($"audit log unavailable: {count} request(s) refused by the {RateLimits.Name(scope)} rate limit could not be recorded" + LogRateLimit.Held(held));
            }
        }
    }
}
