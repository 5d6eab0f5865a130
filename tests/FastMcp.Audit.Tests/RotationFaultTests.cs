using FastMcp.Audit.Format;

namespace FastMcp.Audit.Tests;

/// <summary>
/// A full disk during segment rotation (after sealing, before last-seal) left the gateway answering 503 for ever
/// after space returned, without AuditOutage/AuditRecovered. A fault at each write step of a rotation now ends
/// like any other outage: once the step can be done, the rotation is finished, the outage is recorded in the next
/// segment, appends succeed again and the chain verifies.
/// </summary>
public sealed class RotationFaultTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    // The first rotation, from segment 1 to segment 2, at each of its write steps.
    public static TheoryData<string, string> Steps => new()
    {
        { "rename", "000000000001.open" },  // .open -> .seg
        { "replace", "last-seal" },         // the last-seal file
        { "replace", "checkpoint" },        // the checkpoint object written after sealing
        { "open", "000000000002.open" },    // creating the next segment
        { "append", "000000000002.open" },  // its header frame
    };

    [Theory]
    [MemberData(nameof(Steps))]
    public async Task A_fault_at_a_rotation_step_recovers_by_itself_and_the_chain_verifies(string operation, string pathEnd)
    {
        var fs = new FaultyFileSystem();
        var options = _dir.Options();
        options.MaxSegmentBytes = 4096;
        options.CheckpointInterval = TimeSpan.FromHours(1); // only the rotation writes the checkpoint object
        options.OutageRetryInterval = TimeSpan.FromMilliseconds(50);
        string sealed1 = Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(1));
        var e = new AuditEvent();
        int refused = 0;
        await using (var log = await AuditLog.OpenAsync(options, fs))
        {
            fs.FailWhen = (op, path) => op == operation && path.EndsWith(pathEnd, StringComparison.Ordinal)
                && (pathEnd != "checkpoint" || File.Exists(sealed1));
            for (int i = 0; i < 400 && refused == 0; i++)
            {
                SampleEvents.Fill(e, i, subject: "before");
                try { await log.AppendAsync(e); }
                catch (AuditUnavailableException) { refused++; }
            }
            Assert.True(refused > 0, "the fault never hit the rotation");
            Assert.False(log.IsWritable);
            await Task.Delay(200); // several retries while the fault lasts
            Assert.False(log.IsWritable);

            fs.FailWhen = null; // space is back
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (!log.IsWritable && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.True(log.IsWritable, $"still refusing appends after the {operation} fault cleared");
            for (int i = 0; i < 5; i++) { SampleEvents.Fill(e, 1000 + i, subject: "after"); await log.AppendAsync(e); }
        }

        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Single(records, r => r.Type == AuditEventType.AuditOutage);
        Assert.Single(records, r => r.Type == AuditEventType.AuditRecovered);
        Assert.Equal(5, records.Count(r => r.Subject == "after"));
        Assert.True(File.Exists(sealed1), "segment 1 was sealed and renamed");
    }
}
