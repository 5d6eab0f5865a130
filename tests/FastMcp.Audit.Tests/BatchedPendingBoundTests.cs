using System.Collections.Concurrent;
using System.Diagnostics;

namespace FastMcp.Audit.Tests;

/// <summary>
/// Batched durability answers an append once it is queued; a writer that falls behind (here: held inside its fdatasync
/// by the file system's flush gate, a stuck disk) must not let what is answered and not yet durable grow without
/// limit. Past audit.batchedMaxPendingBytes an append waits for the writer, then is refused as in an outage
/// (AuditUnavailableException), and once the writer drains everything flows again and the log verifies.
/// </summary>
public sealed class BatchedPendingBoundTests : IDisposable
{
    private const int Limit = 16 * 1024;
    private readonly TempAuditDirectory _dir = new();
    private readonly FaultyFileSystem _disk = new();
    private readonly ConcurrentQueue<string> _problems = new();
    // Holds the writer inside its flush while unset.
    private readonly ManualResetEventSlim _gate = new(false);

    public void Dispose()
    {
        LetWriterGo();
        _dir.Dispose();
    }

    /// <summary>Lets a held writer finish its flush; every later flush goes straight through.</summary>
    private void LetWriterGo()
    {
        _disk.FlushGate = null;
        _gate.Set();
    }

    private AuditOptions Options(TimeSpan wait, AuditDurability durability = AuditDurability.Batched)
    {
        AuditOptions options = _dir.Options(durability: durability);
        options.BatchedFlushBytes = 4096;
        options.BatchedMaxPendingBytes = Limit;
        options.BatchedMaxPendingWait = wait;
        options.OnProblem = _problems.Enqueue;
        return options;
    }

    /// <summary>Lets the writer go when disposed: declared after the log, so a failed assertion cannot leave the log's disposal waiting on a held writer.</summary>
    private sealed class WriterLetGo(BatchedPendingBoundTests owner) : IDisposable
    {
        public void Dispose() => owner.LetWriterGo();
    }

    /// <summary>Appends one record and waits, bounded, until the writer is held inside its flush of it.</summary>
    private async Task<long> HoldWriterAsync(AuditLog log, AuditEvent e)
    {
        _disk.FlushGate = _gate;
        SampleEvents.Fill(e, 0, subject: "answered");
        long first = await log.AppendAsync(e);
        Assert.True(_disk.FlushWaiting.Wait(TimeSpan.FromSeconds(20)), "the writer never reached its flush");
        return first;
    }

    /// <summary>
    /// Appends until one does not complete at once (the bound is reached), checking after each that what is answered
    /// and not yet durable never passes the bound by more than one record. The appends answered are added to
    /// <paramref name="answered"/>; the one left waiting is returned.
    /// </summary>
    private static ValueTask<long> FillToBound(AuditLog log, AuditEvent e, List<long> answered, int firstIndex)
    {
        for (int i = firstIndex; i < firstIndex + 10_000; i++)
        {
            SampleEvents.Fill(e, i, subject: "answered");
            ValueTask<long> append = log.AppendAsync(e);
            Assert.InRange(log.PendingBytes, 0, Limit + MaxRecordBytes);
            if (!append.IsCompleted) return append;
            answered.Add(append.Result);
        }
        throw new Xunit.Sdk.XunitException($"10,000 appends were all answered at once with the writer held: nothing bounds the queue ({log.PendingBytes} bytes pending)");
    }

    // A sample record is a few hundred bytes; one record over the bound is allowed.
    private const int MaxRecordBytes = 2048;

