using System.Diagnostics;

namespace FastMcp.Pan.Tests;

/// <summary>
/// The shared allocation measurement every "allocates nothing" test relies on: it still reports a real allocation,
/// and reports none for a body that allocates nothing while another thread keeps collecting.
/// </summary>
public class ThreadAllocationsTests
{
    private const int Calls = 1_000;
    private const int Rounds = 300;

    // Written through a field so the JIT cannot keep the object on the stack (escape analysis).
    private static object? s_kept;

    private static void AllocateOnce() => s_kept = new object();

    [Fact]
    public void A_body_allocating_an_object_per_call_is_reported_as_at_least_that()
    {
        Action body = () => { for (int i = 0; i < Calls; i++) AllocateOnce(); };
        body();
        long allocated = ThreadAllocations.Measure(body);
        // An object on a 64-bit runtime is 24 bytes (header, method table, minimum payload).
        Assert.True(allocated >= 24L * Calls, $"{allocated} bytes reported for {Calls} objects");
    }

    [Fact]
    public void A_body_allocating_an_object_per_call_is_reported_while_another_thread_collects()
    {
        Action body = () => { for (int i = 0; i < Calls; i++) AllocateOnce(); };
        body();
        using var collector = BackgroundCollector.Start();
        for (int round = 0; round < Rounds; round++)
        {
            long allocated = ThreadAllocations.Measure(body);
            Assert.True(allocated >= 24L * Calls, $"{allocated} bytes reported for {Calls} objects in round {round}");
        }
    }

    [Fact]
    public void The_result_of_a_function_body_is_handed_back_with_its_allocations()
    {
        Func<int> body = () => { for (int i = 0; i < Calls; i++) AllocateOnce(); return Calls; };
        body();
        long allocated = ThreadAllocations.Measure(body, out int result);
        Assert.Equal(Calls, result);
        Assert.True(allocated >= 24L * Calls, $"{allocated} bytes reported for {Calls} objects");
    }

    [Fact]
    public void The_least_of_windows_still_reports_an_object_per_call_and_nothing_for_a_body_allocating_nothing()
    {
        Action allocating = () => { for (int i = 0; i < Calls; i++) AllocateOnce(); };
        long sum = 0;
        Action quiet = () => { for (int i = 0; i < 200_000; i++) sum += i ^ (sum >> 3); };
        allocating();
        quiet();
        using var collector = BackgroundCollector.Start();
        for (int round = 0; round < Rounds; round++)
        {
            long allocated = ThreadAllocations.LeastOf(allocating);
            Assert.True(allocated >= 24L * Calls, $"{allocated} bytes reported for {Calls} objects in round {round}");
            AllocateOnce();
            Assert.Equal(0, ThreadAllocations.LeastOf(quiet));
        }
    }

    // Measured the plain way (the counter read before and after, once), this test fails within a few dozen rounds:
    // a background collection retires this thread's allocation context and charges its unused rest (up to 8 KiB).
    [Fact]
    public void A_body_allocating_nothing_reports_nothing_while_another_thread_collects()
    {
        long sum = 0;
        Action body = () => { for (int i = 0; i < 200_000; i++) sum += i ^ (sum >> 3); };
        body();
        int collectionsBefore = GC.CollectionCount(2);
        var elapsed = Stopwatch.StartNew();
        using (BackgroundCollector.Start())
        {
            // Until enough collections overlapped the measurements to have caught the plain way many times over.
            for (int round = 0; round < 20_000 && GC.CollectionCount(2) - collectionsBefore < 30 && elapsed.Elapsed < TimeSpan.FromSeconds(30); round++)
            {
                // Leaves most of this thread's allocation context unused: the part a collection would charge.
                AllocateOnce();
                long allocated = ThreadAllocations.Measure(body);
                Assert.True(allocated == 0, $"{allocated} bytes reported in round {round}");
            }
        }
        Assert.True(GC.CollectionCount(2) - collectionsBefore >= 30, "the other thread's collections ran during the measurements");
    }

    /// <summary>
    /// Another thread starting background collections in a loop (the kind that retires other threads' allocation
    /// contexts without counting itself until it ends), bounded in count and time.
    /// </summary>
    private sealed class BackgroundCollector : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;

        private BackgroundCollector() => _thread = new Thread(Run) { IsBackground = true, Name = "collector" };

        public static BackgroundCollector Start()
        {
            var collector = new BackgroundCollector();
            collector._thread.Start();
            return collector;
        }

        private void Run()
        {
            var elapsed = Stopwatch.StartNew();
            for (int i = 0; i < 100_000 && !_stop && elapsed.Elapsed < TimeSpan.FromSeconds(60); i++)
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: false);
                Thread.Sleep(1);
            }
        }

        public void Dispose()
        {
            _stop = true;
            _thread.Join();
        }
    }
}
