using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace FastMcp.Gateway.Async;

/// <summary>
/// Async method builder for the data path's <c>async ValueTask&lt;T&gt;</c> methods. An async method
/// that suspends needs a heap box for its state machine; the runtime's pooling builder keeps one
/// box per thread and per core, which misses whenever exchanges hop threads (they always do),
/// so each request allocated one box per method in its chain. This builder rents boxes from a
/// shared pool per state-machine type and returns them once the caller has taken the result.
/// Use: <c>[AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder&lt;&gt;))]</c>.
/// Differences from the runtime's builder, acceptable for this code: the ExecutionContext is not
/// flowed across awaits (nothing on the data path uses AsyncLocal), and a result may be awaited
/// once only (the box is reused after that), as with any pooled ValueTask.
/// </summary>
public struct PooledValueTaskMethodBuilder<TResult>
{
    private PooledBox<TResult>? _box;
    private TResult _result;
    private Exception? _exception;

    public static PooledValueTaskMethodBuilder<TResult> Create() => default;

    public void Start<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine
    {
        // The runtime's Start restores the caller's contexts after the synchronous part.
        AsyncTaskMethodBuilder core = default;
        core.Start(ref stateMachine);
    }

    public void SetStateMachine(IAsyncStateMachine stateMachine)
    {
    }

    public void SetResult(TResult result)
    {
        if (_box is null) _result = result;
        else _box.SetResult(result);
    }

    public void SetException(Exception exception)
    {
        if (_box is null) _exception = exception;
        else _box.SetException(exception);
    }

    public ValueTask<TResult> Task
    {
        get
        {
            if (_box is not null) return new ValueTask<TResult>(_box, _box.Version);
            if (_exception is not null) return ValueTask.FromException<TResult>(_exception);
            return new ValueTask<TResult>(_result);
        }
    }

    /// <summary>The non-generic view, for <see cref="PooledValueTaskMethodBuilder"/>.</summary>
    internal ValueTask AsValueTask()
    {
        if (_box is not null) return new ValueTask(_box, _box.Version);
        if (_exception is not null) return ValueTask.FromException(_exception);
        return default;
    }

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion where TStateMachine : IAsyncStateMachine =>
        awaiter.OnCompleted(BoxFor(ref stateMachine).MoveNextAction);

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion where TStateMachine : IAsyncStateMachine =>
        awaiter.UnsafeOnCompleted(BoxFor(ref stateMachine).MoveNextAction);

    private PooledBox<TResult> BoxFor<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine
    {
        if (_box is { } existing) return existing;
        PooledBox<TResult, TStateMachine> box = PooledBox<TResult, TStateMachine>.Rent();
        // Set before the copy, so the boxed state machine's builder knows its box.
        _box = box;
        box.StateMachine = stateMachine;
        return box;
    }
}

/// <summary>The same for <c>async ValueTask</c> methods.</summary>
public struct PooledValueTaskMethodBuilder
{
    private PooledValueTaskMethodBuilder<NoResult> _inner;

    public static PooledValueTaskMethodBuilder Create() => default;

    public void Start<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine => _inner.Start(ref stateMachine);

    public void SetStateMachine(IAsyncStateMachine stateMachine)
    {
    }

    public void SetResult() => _inner.SetResult(default);

    public void SetException(Exception exception) => _inner.SetException(exception);

    public ValueTask Task => _inner.AsValueTask();

    public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : INotifyCompletion where TStateMachine : IAsyncStateMachine => _inner.AwaitOnCompleted(ref awaiter, ref stateMachine);

    public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
        where TAwaiter : ICriticalNotifyCompletion where TStateMachine : IAsyncStateMachine => _inner.AwaitUnsafeOnCompleted(ref awaiter, ref stateMachine);
}

/// <summary>The result type of methods without one.</summary>
public readonly struct NoResult;

/// <summary>A completion source that is also a state-machine box, reusable after its result was taken.</summary>
public abstract class PooledBox<TResult> : IValueTaskSource<TResult>, IValueTaskSource
{
    protected ManualResetValueTaskSourceCore<TResult> Core;

    protected PooledBox() => MoveNextAction = RunMoveNext;

    public Action MoveNextAction { get; }

    public short Version => Core.Version;

    public void SetResult(TResult result) => Core.SetResult(result);

    public void SetException(Exception exception) => Core.SetException(exception);

    public ValueTaskSourceStatus GetStatus(short token) => Core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        Core.OnCompleted(continuation, state, token, flags);

    public TResult GetResult(short token)
    {
        // Misuse (a stale token, or a result taken before completion) throws and must not recycle a box still in use.
        if (token != Core.Version || Core.GetStatus(token) == ValueTaskSourceStatus.Pending) return Core.GetResult(token);
        try
        {
            return Core.GetResult(token);
        }
        finally
        {
            Recycle();
        }
    }

    void IValueTaskSource.GetResult(short token) => GetResult(token);

    protected abstract void RunMoveNext();

    protected abstract void Recycle();
}

internal sealed class PooledBox<TResult, TStateMachine> : PooledBox<TResult> where TStateMachine : IAsyncStateMachine
{
    private const int MaxPooled = 1024;

    // Boxes kept per thread: renting and recycling on the same thread (the usual case on the socket loops)
    // take no lock. A thread with a full cache hands boxes to the shared pool, and an empty one takes from it.
    private const int PerThread = 16;

    private static readonly Stack<PooledBox<TResult, TStateMachine>> Pool = new();

    [ThreadStatic]
    private static ThreadCache? t_cache;

    public TStateMachine? StateMachine;

    public static PooledBox<TResult, TStateMachine> Rent()
    {
        if (t_cache is { Count: > 0 } cache)
        {
            PooledBox<TResult, TStateMachine> local = cache.Boxes[--cache.Count]!;
            cache.Boxes[cache.Count] = null;
            return local;
        }
        lock (Pool)
        {
            if (Pool.TryPop(out PooledBox<TResult, TStateMachine>? box)) return box;
        }
        return new PooledBox<TResult, TStateMachine>();
    }

    protected override void RunMoveNext() => StateMachine!.MoveNext();

    protected override void Recycle()
    {
        StateMachine = default;
        Core.Reset();
        ThreadCache cache = t_cache ??= new ThreadCache();
        if (cache.Count < PerThread)
        {
            cache.Boxes[cache.Count++] = this;
            return;
        }
        lock (Pool)
        {
            if (Pool.Count < MaxPooled) Pool.Push(this);
        }
    }

    private sealed class ThreadCache
    {
        public readonly PooledBox<TResult, TStateMachine>?[] Boxes = new PooledBox<TResult, TStateMachine>?[PerThread];
        public int Count;
    }
}