    [Fact]
    public async Task A_held_writer_bounds_the_queue_appends_then_wait_and_are_refused_and_flow_again_once_it_drains()
    {
        var e = new AuditEvent();
        var answered = new List<long>();
        await using (AuditLog log = await AuditLog.OpenAsync(Options(TimeSpan.FromSeconds(3)), _disk))
        {
            using var letGo = new WriterLetGo(this);
            answered.Add(await HoldWriterAsync(log, e));
            ValueTask<long> waiting = FillToBound(log, e, answered, 1);
            Assert.Equal(1, log.PendingWaits);
            Assert.Equal(Limit, log.PendingBytesLimit);
            // A record that cannot wait (a relayed stream message) is refused at once while the queue is at its bound.
            SampleEvents.Fill(e, 90_000, subject: "refused");
            Assert.Throws<AuditUnavailableException>(() => log.AppendQueued(e));
            // The waiting one is refused once audit.batchedMaxPendingWait has passed: the writer is still held.
            AuditUnavailableException refused = await Assert.ThrowsAsync<AuditUnavailableException>(async () => await waiting);
            Assert.Contains("audit.batchedMaxPendingBytes", refused.Message, StringComparison.Ordinal);
            Assert.Equal(2, log.PendingRefused);
            Assert.True(log.IsWritable);
            Assert.InRange(log.PendingBytes, Limit, Limit + MaxRecordBytes);
            Assert.Single(_problems, p => p.Contains("reached audit.batchedMaxPendingBytes", StringComparison.Ordinal));

            // One more waits; the writer is let go within its wait, so it is admitted, after every record answered before it.
            SampleEvents.Fill(e, 90_001, subject: "answered");
            ValueTask<long> admittedLater = log.AppendAsync(e);
            Assert.False(admittedLater.IsCompleted);
            LetWriterGo();
            long sequence = await admittedLater;
            Assert.True(sequence > answered.Max());
            answered.Add(sequence);
            await Until.HoldsAsync(() => _problems.Any(p => p.Contains("below half of audit.batchedMaxPendingBytes again", StringComparison.Ordinal)), "the episode's end said");
            Assert.Single(_problems, p => p.Contains("2 appends waited for the writer, 2 were refused (503) meanwhile", StringComparison.Ordinal));

            // Flowing again: answered at once.
            for (int i = 0; i < 20; i++)
            {
                SampleEvents.Fill(e, 100_000 + i, subject: "answered");
                ValueTask<long> append = log.AppendAsync(e);
                Assert.True(append.IsCompletedSuccessfully);
                answered.Add(await append);
            }
        }

        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        // Every answered record is in the log, and nothing refused is.
        Assert.Equal(answered.OrderBy(s => s), records.Where(r => r.Subject == "answered").Select(r => r.Sequence));
        Assert.DoesNotContain(records, r => r.Subject == "refused");
        LogReading.Rec outage = Assert.Single(records, r => r.Type == AuditEventType.AuditOutage);
        Assert.Contains($"reached audit.batchedMaxPendingBytes ({Limit} bytes)", outage.Detail, StringComparison.Ordinal);
        LogReading.Rec recovered = Assert.Single(records, r => r.Type == AuditEventType.AuditRecovered);
        Assert.Contains("2 appends refused, 2 waited", recovered.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Waiting_appends_are_admitted_oldest_first_once_the_writer_drains_and_none_is_refused()
    {
        var e = new AuditEvent();
        var answered = new List<long>();
        await using (AuditLog log = await AuditLog.OpenAsync(Options(TimeSpan.FromSeconds(30)), _disk))
        {
            using var letGo = new WriterLetGo(this);
            answered.Add(await HoldWriterAsync(log, e));
            var waiting = new List<ValueTask<long>> { FillToBound(log, e, answered, 1) };
            for (int i = 0; i < 4; i++)
            {
                SampleEvents.Fill(e, 50_000 + i, subject: "answered");
                waiting.Add(log.AppendAsync(e));
            }
            Assert.All(waiting, w => Assert.False(w.IsCompleted));
            Assert.Equal(5, log.PendingWaits);

            LetWriterGo();
            var admitted = new List<long>();
            foreach (ValueTask<long> w in waiting) admitted.Add(await w);
            Assert.Equal(admitted.OrderBy(s => s), admitted);
            Assert.True(admitted[0] > answered.Max());
            answered.AddRange(admitted);
            Assert.Equal(0, log.PendingRefused);
        }

        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Equal(answered.OrderBy(s => s), records.Where(r => r.Subject == "answered").Select(r => r.Sequence));
        // Nothing was refused: no outage is recorded for the episode.
        Assert.DoesNotContain(records, r => r.Type == AuditEventType.AuditOutage);
    }

    [Fact]
    public async Task Appends_waiting_for_room_are_refused_at_once_when_the_writer_fails()
    {
        var e = new AuditEvent();
        await using AuditLog log = await AuditLog.OpenAsync(Options(TimeSpan.FromSeconds(30)), _disk);
        using var letGo = new WriterLetGo(this);
        await HoldWriterAsync(log, e);
        ValueTask<long> waiting = FillToBound(log, e, [], 1);
        _disk.Full = true;
        LetWriterGo();
        // Long before its 30 s wait: the writer is in an outage, so nothing will make room.
        await Assert.ThrowsAsync<AuditUnavailableException>(async () => await waiting).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.False(log.IsWritable);
        _disk.Full = false;
        await Until.HoldsAsync(() => log.IsWritable, "the log recovered");
        Assert.Equal(0, log.PendingRefused);
    }

    [Fact]
    public async Task Strict_durability_has_no_bound_its_appends_all_wait_for_their_flush()
    {
        var e = new AuditEvent();
        await using AuditLog log = await AuditLog.OpenAsync(Options(TimeSpan.Zero, AuditDurability.Strict), _disk);
        using var letGo = new WriterLetGo(this);
        _disk.FlushGate = _gate;
        SampleEvents.Fill(e, 0);
        ValueTask<long> first = log.AppendAsync(e);
        Assert.True(_disk.FlushWaiting.Wait(TimeSpan.FromSeconds(20)));
        // Far more than the (ignored) bound queues behind the held flush; none is refused.
        var appends = new List<ValueTask<long>> { first };
        for (int i = 1; i < 200; i++)
        {
            SampleEvents.Fill(e, i);
            appends.Add(log.AppendAsync(e));
        }
        Assert.True(log.PendingBytes > Limit);
        Assert.Equal(0, log.PendingBytesLimit);
        LetWriterGo();
        var sequences = new List<long>();
        foreach (ValueTask<long> append in appends) sequences.Add(await append);
        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), sequences);
        Assert.Equal(0, log.PendingWaits + log.PendingRefused);
        await Until.HoldsAsync(() => log.PendingBytes == 0, "nothing left unwritten");
    }

