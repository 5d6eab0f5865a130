using FastMcp.Gateway.Hosting;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// One stdio upstream's log gate: a server process (its stdout, its stderr) and any local process reaching the bridge
/// can cause a line per message or per session, so each kind of line is written at most
/// <see cref="StdioEvents.Burst"/> times per <see cref="LogRateLimit.IntervalMs"/>, the next written line saying how many
/// were held back. Every occurrence is counted for /metrics. Callers ask before they build the message.
/// </summary>
internal sealed class StdioEventLog
{
    private readonly long[] _counts = new long[StdioEvents.Count];
    private readonly ThrottledWarning[] _gates = new ThrottledWarning[StdioEvents.Count];

    public StdioEventLog()
    {
        for (int i = 0; i < _gates.Length; i++) _gates[i] = new ThrottledWarning(LogRateLimit.IntervalMs, StdioEvents.Burst((StdioEvent)i));
    }

    /// <summary>Counts one <paramref name="e"/>; true when its line may be written now, <paramref name="held"/> the lines held back since the last.</summary>
    public bool Count(StdioEvent e, out int held)
    {
        Interlocked.Increment(ref _counts[(int)e]);
        return _gates[(int)e].TryTake(out held);
    }

    public long Total(StdioEvent e) => Volatile.Read(ref _counts[(int)e]);
}
