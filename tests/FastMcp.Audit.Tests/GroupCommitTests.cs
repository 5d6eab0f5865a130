namespace FastMcp.Audit.Tests;

/// <summary>Issue #15: the writer counts its group commits (fsyncs), the records they carried and how long each flush took.</summary>
public sealed class GroupCommitTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Concurrent_strict_appends_share_flushes_and_the_statistics_add_up()
    {
        await using var log = await AuditLog.OpenAsync(_dir.Options());
        long fsyncsBefore = log.Statistics.Fsyncs, recordsBefore = log.Statistics.RecordsSynced;
        const int writers = 32, each = 40;
        var tasks = new Task[writers];
        for (int w = 0; w < writers; w++)
        {
            int id = w;
            tasks[w] = Task.Run(async () =>
            {
                var e = new AuditEvent();
                for (int i = 0; i < each; i++) { SampleEvents.Fill(e, id * 1000 + i); await log.AppendAsync(e); }
            });
        }
        await Task.WhenAll(tasks);

        var stats = log.Statistics;
        long records = stats.RecordsSynced - recordsBefore, fsyncs = stats.Fsyncs - fsyncsBefore;
        Assert.Equal(writers * each, records);
        Assert.InRange(fsyncs, 1, records);
        long histogram = 0;
        for (int i = 0; i <= Recording.WriterStatistics.BucketBounds.Length; i++) histogram += stats.BucketCount(i);
        Assert.Equal(stats.Fsyncs, histogram);
        Assert.True(stats.FsyncSecondsSum > 0);
        Assert.Equal(0, log.QueueDepth);
    }

    /// <summary>
    /// Issue #14: the waiters of one group commit are handed off once, as one work item that resumes them in
    /// sequence order, instead of one thread-pool work item per waiter (which resumed them on several workers at
    /// once, each wake a futex). Each continuation here holds its thread for a while, so waiters resumed apart
    /// would overlap and run on different threads.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_group_commit_resumes_its_waiters_one_after_another_on_one_thread(bool fail)
    {
        var fs = new FaultyFileSystem();
        await using var log = await AuditLog.OpenAsync(_dir.Options(), fs);
        using var gate = new ManualResetEventSlim(false);
        // Hold the writer inside the flush of a first record, so that the next ones all queue as one group.
        fs.FlushGate = gate;
        var first = Task.Run(async () => { var e = new AuditEvent(); SampleEvents.Fill(e, 0); await log.AppendAsync(e).ConfigureAwait(false); });
        Assert.True(fs.FlushWaiting.Wait(TimeSpan.FromSeconds(10)));
        const int group = 8;
        var resumed = new (long Sequence, int Thread, bool Failed)[group];
        int running = 0, overlapped = 0, next = 0;
        var appends = new Task[group];
        for (int i = 0; i < group; i++)
        {
            var e = new AuditEvent();
            SampleEvents.Fill(e, 100 + i);
            var pending = log.AppendAsync(e);
            appends[i] = Task.Run(async () =>
            {
                long seq = -1;
                bool failed = false;
                try { seq = await pending.ConfigureAwait(false); }
                catch (AuditUnavailableException) { failed = true; }
                if (Interlocked.Increment(ref running) > 1) Interlocked.Increment(ref overlapped);
                resumed[Interlocked.Increment(ref next) - 1] = (seq, Environment.CurrentManagedThreadId, failed);
                Thread.Sleep(20);
                Interlocked.Decrement(ref running);
            });
        }
        // Give every Task.Run time to start awaiting, so none finds its record already durable.
        await Task.Delay(200);
        fs.FlushGate = null;
        if (fail) fs.Full = true;
        gate.Set();
        if (fail) await Assert.ThrowsAsync<AuditUnavailableException>(() => first);
        else await first;
        await Task.WhenAll(appends);
        fs.Full = false;

        Assert.Equal(0, overlapped);
        Assert.Single(resumed.Select(r => r.Thread).Distinct());
        Assert.All(resumed, r => Assert.Equal(fail, r.Failed));
        if (!fail)
        {
            // Resumed in the order the records were appended.
            var sequences = resumed.Select(r => r.Sequence).ToArray();
            Assert.Equal(sequences.Order(), sequences);
            Assert.Equal(group, sequences.Distinct().Count());
        }
    }
}
