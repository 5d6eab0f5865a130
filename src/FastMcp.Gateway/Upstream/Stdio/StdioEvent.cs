namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// What a stdio upstream's server processes, or whoever reaches its bridge, can cause once per message or per session:
/// each is counted in <c>fastmcp_stdio_events_total{upstream,event}</c> and logged at a bounded rate (StdioEventLog).
/// </summary>
internal enum StdioEvent
{
    /// <summary>A request to the bridge without the gateway's secret (another local process).</summary>
    BridgeRefused,
    /// <summary>A stdout line that is not one JSON-RPC message.</summary>
    InvalidLine,
    /// <summary>A server message dropped: no GET stream open and the held queue full.</summary>
    HeldDropped,
    /// <summary>A server process that could not be started for a new session.</summary>
    StartFailed,
    /// <summary>A server process killed after stopGraceMs.</summary>
    Killed,
    /// <summary>A server process started for a new session.</summary>
    SessionStarted,
    /// <summary>A session ended (its process is being stopped).</summary>
    SessionEnded,
    /// <summary>A line the server wrote to its stderr.</summary>
    StderrLine,
}

internal static class StdioEvents
{
    public const int Count = 8;

    /// <summary>The label of <c>fastmcp_stdio_events_total{event}</c>.</summary>
    public static string Label(StdioEvent e) => e switch
    {
        StdioEvent.BridgeRefused => "bridge_refused",
        StdioEvent.InvalidLine => "invalid_line",
        StdioEvent.HeldDropped => "held_dropped",
        StdioEvent.StartFailed => "start_failed",
        StdioEvent.Killed => "killed",
        StdioEvent.SessionStarted => "session_started",
        StdioEvent.SessionEnded => "session_ended",
        _ => "stderr_line",
    };

    /// <summary>
    /// Lines of a kind written per interval before the rest are held back: one for faults; more for what an operator
    /// reads as the server's own story (its stderr, its sessions), so a normal start or a crash's stack trace is whole.
    /// </summary>
    public static int Burst(StdioEvent e) => e switch
    {
        StdioEvent.StderrLine => 50,
        StdioEvent.SessionStarted or StdioEvent.SessionEnded => 10,
        _ => 1,
    };
}
