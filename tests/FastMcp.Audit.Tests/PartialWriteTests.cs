using System.Security.Cryptography;
using FastMcp.Audit.Format;

namespace FastMcp.Audit.Tests;

/// <summary>
/// A short write on a full disk leaves the bytes that landed after the committed end. If nothing later overwrites
/// them (the outage records are shorter, and the log is sealed right after recovery), they must still be cut: a
/// sealed segment with bytes after its seal fails verification and the next start refuses it as tampering.
/// </summary>
public sealed class PartialWriteTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("shutdown")]
    [InlineData("rotate")]
    public async Task A_partial_write_on_a_full_disk_is_cut_before_the_segment_is_sealed(string sealedBy)
    {
        // No reserve (the step could not be had): the partial frame extends the file.
        var fs = new FaultyFileSystem { FailWhen = (op, _) => op == "reserve" };
        var options = _dir.Options();
        if (sealedBy == "rotate") options.MaxSegmentBytes = 8 * 1024;
        var e = new AuditEvent();
        await using (var log = await AuditLog.OpenAsync(options, fs))
        {
            for (int i = 0; i < 3; i++) { SampleEvents.Fill(e, i, subject: "before"); await log.AppendAsync(e); }

            // A large, incompressible record: half of its frame lands, far more than the outage records that follow.
            fs.FailWhen = (op, _) => op is "reserve" or "append";
            SampleEvents.Fill(e, 3, subject: "lost");
            e.ResponsePayload = System.Text.Encoding.UTF8.GetBytes("\"" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(96 * 1024)) + "\"");
            await Assert.ThrowsAsync<AuditUnavailableException>(async () => await log.AppendAsync(e));
            Assert.False(log.IsWritable);

            fs.FailWhen = (op, _) => op == "reserve";
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!log.IsWritable && DateTime.UtcNow < deadline) await Task.Delay(10);
            Assert.True(log.IsWritable);
            if (sealedBy == "rotate")
            {
                // Small records, far fewer bytes than were left behind, until the segment reaches 8 KiB and rotates.
                for (int i = 4; i < 100 && !File.Exists(Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(1))); i++)
                {
                    SampleEvents.Fill(e, i, subject: "after");
                    await log.AppendAsync(e);
                }
            }
        }
        string sealed1 = Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(1));
        Assert.True(File.Exists(sealed1));
        var data = File.ReadAllBytes(sealed1);
        Assert.True(Reading.FrameReader.TryReadLastFrame(data, out var last, out _));
        Assert.Equal(FrameKind.Seal, last.Kind);

        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.DoesNotContain(records, r => r.Subject == "lost");
        Assert.Single(records, r => r.Type == AuditEventType.AuditOutage);

        await using (var again = await AuditLog.OpenAsync(_dir.Options()))
        {
            Assert.False(again.StartReport.TamperingFound, again.StartReport.Tampering);
        }
    }
}
