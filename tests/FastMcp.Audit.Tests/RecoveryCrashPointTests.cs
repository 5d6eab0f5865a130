using FastMcp.Audit.Format;

namespace FastMcp.Audit.Tests;

/// <summary>
/// The log's start cut at every step (CrashPointFileSystem: each write, flush, folder sync, rename and replacement, with
/// every subset of the folder changes not yet synced, and the files as flushed or as written): whatever a crash leaves,
/// the next start recovers it without reporting tampering and the verifier accepts the folder. And the start's own
/// durability: when OpenAsync returns, the new segment's header, AuditStarted and the checkpoint over them are on disk
/// for certain, with one flush of the segment.
/// </summary>
public sealed class RecoveryCrashPointTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_crash_at_any_step_of_a_clean_start_leaves_a_log_that_recovery_and_the_verifier_accept()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        var fs = new CrashPointFileSystem(_dir.ChainDir());
        await using (var log = await AuditLog.OpenAsync(_dir.Options(), fs)) { }
        await RecoverEveryImageAsync(fs.ImagesSoFar(), previousRecords: 3 + 2);
    }

    [Fact]
    public async Task A_crash_at_any_step_of_a_start_that_recovers_a_crashed_segment_leaves_a_log_that_recovery_and_the_verifier_accept()
    {
        // A previous run that crashed: its open segment holds AuditStarted and 4 durable records.
        string crashed = Path.Combine(_dir.Root, "crashed");
        var live = await AuditLog.OpenAsync(_dir.Options());
        var e = new AuditEvent();
        for (int i = 0; i < 4; i++) { SampleEvents.Fill(e, i); await live.AppendAsync(e); }
        CopyChain(_dir.ChainDir(), Path.Combine(crashed, "gw-1"));
        await live.DisposeAsync();
        Directory.Delete(_dir.Segments, recursive: true);
        CopyChain(Path.Combine(crashed, "gw-1"), _dir.ChainDir());

        var fs = new CrashPointFileSystem(_dir.ChainDir());
        await using (var log = await AuditLog.OpenAsync(_dir.Options(), fs))
            Assert.StartsWith("crash recovery", log.StartReport.Summary);
        await RecoverEveryImageAsync(fs.ImagesSoFar(), previousRecords: 5);
    }

    [Fact]
    public async Task When_the_start_returns_the_new_segment_and_the_checkpoint_over_its_AuditStarted_are_durable_after_one_flush_of_it()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        var fs = new CrashPointFileSystem(_dir.ChainDir());
        await using var log = await AuditLog.OpenAsync(_dir.Options(), fs);
        CrashPointFileSystem.Image durable = fs.DurableNow();
        // One fdatasync of the new segment (its reserve, header, AuditStarted and checkpoint frame together); the
        // checkpoint object's own fsync is inside the one replacement. Folder syncs: the segment's name, the replacement.
        Assert.Equal(1, fs.FileFlushes);
        Assert.Equal(1, fs.Replacements);
        Assert.Equal(2, fs.FolderSyncs);

        Assert.Contains(SegmentNames.Open(2), durable.Files.Keys);
        Assert.True(Checkpoint.TryDecode(durable.Files[SegmentNames.CheckpointName], out var checkpoint, out _, out _));
        Assert.Equal(2, checkpoint!.Segment);
        Assert.Equal(1, checkpoint.SegmentRecords);
        string image = Path.Combine(_dir.Root, "durable", "segments");
        CrashPointFileSystem.Materialize(durable, Path.Combine(image, "gw-1"));
        var (report, records) = await LogReading.VerifyFolderAsync(_dir, image);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Equal(AuditEventType.AuditStarted, records[^1].Type);
        Assert.Equal(3 + 2, records[^1].Sequence);
    }

    /// <summary>
    /// Starts a log on each image (a copy), appends one record and stops it: no tampering may be reported, nothing the
    /// previous run made durable may be lost, and the verifier must accept the folder.
    /// </summary>
    private async Task RecoverEveryImageAsync(List<CrashPointFileSystem.Image> images, int previousRecords)
    {
        Assert.True(images.Count > 10, $"only {images.Count} crash images");
        var e = new AuditEvent();
        for (int i = 0; i < images.Count; i++)
        {
            CrashPointFileSystem.Image image = images[i];
            string what = $"image {i} ({image.Step}: {string.Join(", ", image.Files.Select(f => $"{f.Key} {f.Value.Length} B"))})";
            string root = Path.Combine(_dir.Root, "image-" + i, "segments");
            CrashPointFileSystem.Materialize(image, Path.Combine(root, "gw-1"));
            var options = _dir.Options();
            options.Directory = root;
            await using (var log = await AuditLog.OpenAsync(options))
            {
                Assert.False(log.StartReport.TamperingFound, $"{what}: {log.StartReport.Tampering}");
                SampleEvents.Fill(e, 100);
                await log.AppendAsync(e);
            }
            var (report, records) = await LogReading.VerifyFolderAsync(_dir, root);
            Assert.True(report.Valid, $"{what}: {report.FirstError?.Message}");
            Assert.True(records.Count >= previousRecords + 3, $"{what}: {records.Count} records");
            for (int r = 0; r < records.Count; r++) Assert.Equal(r, records[r].Sequence);
            Directory.Delete(Path.Combine(_dir.Root, "image-" + i), recursive: true);
        }
    }

    private static void CopyChain(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string f in Directory.EnumerateFiles(from))
        {
            if (Path.GetFileName(f) == FastMcp.Audit.Storage.ChainWriterLock.FileName) continue; // the live writer's lock
            File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        }
    }
}
