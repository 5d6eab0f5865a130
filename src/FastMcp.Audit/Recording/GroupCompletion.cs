using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace FastMcp.Audit.Recording;

/// <summary>
/// The waiters of one group commit, or one target's share of them, resumed together in sequence order by one work
/// item (issue #14). After a durable group, each waiter whose append named a target (<see cref="IAppendResumeTarget"/>:
/// the socket loop that owns its connection) is resumed there: each target gets its share in one post, so the
/// exchange's second half (forwarding, answering) runs on its own loop without a thread-pool worker's wake-up. The
/// waiters that named none (sockets on the runtime's engine, records not made for a connection) go to the thread
/// pool as one work item, as do the shares of a target that no longer runs work.
/// The writer thread does not run exchanges by default: measured (bench/RESULTS.md, "Strict hand-off"), resuming on
/// the writer saved CPU per request in a closed loop but doubled the open-loop p99 at 5,000 req/s, because every
/// record then waits behind the previous group's exchanges as well as its flush. FASTMCP_AUDIT_RESUME=writer selects
/// that mode and =pool the one before loops (both for measurement). Failures always go to the pool, whatever the
/// waiters' targets: they are completed under the log's lock, where a continuation must not run. Pooled: allocates
/// nothing in steady state.
/// </summary>
internal sealed class GroupCompletion : IThreadPoolWorkItem
{
    /// <summary>"writer": resume durable groups on the writer thread; "pool": on one worker, ignoring targets (measurement only).</summary>
    public const string Variable = "FASTMCP_AUDIT_RESUME";

    private static readonly string? Mode = Environment.GetEnvironmentVariable(Variable);
    private static readonly bool ResumeOnWriter = string.Equals(Mode, "writer", StringComparison.OrdinalIgnoreCase);
    private static readonly bool IgnoreTargets = ResumeOnWriter || string.Equals(Mode, "pool", StringComparison.OrdinalIgnoreCase);

    private static readonly ConcurrentQueue<GroupCompletion> Pool = new();
    private const int PoolLimit = 64;
    private static int _pooled;

    // The writer's shares of the group being dispatched, one per target (a handful: one per socket loop). Per thread:
    // each log has its own writer thread.
    [ThreadStatic] private static List<GroupCompletion>? t_shares;
    // The targets of those shares that were asleep, woken once every share is queued.
    [ThreadStatic] private static List<IAppendResumeTarget>? t_wakes;

    private List<AppendWaiter> _waiters = new(256);
    private Exception? _failure;
    private IAppendResumeTarget? _target;

    /// <summary>
    /// Takes every waiter out of <paramref name="waiters"/> (it is left empty, ready for the next batch) and
    /// completes them in order: with their sequence, on their targets' threads or one worker, or with
    /// <paramref name="failure"/> on one worker.
    /// </summary>
    /// <param name="statistics">counts where durable waiters resumed (the writer's; null for failures)</param>
    public static void Complete(ref List<AppendWaiter> waiters, Exception? failure, WriterStatistics? statistics = null)
    {
        if (waiters.Count == 0) return;
        if (failure is null && !IgnoreTargets && AnyTarget(waiters))
        {
            Dispatch(waiters, statistics);
            return;
        }
        if (failure is null) statistics?.Resumed(0, ResumeOnWriter ? 0 : waiters.Count, ResumeOnWriter ? waiters.Count : 0);
        var group = Rent();
        // Swap lists: the batch keeps an empty list of the same capacity, the group owns the waiters.
        (group._waiters, waiters) = (waiters, group._waiters);
        group._failure = failure;
        if (failure is null && ResumeOnWriter) group.Run(onWriter: true);
        else ThreadPool.UnsafeQueueUserWorkItem(group, preferLocal: false);
    }

    private static bool AnyTarget(List<AppendWaiter> waiters)
    {
        for (int i = 0; i < waiters.Count; i++)
            if (waiters[i].ResumeOn is not null) return true;
        return false;
    }

    /// <summary>
    /// A durable group whose waiters named targets: one share per target (sequence order kept within it), each posted
    /// once, and one pool work item for those that named none. Every waiter is read before any share is posted: a
    /// share may run, and its waiters go back to their pool, as soon as it is posted.
    /// </summary>
    private static void Dispatch(List<AppendWaiter> waiters, WriterStatistics? statistics)
    {
        List<GroupCompletion> shares = t_shares ??= new List<GroupCompletion>(8);
        GroupCompletion? unbound = null;
        for (int i = 0; i < waiters.Count; i++)
        {
            AppendWaiter w = waiters[i];
            IAppendResumeTarget? target = w.ResumeOn;
            GroupCompletion share;
            if (target is null)
            {
                share = unbound ??= Rent();
            }
            else
            {
                share = null!;
                for (int s = 0; s < shares.Count; s++)
                {
                    if (ReferenceEquals(shares[s]._target, target)) { share = shares[s]; break; }
                }
                if (share is null)
                {
                    share = Rent();
                    share._target = target;
                    shares.Add(share);
                }
            }
            share._waiters.Add(w);
        }
        waiters.Clear();
        int onPool = unbound?._waiters.Count ?? 0, onLoops = 0;
        List<IAppendResumeTarget> wakes = t_wakes ??= new List<IAppendResumeTarget>(8);
        // Every share is queued before any sleeping loop is woken: a loop woken can take the writer's core, and a loop
        // already awake then still finds its share in its next pass instead of waiting for the writer to run again.
        for (int s = 0; s < shares.Count; s++)
        {
            GroupCompletion share = shares[s];
            IAppendResumeTarget target = share._target!;
            // Counted before the post: the share empties itself (and forgets its target) once it runs.
            int count = share._waiters.Count;
            if (target.TryQueue(share, out bool wake))
            {
                onLoops += count;
                if (wake) wakes.Add(target);
            }
            else
            {
                onPool += count;
                ThreadPool.UnsafeQueueUserWorkItem(share, preferLocal: false);
            }
        }
        shares.Clear();
        for (int s = 0; s < wakes.Count; s++) wakes[s].Wake();
        wakes.Clear();
        if (unbound is not null) ThreadPool.UnsafeQueueUserWorkItem(unbound, preferLocal: false);
        statistics?.Resumed(onLoops, onPool, 0);
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
                // A refusal that is already one (the bound's, a closed log) keeps its words; each waiter gets its own exception.
                else w.Fail(failure is AuditUnavailableException refused
                    ? new AuditUnavailableException(refused.Message, refused)
                    : new AuditUnavailableException("The audit record could not be made durable: " + FastMcp.Http.PlainError.Describe(failure), failure));
            }
            catch (Exception e)
            {
                // A continuation that throws must not leave the rest of its group waiting for ever.
                thrown ??= ExceptionDispatchInfo.Capture(e);
            }
        }
        waiters.Clear();
        _failure = null;
        _target = null;
        if (Interlocked.Increment(ref _pooled) <= PoolLimit) Pool.Enqueue(this);
        else Interlocked.Decrement(ref _pooled);
        if (thrown is null) return;
        // Unhandled, as it would be in a work item, but never on the writer thread (that would read as a write failure).
        if (onWriter) ThreadPool.UnsafeQueueUserWorkItem(static edi => edi.Throw(), thrown, preferLocal: false);
        else thrown.Throw();
    }
}
