using System.Threading.Tasks.Sources;

namespace FastMcp.Gateway.Transport.Epoll;

/// <summary>
/// "The socket may be readable" (or "writable"), signalled by the readiness engine for one socket and awaited by
/// its receive (or send) loop, one waiter at a time. A signal that comes while nobody waits is kept, so an edge
/// between a read and the next wait is never lost; a signal for bytes that were already read costs one read
/// that finds nothing. Reused for the connection's life: waiting allocates nothing.
/// </summary>
internal sealed class Readiness : IValueTaskSource<bool>
{
    private const int Idle = 0, Signaled = 1, Waiting = 2, Closed = 3;

    // Completions run where they are signalled (the engine's thread), as the runtime's inline socket completions do.
    private ManualResetValueTaskSourceCore<bool> _core;
    private int _state;
    private int _hungUp;

    /// <summary>
    /// The engine saw the peer close (or an error) on this socket. Sticky: one edge can report bytes and the close
    /// together, so a read that did not fill its buffer has not necessarily seen everything; after this the
    /// receive loop reads on until the end of the stream instead of waiting for an edge that will not come.
    /// </summary>
    public bool HungUp => Volatile.Read(ref _hungUp) != 0;

    /// <summary>A signal came while nobody waited (the socket may have bytes, or news of its end).</summary>
    public bool IsSignaled => Volatile.Read(ref _state) == Signaled;

    /// <summary>From the engine: the peer closed or the socket errored (then <see cref="Signal"/>).</summary>
    public void MarkHungUp() => Volatile.Write(ref _hungUp, 1);

    /// <summary>From the engine: the socket became readable or writable (or errored, or the peer closed).</summary>
    public void Signal()
    {
        while (true)
        {
            int state = Volatile.Read(ref _state);
            if (state == Waiting)
            {
                if (Interlocked.CompareExchange(ref _state, Idle, Waiting) != Waiting) continue;
                _core.SetResult(true);
                return;
            }
            if (state != Idle || Interlocked.CompareExchange(ref _state, Signaled, Idle) == Idle) return;
        }
    }

    /// <summary>Completes when the socket may be ready: true, or false once <see cref="Close"/> was called.</summary>
    public ValueTask<bool> WaitAsync()
    {
        _core.Reset();
        switch (Interlocked.CompareExchange(ref _state, Waiting, Idle))
        {
            case Idle:
                return new ValueTask<bool>(this, _core.Version);
            case Signaled:
                Interlocked.CompareExchange(ref _state, Idle, Signaled);
                return new ValueTask<bool>(true);
            default:
                return new ValueTask<bool>(false);
        }
    }

    /// <summary>Ends waiting for good (the socket is closing): a pending wait completes with false.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _state, Closed) == Waiting) _core.SetResult(false);
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _core.GetResult(token);
    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _core.GetStatus(token);
    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
