using System.Threading.Tasks.Sources;

namespace FastMcp.Audit.Recording;

/// <summary>
/// A pooled completion for one strict-mode append, so awaiting durability allocates nothing in
/// steady state. The writer thread never runs a request's continuation itself: completing queues
/// this object (a thread-pool work item, so no allocation) and the continuation runs there.
/// </summary>
internal sealed class AppendWaiter : IValueTaskSource<long>, IThreadPoolWorkItem
{
    private static readonly Stack<AppendWaiter> Pool = new();
    private ManualResetValueTaskSourceCore<long> _core = new() { RunContinuationsAsynchronously = false };
    private Exception? _failure;

    public long Sequence;

    public short Version => _core.Version;

    public static AppendWaiter Rent()
    {
        lock (Pool)
        {
            if (Pool.TryPop(out var w)) return w;
        }
        return new AppendWaiter();
    }

    public void Succeed()
    {
        _failure = null;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    public void Fail(Exception e)
    {
        _failure = e;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute()
    {
        if (_failure is { } e) _core.SetException(e);
        else _core.SetResult(Sequence);
    }

    public long GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            _core.Reset();
            lock (Pool)
            {
                if (Pool.Count < 4096) Pool.Push(this);
            }
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
