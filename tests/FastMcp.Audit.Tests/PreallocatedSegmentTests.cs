using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Recording;

namespace FastMcp.Audit.Tests;

/// <summary>
/// Issue #14, target 3: the open segment is kept zero-filled ahead of its end, so a durable append
/// needs fdatasync only. Recovery and the verifier read the zeros after the last frame of an `.open`
/// as its end; a sealed segment never keeps them; a torn frame in the reserve is cut as before.
/// </summary>
public sealed class PreallocatedSegmentTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (long End, int ZeroTail) Frames(byte[] data)
    {
        using var reader = new FrameReader();
        reader.Reset(data, zeroTailIsEnd: true);
        while (reader.Next(out _, out _) == FrameReadStatus.Ok) { }
        return (reader.Position, reader.ZeroTail);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            if (Path.GetFileName(f) == FastMcp.Audit.Storage.ChainWriterLock.FileName) continue;
            string target = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
    }

    [Fact]
    public async Task The_open_segment_is_zero_filled_ahead_and_sealed_at_its_real_end()
    {
        string open = Path.Combine(_dir.ChainDir(), SegmentNames.Open(1));
        await using (var log = await AuditLog.OpenAsync(_dir.Options()))
        {
            var e = new AuditEvent();
            for (int i = 0; i < 20; i++) { SampleEvents.Fill(e, i); await log.AppendAsync(e); }
            var data = File.ReadAllBytes(open);
            var (end, zeros) = Frames(data);
            Assert.True(zeros > 0, "no zero-filled reserve after the last frame");
            Assert.Equal(data.Length, end + zeros);
            Assert.True(zeros >= 64 * 1024, $"reserve {zeros} bytes");

            // A live folder verifies: the zeros are the end of the open segment, not a torn or corrupt frame.
            var (live, liveRecords) = await LogReading.VerifyFolderAsync(_dir);
            Assert.True(live.Valid, live.FirstError?.Message);
            Assert.Contains(live.Chains[0].Warnings, w => w.Code == "open");
            Assert.Equal(21, liveRecords.Count);
        }
        var sealedData = File.ReadAllBytes(Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(1)));
        Assert.True(FrameReader.TryReadLastFrame(sealedData, out var last, out _));
        Assert.Equal(FrameKind.Seal, last.Kind);
        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Equal(22, records.Count);
    }

    [Fact]
    public async Task A_new_segment_reserves_a_small_first_step_and_whole_steps_once_records_reach_it()
    {
        // Start-up (issue #14, target 5): the segment is created before the gateway accepts, so its first reserve is
        // small; it was a whole 4 MiB step of zeros written and flushed there.
        string open = Path.Combine(_dir.ChainDir(), SegmentNames.Open(1));
        await using var log = await AuditLog.OpenAsync(_dir.Options());
        var (end, zeros) = Frames(File.ReadAllBytes(open));
        Assert.True(zeros > 0, "no zero-filled reserve after the header");
        Assert.True(zeros <= ActiveSegment.FirstReserveStep, $"reserve {zeros} bytes after start");

        // Records that do not compress run past the first step: the next reserve is a whole step.
        var e = new AuditEvent();
        for (int i = 0; end < ActiveSegment.FirstReserveStep && i < 200; i++)
        {
            SampleEvents.Fill(e, i);
            e.ResponsePayload = System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6000)));
            await log.AppendAsync(e);
            (end, _) = Frames(File.ReadAllBytes(open));
        }
        Assert.True(end >= ActiveSegment.FirstReserveStep, $"the records reached {end} bytes only");
        (end, zeros) = Frames(File.ReadAllBytes(open));
        Assert.True(zeros >= ActiveSegment.ReserveStep - 64 * 1024, $"reserve {zeros} bytes after the first step");
    }

    [Fact]
    public async Task A_disk_that_cannot_hold_the_reserve_still_records_without_it()
    {
        // A small or nearly full volume that cannot take the reserve's zeros (a 1 MiB tmpfs and the 4 MiB steps): the
        // reserve is skipped, not the record.
        var fs = new FaultyFileSystem { FailWhen = (op, _) => op == "reserve" };
        string open = Path.Combine(_dir.ChainDir(), SegmentNames.Open(1));
        await using (var log = await AuditLog.OpenAsync(_dir.Options(), fs))
        {
            var e = new AuditEvent();
            for (int i = 0; i < 5; i++) { SampleEvents.Fill(e, i); await log.AppendAsync(e); }
            Assert.True(log.IsWritable);
            var (end, zeros) = Frames(File.ReadAllBytes(open));
            Assert.Equal(0, zeros);
            Assert.Equal(new FileInfo(open).Length, end);
        }
        Assert.True(fs.FailedWrites > 0);
        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Equal(7, records.Count);
    }

    [Fact]
    public async Task A_zero_tail_after_the_seal_of_a_sealed_segment_is_an_error()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        string sealedPath = Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(1));
        using (var f = new FileStream(sealedPath, FileMode.Append)) f.Write(new byte[4096]);
        var (report, _) = await LogReading.VerifyFolderAsync(_dir);
        Assert.False(report.Valid);
    }

    [Fact]
    public async Task A_torn_frame_in_the_reserve_is_cut_and_the_zeros_are_not_counted_as_torn()
    {
        string image = Path.Combine(_dir.Root, "crash");
        var live = await AuditLog.OpenAsync(_dir.Options());
        var e = new AuditEvent();
        for (int i = 0; i < 10; i++) { SampleEvents.Fill(e, i); await live.AppendAsync(e); }
        CopyDirectory(_dir.Segments, image);
        await live.DisposeAsync();
        string openFile = Path.Combine(image, "gw-1", SegmentNames.Open(1));
        var before = File.ReadAllBytes(openFile);
        var (end, zeros) = Frames(before);
        Assert.True(zeros > 200);

        // The crash tore the next frame: its header and part of its payload reached the reserve, the rest is still zeros.
        var sealedCopy = File.ReadAllBytes(Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(1)));
        var torn = sealedCopy.AsSpan(sealedCopy.Length - 300, 150).ToArray();
        torn[^1] = 0xAB; // its last byte is written (a zero there would be counted as reserve)
        using (var f = new FileStream(openFile, FileMode.Open)) { f.Position = end; f.Write(torn); }
        Assert.Equal(before.Length, new FileInfo(openFile).Length);

        var options = _dir.Options();
        options.Directory = image;
        AuditStartReport start;
        await using (var log = await AuditLog.OpenAsync(options))
        {
            start = log.StartReport;
            for (int i = 10; i < 13; i++) { SampleEvents.Fill(e, i); await log.AppendAsync(e); }
        }
        Assert.False(start.TamperingFound);
        Assert.Contains("150 bytes of torn tail cut", start.Summary);

        var recovered = File.ReadAllBytes(Path.Combine(image, "gw-1", SegmentNames.Sealed(1)));
        Assert.True(FrameReader.TryReadLastFrame(recovered, out var last, out _));
        Assert.Equal(FrameKind.Seal, last.Kind);
        var (report, records) = await LogReading.VerifyFolderAsync(_dir, image);
        Assert.True(report.Valid, report.FirstError?.Message);
        var recovery = Assert.Single(report.Chains[0].Recoveries);
        Assert.Equal(11, recovery.Records);
        Assert.Equal(150, recovery.CutBytes);
        Assert.Equal(11 + 1 + 3 + 1, records.Count);
    }

    [Fact]
    public async Task A_crash_before_the_first_frame_leaves_only_zeros_and_the_segment_is_discarded()
    {
        string chainDir = _dir.ChainDir();
        await SampleEvents.WriteLogAsync(_dir.Options(), 2);
        // The reserve was written, the header frame never was.
        File.WriteAllBytes(Path.Combine(chainDir, SegmentNames.Open(2)), new byte[64 * 1024]);
        await using (var log = await AuditLog.OpenAsync(_dir.Options()))
        {
            Assert.False(log.StartReport.TamperingFound);
            Assert.Contains("segment 2 had no complete header and was discarded", log.StartReport.Summary);
        }
        var (report, _) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
    }
}
