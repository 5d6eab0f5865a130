using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace FastMcp.Audit.Recording;

/// <summary>
/// The waiters of one group commit, resumed together in sequence order by one thread-pool work item (issue #14):
/// one hand-off per flush instead of one work item per waiter, and one worker runs the group's exchanges one after
/// another up to their next wait. The writer thread does not run them by default: measured (bench/RESULTS.md,
/// "Strict hand-off"), resuming on the writer saved CPU per request in a closed loop but doubled the open-loop p99
/// at 5,000 req/s, because every record then waits behind the previous group's exchanges as well as its flush.
/// FASTMCP_AUDIT_RESUME=writer selects that mode (for measurement). Failures are always completed on the pool:
/// they are completed under the log's lock, where a continuation must not run. Pooled: allocates nothing in
/// steady state.
/// </summary>
internal sealed class GroupCompletion : IThreadPoolWorkItem
{
    /// <summary>Set to "writer" to resume durable groups on the writer thread right after their flush (measurement only).</summary>
    public const string Variable = "FASTMCP_AUDIT_RESUME";

    private static readonly bool ResumeOnWriter =
        string.Equals(Environment.GetEnvironmentVariable(Variable), "writer", StringComparison.OrdinalIgnoreCase);

    private static readonly ConcurrentQueue<GroupCompletion> Pool = new();
    private const int PoolLimit = 64;
    private static int _pooled;

    private List<AppendWaiter> _waiters = new(256);
    private Exception? _failure;

    /// <summary>
    /// Takes every waiter out of <paramref name="waiters"/> (it is left empty, ready for the next batch) and
    /// completes them in order on one worker: with their sequence, or with <paramref name="failure"/>.
    /// </summary>
    public static void Complete(ref List<AppendWaiter> waiters, Exception? failure)
    {
        if (waiters.Count == 0) return;
        var group = Rent();
        // Swap lists: the batch keeps an empty list of the same capacity, the group owns the waiters.
        (group._waiters, waiters) = (waiters, group._waiters);
        group._failure = failure;
        if (failure is null && ResumeOnWriter) group.Run(onWriter: true);
        else ThreadPool.UnsafeQueueUserWorkItem(group, preferLocal: false);
    }

    private static GroupCompletion Rent()
    {
        if (!Pool.TryDequeue(out var g)) return new GroupCompletion();
        Interlocked.Decrement(ref _pooled);
        return g;
    }

    void IThreadPoolWorkItem.Execute() => Run(onWriter: false);

    private void Run(bool onWriter)
    {
        var waiters = _waiters;
        var failure = _failure;
        ExceptionDispatchInfo? thrown = null;
        // A waiter goes back to its pool from inside its continuation: read it once, never after completing it.
        for (int i = 0; i < waiters.Count; i++)
        {
            var w = waiters[i];
            try
            {
                if (failure is null) w.Succeed();
                else w.Fail(new AuditUnavailableException("The audit record could not be made durable: " + FastMcp.Http.PlainError.Describe(failure), failure));
            }
            catch (Exception e)
            {
                // A continuation that throws must not leave the rest of its group waiting for ever.
                thrown ??= ExceptionDispatchInfo.Capture(e);
            }
        }
        waiters.Clear();
        _failure = null;
        if (Interlocked.Increment(ref _pooled) <= PoolLimit) Pool.Enqueue(this);
        else Interlocked.Decrement(ref _pooled);
        if (thrown is null) return;
        // Unhandled, as it would be in a work item, but never on the writer thread (that would read as a write failure).
        if (onWriter) ThreadPool.UnsafeQueueUserWorkItem(static edi => edi.Throw(), thrown, preferLocal: false);
        else thrown.Throw();
    }
}
