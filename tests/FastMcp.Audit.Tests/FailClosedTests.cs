namespace FastMcp.Audit.Tests;

public sealed class FailClosedTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Disk_full_fails_closed_recovers_by_itself_records_the_outage_and_loses_nothing_acknowledged()
    {
        var fs = new FaultyFileSystem();
        var acknowledged = new List<long>();
        var e = new AuditEvent();
        await using (var log = await AuditLog.OpenAsync(_dir.Options(), fs))
        {
            for (int i = 0; i < 5; i++) { SampleEvents.Fill(e, i, subject: "before"); acknowledged.Add(await log.AppendAsync(e)); }

            fs.Full = true;
            SampleEvents.Fill(e, 5, subject: "lost");
            await Assert.ThrowsAsync<AuditUnavailableException>(async () => await log.AppendAsync(e));
            Assert.False(log.IsWritable);
            // While the disk stays full every append is refused at once: nothing is forwarded unrecorded.
            await Assert.ThrowsAsync<AuditUnavailableException>(async () => await log.AppendAsync(e));
            await Task.Delay(100);
            Assert.False(log.IsWritable);

            fs.Full = false;
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!log.IsWritable && DateTime.UtcNow < deadline) await Task.Delay(10);
            Assert.True(log.IsWritable);

            for (int i = 6; i < 11; i++) { SampleEvents.Fill(e, i, subject: "after"); acknowledged.Add(await log.AppendAsync(e)); }
        }
        Assert.True(fs.FailedWrites > 0);

        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        var bySequence = records.ToDictionary(r => r.Sequence);
        foreach (long seq in acknowledged) Assert.True(bySequence.ContainsKey(seq), $"acknowledged record {seq} missing");
        Assert.DoesNotContain(records, r => r.Subject == "lost");
        Assert.Equal(5, records.Count(r => r.Subject == "before"));
        Assert.Equal(5, records.Count(r => r.Subject == "after"));
        var outage = Assert.Single(records, r => r.Type == AuditEventType.AuditOutage);
        Assert.Contains("No space left on device", outage.Detail);
        var recovered = Assert.Single(records, r => r.Type == AuditEventType.AuditRecovered);
        Assert.True(recovered.Sequence == outage.Sequence + 1);
        Assert.True(records.FindIndex(r => r.Subject == "after") > records.IndexOf(recovered));
    }

    [Fact]
    public async Task Concurrent_strict_appends_share_group_commits_and_get_unique_contiguous_sequences()
    {
        var seqs = new System.Collections.Concurrent.ConcurrentBag<long>();
        await using (var log = await AuditLog.OpenAsync(_dir.Options()))
        {
            var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            {
                var e = new AuditEvent();
                for (int i = 0; i < 100; i++) { SampleEvents.Fill(e, w * 1000 + i, session: "w" + w); seqs.Add(await log.AppendAsync(e)); }
            })).ToArray();
            await Task.WhenAll(workers);
        }
        var sorted = seqs.OrderBy(s => s).ToList();
        Assert.Equal(Enumerable.Range(1, 800).Select(i => (long)i), sorted);
        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Equal(802, records.Count);
    }

    [Fact]
    public async Task Batched_mode_acknowledges_at_once_and_writes_within_the_flush_interval()
    {
        await using var log = await AuditLog.OpenAsync(_dir.Options(durability: AuditDurability.Batched));
        var e = new AuditEvent();
        SampleEvents.Fill(e, 1);
        var pending = log.AppendAsync(e);
        Assert.True(pending.IsCompletedSuccessfully);
        Assert.Equal(1, await pending);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        List<LogReading.Rec> records = [];
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
            (_, records) = await LogReading.VerifyFolderAsync(_dir);
            if (records.Count >= 2) break;
        }
        Assert.Equal(2, records.Count);
    }

    [Fact]
    public async Task Appending_in_batched_mode_allocates_nothing_once_warm()
    {
        var options = _dir.Options(durability: AuditDurability.Batched);
        options.BatchedFlushInterval = TimeSpan.FromMilliseconds(5);
        await using var log = await AuditLog.OpenAsync(options);
        var e = new AuditEvent();
        SampleEvents.Fill(e, 1);
        for (int i = 0; i < 20_000; i++) _ = log.AppendAsync(e);
        await Task.Delay(100);
        long allocated = ThreadAllocations.Measure(() => { for (int i = 0; i < 200; i++) _ = log.AppendAsync(e); });
        Assert.Equal(0, allocated);
    }

    [Fact]
    public async Task A_closed_log_refuses_appends()
    {
        var log = await AuditLog.OpenAsync(_dir.Options());
        await log.DisposeAsync();
        Assert.False(log.IsWritable);
        await Assert.ThrowsAsync<AuditUnavailableException>(async () => await log.AppendAsync(new AuditEvent()));
    }
}
