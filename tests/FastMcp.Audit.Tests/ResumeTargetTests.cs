using System.Collections.Concurrent;
using System.Diagnostics;
using FastMcp.Testing;

namespace FastMcp.Audit.Tests;

/// <summary>
/// Issue #14: a strict append may name where its caller resumes once the record is durable (the gateway names the
/// socket loop that owns the connection). The writer hands each target its share of a group commit in one post, in
/// sequence order; appends that named none resume on the thread pool, as do all of a group's waiters when the write
/// or its fdatasync failed. The targets here are threads of the test that run what is posted to them.
/// </summary>
public sealed class ResumeTargetTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A thread that runs posted work in order, like a socket loop between two epoll_waits.</summary>
    private sealed class LoopThread : IAppendResumeTarget, IDisposable
    {
        private readonly BlockingCollection<IThreadPoolWorkItem> _work = [];
        private readonly Thread _thread;
        public int Posts;
        public bool Refuse;

        public LoopThread(string name)
        {
            _thread = new Thread(() =>
            {
                foreach (IThreadPoolWorkItem work in _work.GetConsumingEnumerable()) work.Execute();
            }) { IsBackground = true, Name = name };
            _thread.Start();
        }

        public int ManagedThreadId => _thread.ManagedThreadId;

        public bool TryPost(IThreadPoolWorkItem work)
        {
            if (Refuse) return false;
            Interlocked.Increment(ref Posts);
            _work.Add(work);
            return true;
        }

        public void Dispose()
        {
            _work.CompleteAdding();
            _thread.Join(TimeSpan.FromSeconds(10));
        }
    }

    private readonly record struct Resumed(int Index, long Sequence, int Thread, bool Failed);

    /// <summary>
    /// Holds the writer in the flush of a first record, appends <paramref name="targets"/>.Length records that then
    /// queue as one group (record i naming targets[i]), and lets the flush go (failing it when <paramref name="fail"/>).
    /// Returns where and how each append's caller resumed.
    /// </summary>
    private async Task<Resumed[]> OneGroupAsync(IAppendResumeTarget?[] targets, bool fail)
    {
        var fs = new FaultyFileSystem();
        await using var log = await AuditLog.OpenAsync(_dir.Options(), fs);
        using var gate = new ManualResetEventSlim(false);
        fs.FlushGate = gate;
        var first = Task.Run(async () => { var e = new AuditEvent(); SampleEvents.Fill(e, 0); await log.AppendAsync(e).ConfigureAwait(false); });
        Assert.True(fs.FlushWaiting.Wait(TimeSpan.FromSeconds(10)));
        var resumed = new ConcurrentQueue<Resumed>();
        var appends = new Task[targets.Length];
        for (int i = 0; i < targets.Length; i++)
        {
            var e = new AuditEvent();
            SampleEvents.Fill(e, 100 + i);
            ValueTask<long> pending = log.AppendAsync(e, targets[i]);
            int index = i;
            appends[i] = Awaited(pending, index, resumed);
        }
        fs.FlushGate = null;
        if (fail) fs.Full = true;
        gate.Set();
        if (fail) await Assert.ThrowsAsync<AuditUnavailableException>(() => first);
        else await first;
        await Task.WhenAll(appends).WaitAsync(TimeSpan.FromSeconds(20));
        fs.Full = false;
        return [.. resumed.OrderBy(r => r.Index)];
    }

    // The continuation after the await runs where the waiter was completed (the awaited source completes inline).
    private static async Task Awaited(ValueTask<long> pending, int index, ConcurrentQueue<Resumed> resumed)
    {
        long seq = -1;
        bool failed = false;
        try { seq = await pending.ConfigureAwait(false); }
        catch (AuditUnavailableException) { failed = true; }
        resumed.Enqueue(new Resumed(index, seq, Environment.CurrentManagedThreadId, failed));
    }

    [Fact]
    public async Task Each_target_gets_its_share_of_a_durable_group_in_one_post_in_sequence_order_and_the_rest_resume_on_the_pool()
    {
        using var a = new LoopThread("loop-a");
        using var b = new LoopThread("loop-b");
        IAppendResumeTarget?[] targets = [a, b, null, a, b, a, null, b, a];
        Resumed[] resumed = await OneGroupAsync(targets, fail: false);

        Assert.Equal(targets.Length, resumed.Length);
        Assert.All(resumed, r => Assert.False(r.Failed));
        Assert.Equal(1, a.Posts);
        Assert.Equal(1, b.Posts);
        foreach (Resumed r in resumed)
        {
            if (ReferenceEquals(targets[r.Index], a)) Assert.Equal(a.ManagedThreadId, r.Thread);
            else if (ReferenceEquals(targets[r.Index], b)) Assert.Equal(b.ManagedThreadId, r.Thread);
            else Assert.True(r.Thread != a.ManagedThreadId && r.Thread != b.ManagedThreadId, "a waiter that named no target resumed on a target's thread");
        }
        // Within a target's share, in the order the records were appended.
        foreach (LoopThread loop in new[] { a, b })
        {
            long[] sequences = [.. resumed.Where(r => ReferenceEquals(targets[r.Index], loop)).Select(r => r.Sequence)];
            Assert.Equal(sequences.Order(), sequences);
        }
        Assert.Equal(targets.Length, resumed.Select(r => r.Sequence).Distinct().Count());
    }

    [Fact]
    public async Task A_failed_flush_refuses_every_waiter_of_the_group_whichever_target_it_named_on_the_pool()
    {
        using var a = new LoopThread("loop-a");
        using var b = new LoopThread("loop-b");
        IAppendResumeTarget?[] targets = [a, b, null, a, b, a];
        Resumed[] resumed = await OneGroupAsync(targets, fail: true);

        Assert.Equal(targets.Length, resumed.Length);
        Assert.All(resumed, r => Assert.True(r.Failed));
        // Refusals never go through a target: they are completed under the log's lock, on the pool.
        Assert.Equal(0, a.Posts);
        Assert.Equal(0, b.Posts);
        Assert.All(resumed, r => Assert.NotEqual(a.ManagedThreadId, r.Thread));
        Assert.All(resumed, r => Assert.NotEqual(b.ManagedThreadId, r.Thread));
    }

    [Fact]
    public async Task A_target_that_no_longer_runs_work_has_its_share_resumed_on_the_pool()
    {
        using var a = new LoopThread("loop-a") { Refuse = true };
        using var b = new LoopThread("loop-b");
        IAppendResumeTarget?[] targets = [a, b, a, b];
        Resumed[] resumed = await OneGroupAsync(targets, fail: false);

        Assert.All(resumed, r => Assert.False(r.Failed));
        Assert.Equal(0, a.Posts);
        Assert.Equal(1, b.Posts);
        Assert.All(resumed.Where(r => ReferenceEquals(targets[r.Index], a)), r => Assert.NotEqual(a.ManagedThreadId, r.Thread));
        Assert.All(resumed.Where(r => ReferenceEquals(targets[r.Index], b)), r => Assert.Equal(b.ManagedThreadId, r.Thread));
    }

    /// <summary>
    /// A loop that reports itself asleep at every queue (so each share asks for a wake-up) and runs its work only once
    /// woken; every queue and wake is written to one journal shared by the targets of a test.
    /// </summary>
    private sealed class SleepingLoop : IAppendResumeTarget, IDisposable
    {
        private readonly ConcurrentQueue<string> _journal;
        private readonly ConcurrentQueue<IThreadPoolWorkItem> _queued = new();
        private readonly BlockingCollection<IThreadPoolWorkItem> _run = [];
        private readonly Thread _thread;
        private readonly string _name;
        public bool Awake;

        public SleepingLoop(string name, ConcurrentQueue<string> journal)
        {
            _name = name;
            _journal = journal;
            _thread = new Thread(() =>
            {
                foreach (IThreadPoolWorkItem work in _run.GetConsumingEnumerable()) work.Execute();
            }) { IsBackground = true, Name = name };
            _thread.Start();
        }

        public int ManagedThreadId => _thread.ManagedThreadId;

        public bool TryPost(IThreadPoolWorkItem work)
        {
            _journal.Enqueue("post " + _name);
            _run.Add(work);
            return true;
        }

        public bool TryQueue(IThreadPoolWorkItem work, out bool wake)
        {
            _journal.Enqueue("queue " + _name);
            _queued.Enqueue(work);
            // A loop awake takes its share without being woken (here at once, as a busy loop would in its next pass).
            wake = !Awake;
            if (Awake) Drain();
            return true;
        }

        public void Wake()
        {
            _journal.Enqueue("wake " + _name);
            Drain();
        }

        private void Drain()
        {
            while (_queued.TryDequeue(out IThreadPoolWorkItem? work)) _run.Add(work);
        }

        public void Dispose()
        {
            _run.CompleteAdding();
            _thread.Join(TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task Every_share_of_a_durable_group_is_queued_before_any_sleeping_target_is_woken_and_each_is_woken_once()
    {
        var journal = new ConcurrentQueue<string>();
        using var a = new SleepingLoop("a", journal);
        using var b = new SleepingLoop("b", journal);
        using var c = new SleepingLoop("c", journal) { Awake = true };
        IAppendResumeTarget?[] targets = [a, b, c, null, b, a, c, a];
        Resumed[] resumed = await OneGroupAsync(targets, fail: false);

        Assert.Equal(targets.Length, resumed.Length);
        Assert.All(resumed, r => Assert.False(r.Failed));
        foreach (Resumed r in resumed)
        {
            if (targets[r.Index] is SleepingLoop loop) Assert.Equal(loop.ManagedThreadId, r.Thread);
        }
        string[] entries = [.. journal];
        // One queue per target, no post that wakes at once, then one wake per target that was asleep (not the awake one).
        Assert.Equal(["queue a", "queue b", "queue c"], entries.Take(3).Order());
        Assert.Equal(["wake a", "wake b"], entries.Skip(3).Order());
        Assert.Equal(5, entries.Length);
    }

    /// <summary>A target run by the test's own thread: posts queue until the test runs them, and say what the writer had allocated.</summary>
    private sealed class ManualTarget : IAppendResumeTarget
    {
        public readonly ConcurrentQueue<IThreadPoolWorkItem> Posted = new();
        // The writer thread's allocation counter at each post (TryPost runs on the writer thread).
        public long WriterAllocatedAtLastPost;

        public bool TryPost(IThreadPoolWorkItem work)
        {
            Volatile.Write(ref WriterAllocatedAtLastPost, GC.GetAllocatedBytesForCurrentThread());
            Posted.Enqueue(work);
            return true;
        }
    }

    [Fact]
    public async Task A_strict_append_resumed_on_its_target_allocates_nothing_once_warm_on_the_appending_the_writing_or_the_resuming_thread()
    {
        await using var log = await AuditLog.OpenAsync(_dir.Options());
        var target = new ManualTarget();
        var e = new AuditEvent();
        SampleEvents.Fill(e, 1);
        long writerFirst = 0, writerLast = 0;
        int appended = 0;
        void AppendAndResume()
        {
            ValueTask<long> pending = log.AppendAsync(e, target);
            long started = Stopwatch.GetTimestamp();
            IThreadPoolWorkItem? share;
            var spin = new SpinWait();
            while (!target.Posted.TryDequeue(out share))
            {
                if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(10)) throw new TimeoutException("the writer posted nothing within 10 s");
                spin.SpinOnce();
            }
            // The post's share runs here, on the target's (this) thread, and completes the append.
            share.Execute();
            Assert.True(pending.IsCompletedSuccessfully);
            _ = pending.Result;
            appended++;
        }
        for (int i = 0; i < 2_000; i++) AppendAndResume();
        long least = long.MaxValue;
        long allocated = ThreadAllocations.Measure(() =>
        {
            writerFirst = Volatile.Read(ref target.WriterAllocatedAtLastPost);
            for (int i = 0; i < 200; i++) AppendAndResume();
            writerLast = Volatile.Read(ref target.WriterAllocatedAtLastPost);
            least = Math.Min(least, writerLast - writerFirst);
        });
        Assert.Equal(0, allocated);
        // The writer's own cycle (write, flush, dispatch to the target) between two posts, over 200 groups.
        Assert.Equal(0, least);
        Assert.Equal(log.Statistics.ResumedOnLoops, appended);
    }
}
