using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace FastMcp.Gateway.Transport.Epoll;

/// <summary>
/// Work other threads hand to one socket loop, run by the loop between two epoll_wait calls (issue #14): the audit
/// writer posts a durable group's share of strict waiters here, so the exchanges they belong to go on on the loop that
/// owns their connection instead of on a thread-pool worker. The loop is woken through an eventfd in its epoll set,
/// written only when the loop is asleep or about to sleep: a post to a busy loop costs no system call. Lock-free: the
/// queue's ring segment is reused once it has grown, so posting allocates nothing in steady state.
/// </summary>
internal sealed unsafe partial class PostedWork
{
    /// <summary>The epoll event data that marks the wake-up eventfd (no socket slot has it: slots are below 2^31).</summary>
    public const ulong WakeData = ulong.MaxValue;

    private const int NonBlocking = 0x800; // EFD_NONBLOCK
    private const int CloseOnExec = 0x80000; // EFD_CLOEXEC

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    private static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, ulong* value, nuint count);

    private readonly ConcurrentQueue<IThreadPoolWorkItem> _queue = new();
    private readonly int _wake;
    // 1 while the loop is in epoll_wait or about to call it; a poster that takes it back to 0 writes the eventfd.
    private int _sleeping;
    private volatile bool _stopped;

    /// <summary>Creates the wake-up eventfd and registers it in <paramref name="epoll"/>.</summary>
    public PostedWork(int epoll)
    {
        _wake = EventFd(0, NonBlocking | CloseOnExec);
        if (_wake < 0) throw new IOException($"eventfd failed (errno {Marshal.GetLastPInvokeError()})");
        // Edge-triggered and never read: every write is a new edge (the kernel wakes epoll on each one), so the loop
        // saves the read per wake-up. The counter grows by one per wake and would need centuries to reach its limit.
        var ev = new EpollNative.Event { Events = EpollNative.In | EpollNative.EdgeTriggered, Data = WakeData };
        if (EpollNative.Control(epoll, EpollNative.CtlAdd, _wake, &ev) != 0)
            throw new IOException($"epoll_ctl of the wake-up eventfd failed (errno {Marshal.GetLastPInvokeError()})");
    }

    /// <summary>Queues <paramref name="work"/> for the loop and wakes it if it sleeps; false once the loop has ended.</summary>
    public bool TryPost(IThreadPoolWorkItem work)
    {
        if (!TryQueue(work, out bool wake)) return false;
        if (wake) Wake();
        return true;
    }

    /// <summary>
    /// Queues <paramref name="work"/> without waking the loop: <paramref name="wake"/> true when it sleeps and the caller
    /// must call <see cref="Wake"/> (it took the loop's sleeping flag, so no other poster will); false once the loop has ended.
    /// </summary>
    public bool TryQueue(IThreadPoolWorkItem work, out bool wake)
    {
        wake = false;
        if (_stopped) return false;
        _queue.Enqueue(work);
        // After the enqueue (a full fence): either the loop sees the work before it sleeps, or this sees it sleeping.
        wake = Volatile.Read(ref _sleeping) != 0 && Interlocked.Exchange(ref _sleeping, 0) != 0;
        // The loop ended after the check above: nothing is left in a queue nobody runs.
        if (_stopped) DrainToPool();
        return true;
    }

    /// <summary>
    /// The loop is about to wait: true when nothing is queued (it may block; a post wakes it), false when work came
    /// meanwhile (it polls without blocking, then runs the work).
    /// </summary>
    public bool PrepareToSleep()
    {
        Interlocked.Exchange(ref _sleeping, 1);
        if (_queue.IsEmpty) return true;
        Volatile.Write(ref _sleeping, 0);
        return false;
    }

    /// <summary>The loop is back from epoll_wait: posts need not wake it until it prepares to sleep again.</summary>
    public void Awake() => Volatile.Write(ref _sleeping, 0);

    // Posts run per pass at most, so that a stream of posts cannot keep the loop from its sockets (the rest runs
    // after the next epoll_wait, which then does not block). ConcurrentQueue.Count is not read: it spins under posts.
    private const int MaxPerPass = 64;

    /// <summary>Runs what is queued, in order, on the loop's thread (at most <see cref="MaxPerPass"/> items).</summary>
    public void RunQueued()
    {
        for (int i = 0; i < MaxPerPass && _queue.TryDequeue(out IThreadPoolWorkItem? work); i++) Run(work);
    }

    /// <summary>The loop ends: what is queued, and whatever a poster adds later, runs on the thread pool.</summary>
    public void Stop()
    {
        _stopped = true;
        DrainToPool();
    }

    private void DrainToPool()
    {
        while (_queue.TryDequeue(out IThreadPoolWorkItem? work)) ThreadPool.UnsafeQueueUserWorkItem(work, preferLocal: false);
    }

    private static void Run(IThreadPoolWorkItem work)
    {
        try
        {
            work.Execute();
        }
        catch (Exception e)
        {
            // Unhandled, as in a work item, but not on the loop: its other sockets must go on.
            ThreadPool.UnsafeQueueUserWorkItem(static edi => edi.Throw(), ExceptionDispatchInfo.Capture(e), preferLocal: false);
        }
    }

    /// <summary>Writes the wake-up eventfd: the loop leaves epoll_wait and runs what is queued.</summary>
    public void Wake()
    {
        ulong one = 1;
        // EAGAIN (the counter full) cannot happen in practice; a failure leaves the work for the loop's next pass.
        _ = Write(_wake, &one, sizeof(ulong));
    }
}
