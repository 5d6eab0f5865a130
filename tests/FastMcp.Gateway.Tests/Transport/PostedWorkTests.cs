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

    [Fact]
    public void Work_queued_to_a_sleeping_loop_waits_for_the_callers_wake_and_then_runs_on_the_loop()
    {
        Assert.True(ReadinessEngine.Count >= 1, "the gateway's own socket loops run on Linux x86-64");
        ReadinessEngine engine = ReadinessEngine.Of(0)!;
        var work = new Counted(0);
        int asleep = 0;
        for (int i = 0; i < 20 && asleep < 3; i++)
        {
            // An idle loop goes back to epoll_wait soon after its last run.
            Thread.Sleep(20);
            Assert.True(engine.TryQueue(work, out bool wake));
            if (wake)
            {
                asleep++;
                // The loop sleeps in epoll_wait until the caller wakes it: the work has not run yet.
                Thread.Sleep(50);
                Assert.Equal(i, Volatile.Read(ref work.Runs));
                engine.Wake();
            }
            WaitForRuns(work, i + 1);
        }
        Assert.True(asleep > 0, "the loop was never found asleep");
        Assert.Equal(0, work.Elsewhere);
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
