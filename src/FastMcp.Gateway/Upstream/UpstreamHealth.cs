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

    public string Name => name;
    public bool IsUp => Volatile.Read(ref _down) == 0;

    /// <summary>Why it is down (the last failure); empty when up.</summary>
    public string Reason => IsUp ? "" : Volatile.Read(ref _reason);

    public void ReportReachable()
    {
        if (Volatile.Read(ref _down) == 0) return;
        if (Interlocked.Exchange(ref _down, 0) == 1) Log.Info($"upstream '{name}' is up again");
    }

    public void ReportUnreachable(string reason)
    {
        Volatile.Write(ref _reason, reason);
        if (Volatile.Read(ref _down) == 1) return;
        if (Interlocked.Exchange(ref _down, 1) == 0) Log.Warn($"upstream '{name}' is down: {reason}");
    }
}
