using FastMcp.Audit.Cli;

namespace FastMcp.Audit.Tests;

/// <summary>
/// Issue #13: <c>fastmcp-verify prove</c> on a chain with a segment the writer set aside as tampered
/// (docs/audit-format.md §7.2). Records before and after the gap are in signed seals and get proofs that
/// stand alone (with a warning that the chain does not verify); a record that was in the set-aside
/// segment is refused, naming the gap.
/// </summary>
public sealed class ProveAcrossSetAsideTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await VerifyCommand.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private async Task<(int Code, string Out, string Err, string Proof)> ProveAsync(string image, long sequence)
    {
        string proof = Path.Combine(_dir.Root, $"proof-{sequence}-{Guid.NewGuid():N}.json");
        var (code, output, err) = await RunAsync("prove", image, "--key", _dir.PublicKey, "--record", sequence.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", proof);
        return (code, output, err, proof);
    }

    /// <summary>Segment 1 sealed (3 records), segment 2 left open with a signed checkpoint, deleted, and a restart that set it aside.</summary>
    private async Task<(string Image, long Continues)> SetAsideImageAsync(bool withCheckpoint)
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        var options = _dir.Options();
        options.CheckpointInterval = withCheckpoint ? TimeSpan.FromMilliseconds(30) : TimeSpan.FromHours(1);
        string image = Path.Combine(_dir.Root, "image-" + Guid.NewGuid().ToString("N"));
        var live = await AuditLog.OpenAsync(options);
        try
        {
            var e = new AuditEvent();
            for (int i = 0; i < 6; i++) { SampleEvents.Fill(e, 100 + i); await live.AppendAsync(e); }
            string cpPath = Path.Combine(_dir.ChainDir(), Format.SegmentNames.CheckpointName);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (withCheckpoint && !(Format.Checkpoint.TryDecode(File.ReadAllBytes(cpPath), out var cp, out _, out _) && cp!.Segment == 2 && cp.SegmentRecords == 7))
            {
                Assert.True(DateTime.UtcNow < deadline, "no checkpoint covered segment 2");
                await Task.Delay(20);
            }
            options.CheckpointInterval = TimeSpan.FromHours(1);
            await Task.Delay(200);
            foreach (var f in Directory.EnumerateFiles(_dir.Segments, "*", SearchOption.AllDirectories))
            {
                if (f.EndsWith(".tmp", StringComparison.Ordinal) || Path.GetFileName(f) == Storage.ChainWriterLock.FileName) continue;
                string target = Path.Combine(image, Path.GetRelativePath(_dir.Segments, f));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(f, target);
            }
        }
        finally
        {
            await live.DisposeAsync();
        }
        string open = Path.Combine(image, "gw-1", Format.SegmentNames.Open(2));
        Assert.True(File.Exists(open));
        if (withCheckpoint)
        {
            File.Delete(open); // the checkpoint vouches for it: the restart sets the gap aside as tampered
        }
        else
        {
            // No checkpoint: contradict the seal of segment 1 instead (a record edited under a forged header link).
            var bytes = File.ReadAllBytes(open);
            var parsed = SegmentSurgeon.Parse(bytes);
            var header = parsed.Frames[0].Note;
            header[header.Length / 2] ^= 1;
            File.WriteAllBytes(open, parsed.Encode());
        }
        var restart = _dir.Options();
        restart.Directory = image;
        await using (var log = await AuditLog.OpenAsync(restart))
        {
            Assert.True(log.StartReport.TamperingFound, log.StartReport.Tampering);
            var e = new AuditEvent();
            for (int i = 0; i < 3; i++) { SampleEvents.Fill(e, 300 + i); await log.AppendAsync(e); }
        }
        Assert.False(File.Exists(Path.Combine(image, "gw-1", Format.SegmentNames.Sealed(2))));
        Assert.True(Format.SegmentHeader.TryDecode(SegmentSurgeon.Parse(File.ReadAllBytes(Path.Combine(image, "gw-1", Format.SegmentNames.Sealed(3)))).Frames[0].Note, out var h3, out _));
        Assert.Equal(Format.StartRecovery.Tampered, h3!.StartState!.Recovery);
        Assert.Equal(2, h3.StartState.RecoveredSegment);
        return (image, h3.FirstSequence);
    }

    [Fact]
    public async Task Records_on_either_side_of_a_set_aside_segment_get_proofs_and_a_record_inside_it_is_refused_naming_the_gap()
    {
        var (image, continues) = await SetAsideImageAsync(withCheckpoint: true);
        Assert.True(continues > 8);

        // The log itself is INVALID: the gap is evidence.
        Assert.Equal(1, (await RunAsync(image, "--key", _dir.PublicKey)).Code);

        var before = await ProveAsync(image, 2);
        Assert.True(before.Code == 0, before.Out + before.Err);
        Assert.DoesNotContain("set aside", before.Err);
        var (checkCode, checkOut, _) = await RunAsync("check-proof", before.Proof, "--key", _dir.PublicKey);
        Assert.True(checkCode == 0, checkOut);
        Assert.Contains("VALID: record 2 is included in sealed segment 1", checkOut);

        var after = await ProveAsync(image, continues + 1);
        Assert.True(after.Code == 0, after.Out + after.Err);
        Assert.Contains("warning: segment 2 was set aside as tampered", after.Err);
        Assert.Contains($"continues from its signed checkpoint at sequence {continues}", after.Err);
        (checkCode, checkOut, _) = await RunAsync("check-proof", after.Proof, "--key", _dir.PublicKey);
        Assert.True(checkCode == 0, checkOut);
        Assert.Contains($"VALID: record {continues + 1} is included in sealed segment 3", checkOut);

        var inside = await ProveAsync(image, continues - 2);
        Assert.Equal(1, inside.Code);
        Assert.Contains($"record {continues - 2} was in segment 2, which was set aside as tampered", inside.Err);
        Assert.Contains("vouched for only by the signed checkpoint", inside.Err);
        Assert.False(File.Exists(inside.Proof));
    }

    [Fact]
    public async Task A_forged_open_segment_set_aside_still_lets_records_after_it_be_proved()
    {
        var (image, continues) = await SetAsideImageAsync(withCheckpoint: false);
        Assert.True(continues > 1);

        var after = await ProveAsync(image, continues + 1);
        Assert.True(after.Code == 0, after.Out + after.Err);
        Assert.Contains("warning: segment 2 was set aside as tampered", after.Err);
        // Which link the restart found depends on whether a checkpoint of segment 2 was signed before the copy; either must be followed.
        Assert.True(after.Err.Contains("continues from the seal of segment 1", StringComparison.Ordinal) || after.Err.Contains("continues from its signed checkpoint", StringComparison.Ordinal), after.Err);
        var (checkCode, checkOut, _) = await RunAsync("check-proof", after.Proof, "--key", _dir.PublicKey);
        Assert.True(checkCode == 0, checkOut);
        Assert.Contains("sealed segment 3", checkOut);
    }

    [Fact]
    public async Task A_gap_nobody_explains_is_refused_as_a_deleted_segment()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 2);
        await SampleEvents.WriteLogAsync(_dir.Options(), 2);
        await SampleEvents.WriteLogAsync(_dir.Options(), 2);
        File.Delete(Path.Combine(_dir.ChainDir(), Format.SegmentNames.Sealed(2)));
        var (code, _, err, _) = await ProveAsync(_dir.Segments, 12);
        Assert.Equal(1, code);
        Assert.Contains("segment 2 is missing (deleted)", err);
    }
}
