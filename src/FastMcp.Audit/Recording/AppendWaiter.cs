using System.Threading.Tasks.Sources;

namespace FastMcp.Audit.Recording;

/// <summary>A pooled completion for one strict-mode append, so awaiting durability allocates nothing in steady state.</summary>
internal sealed class AppendWaiter : IValueTaskSource<long>
{
    private static readonly Stack<AppendWaiter> Pool = new();
    private ManualResetValueTaskSourceCore<long> _core = new() { RunContinuationsAsynchronously = true };

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

    public void Succeed() => _core.SetResult(Sequence);

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
