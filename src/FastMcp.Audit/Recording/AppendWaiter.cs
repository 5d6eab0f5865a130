using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;

namespace FastMcp.Audit.Recording;

/// <summary>
/// A pooled completion for one strict-mode append, so awaiting durability allocates nothing in
/// steady state. Completing runs the awaiting exchange's continuation inline; only
/// <see cref="GroupCompletion"/> completes it, once per group commit: on the thread of the waiter's
/// <see cref="ResumeOn"/> (its connection's socket loop), else on one worker or the writer thread.
/// </summary>
internal sealed class AppendWaiter : IValueTaskSource<long>
{
    // Lock-free: every strict append rents one and returns it from its continuation, on many threads at once; a
    // contended lock here spun (sched_yield) under load. The queue's ring segment is reused once it has grown.
    private static readonly ConcurrentQueue<AppendWaiter> Pool = new();
    private const int PoolLimit = 4096;
    private static int _pooled;
    private ManualResetValueTaskSourceCore<long> _core = new() { RunContinuationsAsynchronously = false };
    public long Sequence;

    /// <summary>Where the awaiting exchange resumes once the record is durable; null: the thread pool.</summary>
    public IAppendResumeTarget? ResumeOn;

    public short Version => _core.Version;

    public static AppendWaiter Rent()
    {
        if (!Pool.TryDequeue(out var w)) return new AppendWaiter();
        Interlocked.Decrement(ref _pooled);
        return w;
    }

    /// <summary>The record is durable: resumes the awaiting exchange here, on the caller's thread.</summary>
    public void Succeed() => _core.SetResult(Sequence);

    /// <summary>The record could not be made durable: the awaiting exchange resumes here with the failure.</summary>
    public void Fail(Exception e) => _core.SetException(e);

    public long GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            ResumeOn = null;
            // Counted apart: ConcurrentQueue.Count spins while others enqueue.
            if (Interlocked.Increment(ref _pooled) <= PoolLimit) Pool.Enqueue(this);
            else Interlocked.Decrement(ref _pooled);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
