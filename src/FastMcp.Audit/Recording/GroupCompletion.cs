using System.Collections.Concurrent;

namespace FastMcp.Audit.Recording;

/// <summary>
/// The waiters of one group commit, completed by one thread-pool work item in sequence order (issue #14). The
/// writer hands a whole group off once instead of queuing one work item per waiter: one worker wake per fsync
/// rather than one per record, and the exchanges of a group resume one after another on that worker. The
/// writer thread itself never runs an exchange's continuation, so the next fsync is never held up by one.
/// Pooled: completing a group allocates nothing in steady state.
/// </summary>
internal sealed class GroupCompletion : IThreadPoolWorkItem
{
    private static readonly ConcurrentQueue<GroupCompletion> Pool = new();
    private const int PoolLimit = 64;
    private static int _pooled;

    private List<AppendWaiter> _waiters = new(256);
    private Exception? _failure;

    /// <summary>
    /// Takes every waiter out of <paramref name="waiters"/> (it is left empty, ready for the next batch) and
    /// completes them on one thread-pool worker: with their sequence, or with <paramref name="failure"/>.
    /// </summary>
    public static void Complete(ref List<AppendWaiter> waiters, Exception? failure)
    {
        if (waiters.Count == 0) return;
        var group = Rent();
        // Swap lists: the batch keeps an empty list of the same capacity, the group owns the waiters.
        (group._waiters, waiters) = (waiters, group._waiters);
        group._failure = failure;
        ThreadPool.UnsafeQueueUserWorkItem(group, preferLocal: false);
    }

    private static GroupCompletion Rent()
    {
        if (!Pool.TryDequeue(out var g)) return new GroupCompletion();
        Interlocked.Decrement(ref _pooled);
        return g;
    }

    void IThreadPoolWorkItem.Execute()
    {
        var waiters = _waiters;
        var failure = _failure;
        // A waiter goes back to its pool from inside its continuation: read it once, never after completing it.
        for (int i = 0; i < waiters.Count; i++)
        {
            var w = waiters[i];
            if (failure is null) w.Succeed();
            else w.Fail(new AuditUnavailableException("The audit record could not be made durable: " + failure.Message, failure));
        }
        waiters.Clear();
        _failure = null;
        if (Interlocked.Increment(ref _pooled) <= PoolLimit) Pool.Enqueue(this);
        else Interlocked.Decrement(ref _pooled);
    }
}
