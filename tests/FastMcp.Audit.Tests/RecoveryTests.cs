using FastMcp.Audit.Format;

namespace FastMcp.Audit.Tests;

public sealed class RecoveryTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            if (Path.GetFileName(f) == FastMcp.Audit.Storage.ChainWriterLock.FileName) continue; // the live writer's lock
            string target = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
    }

    [Fact]
    public async Task A_torn_tail_is_cut_sealed_as_recovered_and_the_chain_continues()
    {
        string crashImage = Path.Combine(_dir.Root, "crash");
        var live = await AuditLog.OpenAsync(_dir.Options());
        var e = new AuditEvent();
        for (int i = 0; i < 10; i++) { SampleEvents.Fill(e, i); await live.AppendAsync(e); }
        // The disk as a crash would leave it: acknowledged frames, then half of a frame.
        CopyDirectory(_dir.Segments, crashImage);
        await live.DisposeAsync();
        string openFile = Path.Combine(crashImage, "gw-1", SegmentNames.Open(1));
        Assert.True(File.Exists(openFile));
        var torn = File.ReadAllBytes(Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(1)));
        using (var f = new FileStream(openFile, FileMode.Append)) f.Write(torn.AsSpan(torn.Length - 300, 150));

        var options = _dir.Options();
        options.Directory = crashImage;
        await using (var log = await AuditLog.OpenAsync(options))
        {
            for (int i = 10; i < 15; i++) { SampleEvents.Fill(e, i); await log.AppendAsync(e); }
        }

        var (report, records) = await LogReading.VerifyFolderAsync(_dir, crashImage);
        Assert.True(report.Valid, report.FirstError?.Message);
        var chain = Assert.Single(report.Chains);
        Assert.Equal(1, Assert.Single(chain.Recoveries).Segment);
        Assert.Equal(2, chain.SegmentsVerified);
        // 1 AuditStarted + 10 acknowledged, then AuditStarted + 5 + AuditStopped.
        Assert.Equal(18, records.Count);
        for (int i = 0; i < records.Count; i++) Assert.Equal(i, records[i].Sequence);
        var restarted = records.Find(r => r.Sequence == 11)!;
        Assert.Equal(AuditEventType.AuditStarted, restarted.Type);
        Assert.Contains("crash recovery of segment 1", restarted.Detail);
    }

    [Fact]
    public async Task A_crash_between_seal_and_rename_only_renames()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 5);
        string chain = _dir.ChainDir();
        File.Move(Path.Combine(chain, SegmentNames.Sealed(1)), Path.Combine(chain, SegmentNames.Open(1)));
        await using (var log = await AuditLog.OpenAsync(_dir.Options())) { }
        var (report, _) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Empty(report.Chains[0].Recoveries);
        Assert.Equal(2, report.Chains[0].SegmentsVerified);
    }

    [Fact]
    public async Task A_segment_whose_header_never_became_durable_is_discarded_and_its_index_reused()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        File.WriteAllBytes(Path.Combine(_dir.ChainDir(), SegmentNames.Open(2)), [0x46, 0x4D, 0x41]);
        await using (var log = await AuditLog.OpenAsync(_dir.Options())) { }
        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Equal(2, report.Chains[0].SegmentsVerified);
        Assert.Equal(7, records.Count);
    }

    [Fact]
    public async Task The_open_segment_being_written_verifies_with_a_warning()
    {
        await using var log = await AuditLog.OpenAsync(_dir.Options());
        var e = new AuditEvent();
        for (int i = 0; i < 4; i++) { SampleEvents.Fill(e, i); await log.AppendAsync(e); }
        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Contains(report.Chains[0].Warnings, w => w.Code == "open");
        Assert.Equal(5, records.Count);
    }

    [Fact]
    public async Task Checkpoints_are_written_while_idle()
    {
        var options = _dir.Options();
        options.CheckpointInterval = TimeSpan.FromMilliseconds(50);
        await using var log = await AuditLog.OpenAsync(options);
        string open = Path.Combine(_dir.ChainDir(), SegmentNames.Open(1));
        int checkpoints = 0;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (checkpoints < 4 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            checkpoints = CountCheckpointFrames(open);
        }
        Assert.True(checkpoints >= 4, $"only {checkpoints} checkpoints while idle");
        Assert.True(Checkpoint.TryDecode(File.ReadAllBytes(Path.Combine(_dir.ChainDir(), "checkpoint")), out var cp, out _, out _));
        Assert.Equal(1, cp!.Sequence);
    }

    private static int CountCheckpointFrames(string path)
    {
        byte[] data;
        using (var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite)) { data = new byte[s.Length]; s.ReadExactly(data); }
        using var reader = new FastMcp.Audit.Reading.FrameReader();
        reader.Reset(data);
        int n = 0;
        while (reader.Next(out var f, out _) == FastMcp.Audit.Reading.FrameReadStatus.Ok) if (f.Header.Kind == FrameKind.Checkpoint) n++;
        return n;
    }
}
