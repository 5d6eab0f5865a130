using FastMcp.Gateway.Transport.Epoll;

namespace FastMcp.Gateway.Tests.Transport;

/// <summary>
/// Work posted to the socket loops (the Strict audit's durable groups, <see cref="AuditResumeOnLoops"/>) runs on a
/// loop thread, once, also when every loop sleeps in epoll_wait with no socket activity (the eventfd wakes it), and
/// when many threads post at once.
/// </summary>
public sealed class LoopPostTests
{
    private sealed class Counted(CountdownEvent done) : IThreadPoolWorkItem
    {
        public int Runs;
        public string? Thread;

        public void Execute()
        {
            Interlocked.Increment(ref Runs);
            Thread = System.Threading.Thread.CurrentThread.Name;
            done.Signal();
        }
    }

    [Fact]
    public void Work_posted_to_idle_loops_runs_on_a_loop_thread()
    {
        using var done = new CountdownEvent(4);
        var items = new Counted[4];
        for (int i = 0; i < items.Length; i++)
        {
            Thread.Sleep(50); // the loops go back to sleep between posts
            items[i] = new Counted(done);
            Assert.True(ReadinessEngine.PostAny(items[i]), "the loops exist on this platform");
        }

        Assert.True(done.Wait(TimeSpan.FromSeconds(10)), "every posted item ran");
        foreach (Counted item in items)
        {
            Assert.Equal(1, item.Runs);
            Assert.StartsWith("fastmcp-epoll-", item.Thread, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Work_posted_from_many_threads_at_once_runs_exactly_once_each()
    {
        const int Threads = 4, PerThread = 5_000;
        using var done = new CountdownEvent(Threads * PerThread);
        var items = new Counted[Threads * PerThread];
        for (int i = 0; i < items.Length; i++) items[i] = new Counted(done);

        Task[] posters = new Task[Threads];
        for (int t = 0; t < Threads; t++)
        {
            int first = t * PerThread;
            posters[t] = Task.Run(() =>
            {
                for (int i = first; i < first + PerThread; i++) ReadinessEngine.PostAny(items[i]);
            });
        }
        await Task.WhenAll(posters);

        Assert.True(done.Wait(TimeSpan.FromSeconds(20)), $"{done.CurrentCount} posted items never ran");
        Assert.All(items, item => Assert.Equal(1, item.Runs));
    }
}
