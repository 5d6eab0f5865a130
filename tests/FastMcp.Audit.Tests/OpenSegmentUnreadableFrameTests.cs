using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;

namespace FastMcp.Audit.Tests;

/// <summary>
/// An unreadable frame in an <c>.open</c> segment is the frame being written (or torn by a crash) only when nothing
/// but the zero-filled reserve follows it (docs/audit-format.md §3.1, §7.1); a damaged frame with later frames after
/// it would otherwise hide every later record and signed checkpoint as "incomplete".
/// </summary>
public sealed class OpenSegmentUnreadableFrameTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();
    private string Image => Path.Combine(_dir.Root, "image");
    private string OpenFile => Path.Combine(Image, "gw-1", SegmentNames.Open(1));

    public void Dispose() => _dir.Dispose();

    /// <summary>A copy of the chain folder taken while the writer runs: segment 1 open, its reserve zero-filled.</summary>
    private async Task<List<(int Offset, int Length)>> LiveImageAsync()
    {
        var live = await AuditLog.OpenAsync(_dir.Options());
        try
        {
            var e = new AuditEvent();
            for (int i = 0; i < 8; i++) { SampleEvents.Fill(e, i); await live.AppendAsync(e); }
            Directory.CreateDirectory(Path.Combine(Image, "gw-1"));
            File.Copy(Path.Combine(_dir.ChainDir(), SegmentNames.Open(1)), OpenFile);
        }
        finally
        {
            await live.DisposeAsync();
        }
        var frames = new List<(int, int)>();
        using var reader = new FrameReader();
        reader.Reset(File.ReadAllBytes(OpenFile), zeroTailIsEnd: true);
        while (reader.Next(out var frame, out _) == FrameReadStatus.Ok) frames.Add(((int)frame.Offset, frame.TotalLength));
        Assert.True(frames.Count >= 6, $"{frames.Count} frames");
        Assert.True(reader.ZeroTail > 0, "no zero-filled reserve");
        return frames;
    }

    private void FlipLastPayloadByte((int Offset, int Length) frame)
    {
        var data = File.ReadAllBytes(OpenFile);
        data[frame.Offset + frame.Length - 1] ^= 0x5A;
        Assert.Equal(0, data[^1]); // the file still ends in the reserve's zeros
        File.WriteAllBytes(OpenFile, data);
    }

    [Fact]
    public async Task A_damaged_frame_with_frames_after_it_is_an_error_not_an_incomplete_write()
    {
        var frames = await LiveImageAsync();
        FlipLastPayloadByte(frames[2]);

        var (report, _) = await LogReading.VerifyFolderAsync(_dir, Image);
        Assert.False(report.Valid, "a damaged frame in the middle of an .open hid the frames after it");
        Assert.Equal("frame", report.FirstError!.Code);
        Assert.Equal(frames[2].Offset, report.FirstError.Offset);
        Assert.DoesNotContain(report.Chains[0].Warnings, w => w.Code == "open" && w.Offset is not null);
    }

    [Fact]
    public async Task A_damaged_last_frame_followed_only_by_zeros_is_a_write_in_progress()
    {
        var frames = await LiveImageAsync();
        FlipLastPayloadByte(frames[^1]);

        var (report, records) = await LogReading.VerifyFolderAsync(_dir, Image);
        Assert.True(report.Valid, report.FirstError?.Message);
        var warning = Assert.Single(report.Chains[0].Warnings, w => w.Code == "open" && w.Offset == frames[^1].Offset);
        Assert.Contains("incomplete frame", warning.Message, StringComparison.Ordinal);
        Assert.NotEmpty(records);
    }
}
