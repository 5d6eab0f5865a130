namespace FastMcp.Audit;

/// <summary>
/// Where a Strict group commit's waiters are resumed once their records are durable. By default one thread-pool
/// work item per group. A host whose own threads are awake under load anyway (the gateway's socket loops) can take
/// them instead: waking a pool worker per group, and its going back to sleep, was half of the pool workers' samples
/// in the Strict profile (bench/RESULTS.md, "Where Strict's CPU goes now"). Failed groups always go to the pool.
/// </summary>
public static class AuditContinuations
{
    private static Action<IThreadPoolWorkItem>? s_scheduler;

    /// <summary>Resumes durable groups with <paramref name="scheduler"/> (null: the thread pool). Process-wide.</summary>
    public static void UseScheduler(Action<IThreadPoolWorkItem>? scheduler) => Volatile.Write(ref s_scheduler, scheduler);

    internal static void Schedule(IThreadPoolWorkItem group)
    {
        Action<IThreadPoolWorkItem>? scheduler = Volatile.Read(ref s_scheduler);
        if (scheduler is null) ThreadPool.UnsafeQueueUserWorkItem(group, preferLocal: false);
        else scheduler(group);
    }
}
