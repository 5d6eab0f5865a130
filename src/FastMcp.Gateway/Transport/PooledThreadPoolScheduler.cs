using System.Collections.Concurrent;
using System.IO.Pipelines;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// Runs pipe and socket continuations on the thread pool like <see cref="PipeScheduler.ThreadPool"/>,
/// without its allocation per continuation: the (action, state) pair travels in a pooled work item.
/// Pipe readers run inline (<see cref="PipeSettings"/>); this resumes writers that back-pressure held,
/// as when a client reads a long event stream more slowly than the upstream writes it.
/// </summary>
internal sealed class PooledThreadPoolScheduler : PipeScheduler
{
    public static readonly PooledThreadPoolScheduler Instance = new();

    // Enough for every continuation in flight on a busy gateway; beyond it items are simply dropped to the GC.
    private const int MaxPooled = 4096;
    private readonly ConcurrentQueue<WorkItem> _pool = new();
    private int _pooled;

    private PooledThreadPoolScheduler()
    {
    }

    public override void Schedule(Action<object?> action, object? state)
    {
        WorkItem item;
        if (_pool.TryDequeue(out WorkItem? pooled))
        {
            Interlocked.Decrement(ref _pooled);
            item = pooled;
        }
        else
        {
            item = new WorkItem(this);
        }
        item.Action = action;
        item.State = state;
        System.Threading.ThreadPool.UnsafeQueueUserWorkItem(item, preferLocal: false);
    }

    private void Return(WorkItem item)
    {
        if (Interlocked.Increment(ref _pooled) <= MaxPooled) _pool.Enqueue(item);
        else Interlocked.Decrement(ref _pooled);
    }

    private sealed class WorkItem(PooledThreadPoolScheduler owner) : IThreadPoolWorkItem
    {
        public Action<object?>? Action;
        public object? State;

        public void Execute()
        {
            Action<object?> action = Action!;
            object? state = State;
            Action = null;
            State = null;
            owner.Return(this);
            action(state);
        }
    }
}
