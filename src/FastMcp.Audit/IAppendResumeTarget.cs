namespace FastMcp.Audit;

/// <summary>
/// Where a strict append's caller goes on once its record is durable: a thread of the caller's own that runs posted
/// work (the gateway's socket loop that owns the exchange's connection), instead of a thread-pool worker. The writer
/// hands each target its share of a group commit as one work item, in sequence order, after the group's fdatasync.
/// Failures never come this way: a record that could not be made durable is refused on the thread pool.
/// </summary>
public interface IAppendResumeTarget
{
    /// <summary>
    /// Queues <paramref name="work"/> to run soon on this target's thread, never inline on the caller's, waking the
    /// thread if it sleeps. False when the target no longer runs work (its thread ended): the writer then resumes the
    /// share on the thread pool. Called by the audit writer only; must not throw and should not allocate.
    /// </summary>
    bool TryPost(IThreadPoolWorkItem work);

    /// <summary>
    /// As <see cref="TryPost"/>, but a sleeping thread is not woken yet: <paramref name="wake"/> says the caller must call
    /// <see cref="Wake"/> once it has queued its other targets' shares, so that a target already awake finds its share
    /// even when waking the first sleeping target switches the caller out. The default posts and wakes at once.
    /// </summary>
    bool TryQueue(IThreadPoolWorkItem work, out bool wake)
    {
        wake = false;
        return TryPost(work);
    }

    /// <summary>Wakes the thread after a <see cref="TryQueue"/> that asked for it (exactly once per such call).</summary>
    void Wake()
    {
    }
}
