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
}
