namespace FastMcp.Audit.Tests;

/// <summary>
/// Batched durability answers an append once it is queued. When the write of the queue then fails, those records
/// are gone although their exchanges went ahead: the AuditOutage record must say how many and which sequences,
/// as a crash's recovery does (lost-records).
/// </summary>
public sealed class BatchedOutageLossTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_failed_batched_write_records_how_many_answered_records_it_lost_and_their_sequences()
    {
        var fs = new FaultyFileSystem();
        var options = _dir.Options(durability: AuditDurability.Batched);
        options.BatchedFlushBytes = 4096;
        options.BatchedFlushInterval = TimeSpan.FromHours(1);
        var answered = new List<long>();
        var e = new AuditEvent();
        await using (var log = await AuditLog.OpenAsync(options, fs))
        {
            fs.FailWhen = (op, _) => op == "append";
            // Four small records stay queued; the fifth takes the queue past 4096 bytes and wakes the writer.
            for (int i = 0; i < 5; i++)
            {
                SampleEvents.Fill(e, i, subject: "answered");
                if (i == 4) e.ResponsePayload = System.Text.Encoding.UTF8.GetBytes("\"" + new string('r', 8192) + "\"");
                answered.Add(await log.AppendAsync(e));
            }
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (log.IsWritable && DateTime.UtcNow < deadline) await Task.Delay(10);
            Assert.False(log.IsWritable);

            fs.FailWhen = null;
            deadline = DateTime.UtcNow.AddSeconds(10);
            while (!log.IsWritable && DateTime.UtcNow < deadline) await Task.Delay(10);
            Assert.True(log.IsWritable);
        }

        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.DoesNotContain(records, r => r.Subject == "answered");
        var outage = Assert.Single(records, r => r.Type == AuditEventType.AuditOutage);
        Assert.Contains($"lost 5 answered records, sequences {answered[0]}-{answered[^1]}", outage.Detail);
        // The sequences of the lost records are taken again from the outage record on (the chain has no gaps).
        Assert.Equal(answered[0], outage.Sequence);
    }
}
