using FastMcp.Audit.Format;

namespace FastMcp.Audit.Tests;

/// <summary>
/// AppendCheckpointedAsync: in either durability mode the append completes only once its record is durable and a signed
/// checkpoint over it is on disk (the frame and the <c>checkpoint</c> object), without waiting for the checkpoint interval;
/// so cutting it from the open segment after a crash is found as tampering, not taken for a torn tail.
/// </summary>
public sealed class CheckpointedAppendTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static AuditEvent Decision(string detail) =>
        new() { Type = AuditEventType.ApprovalRevoked, Success = false, Subject = "bob", Detail = detail };

    [Theory]
    [InlineData(AuditDurability.Strict)]
    [InlineData(AuditDurability.Batched)]
    public async Task The_append_completes_with_the_checkpoint_object_covering_its_record(AuditDurability durability)
    {
        // The interval is an hour (TempAuditDirectory), the batched flush interval far away too: only the request writes.
        var options = _dir.Options(durability: durability);
        options.BatchedFlushInterval = TimeSpan.FromHours(1);
        await using var log = await AuditLog.OpenAsync(options);
        var e = new AuditEvent();
        for (int i = 0; i < 5; i++) { SampleEvents.Fill(e, i); await log.AppendAsync(e); }

        long seq = await log.AppendCheckpointedAsync(Decision("revoked"));

        Assert.True(log.DurableSequence > seq);
        byte[] note = File.ReadAllBytes(Path.Combine(_dir.ChainDir(), SegmentNames.CheckpointName));
        Assert.True(Checkpoint.TryDecode(note, out Checkpoint? cp, out _, out _));
        Assert.True(cp!.Sequence > seq, $"the checkpoint object ends at sequence {cp.Sequence}, the record is {seq}");
    }

    [Theory]
    [InlineData(AuditDurability.Strict)]
    [InlineData(AuditDurability.Batched)]
    public async Task Cutting_the_record_from_the_open_segment_after_a_crash_is_found_as_tampering(AuditDurability durability)
    {
        var options = _dir.Options(durability: durability);
        string image = Path.Combine(_dir.Root, "crash");
        long seq;
        var live = await AuditLog.OpenAsync(options);
        try
        {
            var e = new AuditEvent();
            for (int i = 0; i < 5; i++) { SampleEvents.Fill(e, i); await live.AppendAsync(e); }
            seq = await live.AppendCheckpointedAsync(Decision("revoked"));
            // kill -9 right after the append completed: the disk as it is now.
            Directory.CreateDirectory(Path.Combine(image, "gw-1"));
            foreach (string f in Directory.GetFiles(_dir.ChainDir()).OrderBy(f => Path.GetFileName(f) == SegmentNames.CheckpointName ? 0 : 1))
            {
                if (Path.GetFileName(f) is FastMcp.Audit.Storage.ChainWriterLock.FileName || f.EndsWith(".tmp", StringComparison.Ordinal)) continue;
                File.Copy(f, Path.Combine(image, "gw-1", Path.GetFileName(f)));
            }
        }
        finally
        {
            await live.DisposeAsync();
        }
        string open = Assert.Single(Directory.GetFiles(Path.Combine(image, "gw-1"), "*.open"));
        Assert.True(SegmentSurgeon.TruncateAtRecord(open, seq), "the record is not in the open segment");

        options.Directory = image;
        await using var restarted = await AuditLog.OpenAsync(options);
        Assert.NotNull(restarted.StartReport.Tampering);
        Assert.Contains("records were removed", restarted.StartReport.Tampering, StringComparison.Ordinal);
    }
}
