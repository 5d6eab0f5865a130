using System.Diagnostics;
using FastMcp.Gateway.Transport.Epoll;
using FastMcp.Testing;

namespace FastMcp.Gateway.Tests.Transport;

/// <summary>
/// Work posted to one of the gateway's own socket loops (issue #14: a durable strict group's share) runs on that
/// loop's thread, in the order it was posted, whether the loop slept (woken through its eventfd) or was busy; posting
/// allocates nothing once the loop's queue has grown.
/// </summary>
public sealed class PostedWorkTests
{
    private sealed class Counted(int expectedLoop) : IThreadPoolWorkItem
    {
        public int Runs;
        public int Elsewhere;
        public int OutOfOrder;
        private int _last = -1;
        public int Next;

        public void Execute()
        {
            if (Thread.CurrentThread.Name != $"fastmcp-epoll-{expectedLoop}") Interlocked.Increment(ref Elsewhere);
            int order = Volatile.Read(ref Next);
            if (order < _last) Interlocked.Increment(ref OutOfOrder);
            _last = order;
            Interlocked.Increment(ref Runs);
        }
    }

    private static void WaitForRuns(Counted work, int runs)
    {
        long started = Stopwatch.GetTimestamp();
        while (Volatile.Read(ref work.Runs) < runs)
        {
            if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(20)) throw new TimeoutException($"{Volatile.Read(ref work.Runs)} of {runs} posts ran within 20 s");
            Thread.Sleep(1);
        }
    }

    /// <summary>
    /// A loop of the test's own (an epoll set polled without blocking, so the test plays the loop's thread): work queued
    /// while the loop sleeps leaves its eventfd unwritten until the caller wakes it, exactly once; a busy loop is not woken.
    /// </summary>
    [Fact]
    public unsafe void Work_queued_to_a_sleeping_loop_leaves_it_asleep_until_the_callers_wake_and_a_busy_loop_is_not_woken()
    {
        int epoll = EpollNative.Create(EpollNative.CloseOnExec);
        Assert.True(epoll >= 0);
        using var epollHandle = new Microsoft.Win32.SafeHandles.SafeFileHandle(epoll, ownsHandle: true);
        var posted = new PostedWork(epoll);
        int wakeFd = (int)typeof(PostedWork).GetField("_wake", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(posted)!;
        using var wakeHandle = new Microsoft.Win32.SafeHandles.SafeFileHandle(wakeFd, ownsHandle: true);
        EpollNative.Event* events = stackalloc EpollNative.Event[4];
        var work = new Counted(-1);

        // Asleep: queued, the caller told to wake it, and nothing woke it yet.
        Assert.True(posted.PrepareToSleep());
        Assert.True(posted.TryQueue(work, out bool wake));
        Assert.True(wake);
        Assert.Equal(0, EpollNative.Wait(epoll, events, 4, 0));
        // A second poster finds the flag taken: the first one's wake covers both.
        Assert.True(posted.TryQueue(work, out bool second));
        Assert.False(second);
        Assert.Equal(0, EpollNative.Wait(epoll, events, 4, 0));
        posted.Wake();
        Assert.Equal(1, EpollNative.Wait(epoll, events, 4, 0));
        Assert.Equal(PostedWork.WakeData, events[0].Data);
        posted.Awake();
        posted.RunQueued();
        Assert.Equal(2, work.Runs);

        // Busy (back from epoll_wait, not yet preparing to sleep): queued, no wake asked for, no edge.
        Assert.True(posted.TryQueue(work, out bool busy));
        Assert.False(busy);
        Assert.Equal(0, EpollNative.Wait(epoll, events, 4, 0));
        // Work queued: the loop polls instead of blocking.
        Assert.False(posted.PrepareToSleep());
        posted.RunQueued();
        Assert.Equal(3, work.Runs);

        // TryPost still wakes a sleeping loop by itself.
        Assert.True(posted.PrepareToSleep());
        Assert.True(posted.TryPost(work));
        Assert.Equal(1, EpollNative.Wait(epoll, events, 4, 0));
    }

    [Fact]
    public void Posted_work_runs_on_the_loop_it_was_posted_to_and_posting_allocates_nothing_once_warm()
    {
        Assert.True(ReadinessEngine.Count >= 1, "the gateway's own socket loops run on Linux x86-64");
        for (int loop = 0; loop < ReadinessEngine.Count; loop++)
        {
            ReadinessEngine engine = ReadinessEngine.Of(loop)!;
            var work = new Counted(loop);
            // One at a time: the loop is asleep at each post, so each is a wake-up through the eventfd.
            for (int i = 0; i < 20; i++)
            {
                Assert.True(engine.TryPost(work));
                WaitForRuns(work, i + 1);
            }
            // Many at once: the loop is busy for most of them.
            for (int i = 0; i < 2_000; i++)
            {
                work.Next = i;
                Assert.True(engine.TryPost(work));
            }
            WaitForRuns(work, 2_020);
            long allocated = ThreadAllocations.Measure(() =>
            {
                for (int i = 0; i < 200; i++) engine.TryPost(work);
            });
            Assert.Equal(0, allocated);
            WaitForRuns(work, 2_020 + 200);
            Assert.Equal(0, work.Elsewhere);
            Assert.Equal(0, work.OutOfOrder);
        }
        Assert.Null(ReadinessEngine.Of(-1));
    }
}
