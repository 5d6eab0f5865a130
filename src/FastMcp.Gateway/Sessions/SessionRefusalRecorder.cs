using FastMcp.Gateway.Stages;

namespace FastMcp.Gateway.Sessions;

/// <summary>
/// Records the requests refused for naming a session not the caller's in aggregate: every sessions.recordIntervalSeconds
/// one Denied record (HTTP 404) per caller, upstream and reason that had any, with the count, instead of a durable record
/// per refused request of a flood (a caller guessing ids must not be able to fill the audit log).
/// </summary>
/// <param name="describeUpstream">an upstream's name to what its records call it (its url, or stdio:COMMAND)</param>
internal sealed class SessionRefusalRecorder(SessionRefusalTally tally, TimeSpan interval, AuditRecording audit, Func<string, string?> describeUpstream)
    : Hosting.PeriodicRecorder(interval)
{
    // During an audit outage, one line per caller and pass would let many callers (or many guessed subjects) flood the log.
    private readonly Hosting.ThrottledWarning _lostLine = new(Hosting.LogRateLimit.IntervalMs);

    protected override async Task RecordPassAsync()
    {
        foreach (SessionRefusalSummary refused in tally.Drain())
        {
            try
            {
                await audit.RecordSessionRefusalsAsync(refused, refused.Upstream is { } name ? describeUpstream(name) : null, Interval).ConfigureAwait(false);
            }
            catch (FastMcp.Audit.AuditUnavailableException)
            {
                if (_lostLine.TryTake(out int held))
                    Hosting.Log.Warn($"audit log unavailable: {refused.Refused} request(s) of {refused.Subject ?? "callers no longer tracked"} refused for naming a session not theirs could not be recorded"
                        + Hosting.LogRateLimit.Held(held));
            }
        }
    }
}
