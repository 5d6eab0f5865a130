using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Upstream;

/// <summary>
/// Whether one upstream is up (/readyz, fastmcp_upstream_up). Forwarding reports every outcome: a connect that failed
/// marks it down, a response head marks it up; while it is down, <see cref="UpstreamProbe"/> tries a TCP connect each
/// probeIntervalMs so it comes back without client traffic. Unknown at start counts as up. Reporting allocates
/// nothing except on a change of state (one log line).
/// </summary>
internal sealed class UpstreamHealth(string name)
{
    private int _down;
    private string _reason = "";
    private long _wentDown;
    // An upstream (or what stands before it) that refuses every other connection flips state per request: the changes
    // are logged at most once per interval, the next line saying how many were held back; fastmcp_upstream_up is the state.
    private readonly ThrottledWarning _changeLine = new(LogRateLimit.IntervalMs);

    public string Name => name;
    public bool IsUp => Volatile.Read(ref _down) == 0;

    /// <summary>Why it is down (the last failure); empty when up.</summary>
    public string Reason => IsUp ? "" : Volatile.Read(ref _reason);

    /// <summary>Times it went from up to down (fastmcp_upstream_down_total).</summary>
    public long WentDown => Volatile.Read(ref _wentDown);

    public void ReportReachable()
    {
        if (Volatile.Read(ref _down) == 0) return;
        if (Interlocked.Exchange(ref _down, 0) == 1 && _changeLine.TryTake(out int held)) Log.Info($"upstream '{name}' is up again" + LogRateLimit.Held(held, "changes of state"));
    }

    public void ReportUnreachable(string reason)
    {
        Volatile.Write(ref _reason, reason);
        if (Volatile.Read(ref _down) == 1) return;
        if (Interlocked.Exchange(ref _down, 1) != 0) return;
        Interlocked.Increment(ref _wentDown);
        if (_changeLine.TryTake(out int held)) Log.Warn($"upstream '{name}' is down: {reason}" + LogRateLimit.Held(held, "changes of state"));
    }
}
