using FastMcp.Audit;

namespace FastMcp.Gateway.Transport.Epoll;

/// <summary>
/// Where a Strict audit group's waiters resume (<see cref="AuditContinuations"/>): on our socket loops, which are
/// awake under load anyway, instead of a thread-pool worker woken for each group. FASTMCP_AUDIT_RESUME chooses:
/// "loops" or "pool" ("writer" is the audit log's own measurement mode). Without our loops (runtime socket engine)
/// groups go to the pool whatever is chosen.
/// </summary>
internal static class AuditResumeOnLoops
{
    public const string Variable = "FASTMCP_AUDIT_RESUME";

    /// <summary>The mode without the variable.</summary>
    public const bool OnLoopsByDefault = false;

    private static readonly Action<IThreadPoolWorkItem> PostToLoop = static work =>
    {
        if (!ReadinessEngine.PostAny(work)) ThreadPool.UnsafeQueueUserWorkItem(work, preferLocal: false);
    };

    /// <summary>Applies the mode (process-wide; the loops are too).</summary>
    public static void Apply()
    {
        string? mode = Environment.GetEnvironmentVariable(Variable);
        bool onLoops = string.IsNullOrEmpty(mode) ? OnLoopsByDefault : string.Equals(mode, "loops", StringComparison.OrdinalIgnoreCase);
        AuditContinuations.UseScheduler(onLoops ? PostToLoop : null);
    }
}