    [Theory]
    [InlineData(1000, "Audit.BatchedMaxPendingBytes must be 4096-1073741824.")]
    [InlineData(8192, "Audit.BatchedMaxPendingBytes (8192) must be at least Audit.BatchedFlushBytes (65536) in Batched durability.")]
    public void A_bound_below_one_flush_is_refused_naming_the_field(int bytes, string message)
    {
        AuditOptions options = _dir.Options(durability: AuditDurability.Batched);
        options.BatchedMaxPendingBytes = bytes;
        ArgumentException e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(nameof(AuditOptions.BatchedMaxPendingBytes), e.ParamName);
        Assert.StartsWith(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_negative_or_over_a_minute_wait_is_refused_naming_the_field()
    {
        AuditOptions options = _dir.Options(durability: AuditDurability.Batched);
        options.BatchedMaxPendingWait = TimeSpan.FromMinutes(2);
        Assert.Equal(nameof(AuditOptions.BatchedMaxPendingWait), Assert.Throws<ArgumentException>(options.Validate).ParamName);
        options.BatchedMaxPendingWait = TimeSpan.FromMilliseconds(-1);
        Assert.Equal(nameof(AuditOptions.BatchedMaxPendingWait), Assert.Throws<ArgumentException>(options.Validate).ParamName);
    }
}
