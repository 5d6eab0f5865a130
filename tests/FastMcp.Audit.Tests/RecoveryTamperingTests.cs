using System.Security.Cryptography;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Verification;

namespace FastMcp.Audit.Tests;

/// <summary>
/// Issue #13, "recovery must never launder": tampering with the unfinished segment that the verifier
/// detects before a restart must still be reported after it. Restarting the gateway is reopening the
/// AuditLog on the folder a crash (kill -9) left behind.
/// </summary>
public sealed class RecoveryTamperingTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string ImageChain(string image) => Path.Combine(image, "gw-1");
    private string OpenFile(string image) => Path.Combine(ImageChain(image), SegmentNames.Open(2));

    /// <summary>
    /// The folder as kill -9 leaves it: run 1 wrote 3 records and stopped cleanly (segment 1 sealed);
    /// run 2 wrote 10 records, signed a checkpoint over them, then 5 more that no checkpoint covers yet.
    /// </summary>
    private async Task<(string Image, Checkpoint Vouched)> CrashImageAsync()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        var options = _dir.Options();
        options.CheckpointInterval = TimeSpan.FromMilliseconds(30);
        string image = Path.Combine(_dir.Root, "crash-" + Guid.NewGuid().ToString("N"));
        var live = await AuditLog.OpenAsync(options);
        try
        {
            var e = new AuditEvent();
            for (int i = 0; i < 10; i++) { SampleEvents.Fill(e, 100 + i); await live.AppendAsync(e); }
            // 1 AuditStarted + 10 in segment 2: wait for the idle checkpoint that covers them, then stop checkpointing.
            string cpPath = Path.Combine(_dir.ChainDir(), SegmentNames.CheckpointName);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!(Checkpoint.TryDecode(File.ReadAllBytes(cpPath), out var cp, out _, out _) && cp!.Segment == 2 && cp.SegmentRecords == 11))
            {
                Assert.True(DateTime.UtcNow < deadline, "no checkpoint covered the first records");
                await Task.Delay(20);
            }
            options.CheckpointInterval = TimeSpan.FromHours(1);
            await Task.Delay(200); // let a checkpoint that was already due finish
            for (int i = 0; i < 5; i++) { SampleEvents.Fill(e, 200 + i); await live.AppendAsync(e); }
            CopyDirectory(_dir.Segments, image);
        }
        finally
        {
            await live.DisposeAsync();
        }
        var note = File.ReadAllBytes(Path.Combine(ImageChain(image), SegmentNames.CheckpointName));
        Assert.True(Checkpoint.TryDecode(note, out var vouched, out _, out _));
        Assert.Equal(2, vouched!.Segment);
        Assert.Equal(11, vouched.SegmentRecords);
        Assert.True(File.Exists(OpenFile(image)));
        return (image, vouched);
    }

    /// <summary>Where the frames of an open segment end (its zero-filled reserve starts there).</summary>
    private static long AppendedEnd(byte[] data)
    {
        using var reader = new FastMcp.Audit.Reading.FrameReader();
        reader.Reset(data, zeroTailIsEnd: true);
        while (reader.Next(out _, out _) == FastMcp.Audit.Reading.FrameReadStatus.Ok) { }
        Assert.True(reader.ZeroTail > 0);
        return reader.Position;
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            // The live writer's lock (held, so unreadable to .NET) is not part of the log.
            if (f.EndsWith(".tmp", StringComparison.Ordinal) || Path.GetFileName(f) == FastMcp.Audit.Storage.ChainWriterLock.FileName) continue;
            string target = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
    }

    /// <summary>Reopens the log on the image (the gateway restarting), writes a little, stops cleanly.</summary>
    private async Task<AuditStartReport> RestartAsync(string image, int records = 2)
    {
        var options = _dir.Options();
        options.Directory = image;
        await using var log = await AuditLog.OpenAsync(options);
        var e = new AuditEvent();
        for (int i = 0; i < records; i++) { SampleEvents.Fill(e, 300 + i); await log.AppendAsync(e); }
        return log.StartReport;
    }

    private static string Text(VerificationReport report)
    {
        var w = new StringWriter();
        ReportWriter.WriteText(report, w);
        return w.ToString();
    }

    private static string Json(VerificationReport report)
    {
        using var buffer = new MemoryStream();
        ReportWriter.WriteJson(report, buffer);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>After tampering, the restart must: report it, keep the forged file unsigned, link past it, and keep verifying.</summary>
    private async Task AssertTamperingReportedAfterRestartAsync(string image, byte[] forged, Checkpoint vouched, string expectedReason)
    {
        var before = await LogReading.VerifyFolderAsync(_dir, image);
        Assert.False(before.Report.Valid);

        var start = await RestartAsync(image);
        Assert.True(start.TamperingFound);
        Assert.Contains(expectedReason, start.Tampering);

        // The evidence: byte for byte what was found, never sealed, never deleted.
        string evidence = OpenFile(image) + ".tampered";
        Assert.Equal(forged, File.ReadAllBytes(evidence));
        Assert.Equal(["000000000002.open.tampered"], start.Evidence);
        Assert.False(File.Exists(Path.Combine(ImageChain(image), SegmentNames.Sealed(2))));
        Assert.False(File.Exists(OpenFile(image)));

        // The new segment continues from the newest verified state: the checkpoint the attacker contradicted.
        var seg3 = SegmentSurgeon.Parse(File.ReadAllBytes(Path.Combine(ImageChain(image), SegmentNames.Sealed(3))));
        Assert.True(SegmentHeader.TryDecode(seg3.Frames[0].Note, out var header, out _));
        Assert.Equal(StartRecovery.Tampered, header!.StartState!.Recovery);
        Assert.Equal(2, header.StartState.RecoveredSegment);
        // The link is a signed checkpoint of the vouched state. Under load the image can hold two of that state (an idle
        // checkpoint written while the image was copied: a frame in the segment and a newer checkpoint object, signed
        // apart), and either is as good a link: compare the state, not the note's bytes.
        Assert.True(Checkpoint.TryDecode(header.StartState.PrevCheckpoint!, out var link, out _, out _));
        Assert.Equal((vouched.Chain, vouched.Segment, vouched.Sequence, vouched.SegmentRecords), (link!.Chain, link.Segment, link.Sequence, link.SegmentRecords));
        Assert.Equal(vouched.Head, link.Head);
        Assert.Equal(vouched.Sequence, header.FirstSequence);
        Assert.Equal(vouched.Head, header.PrevHead);

        var (report, records) = await LogReading.VerifyFolderAsync(_dir, image);
        Assert.False(report.Valid);
        var chain = Assert.Single(report.Chains);
        var tampered = Assert.Single(chain.Errors);
        Assert.Equal("tampered", tampered.Code);
        Assert.Equal(2, tampered.Segment);
        Assert.Contains(expectedReason, tampered.Message);
        // Segments 1 and 3 verified in full; nothing of segment 2 was signed after the fact.
        Assert.Equal(2, chain.SegmentsVerified);
        Assert.Empty(chain.Recoveries);
        Assert.Equal(vouched.Sequence + 5, chain.NextSequence); // AuditTampering, AuditStarted, 2 records, AuditStopped after the vouched state
        var first = records.Find(r => r.Sequence == vouched.Sequence)!;
        Assert.Equal(AuditEventType.AuditTampering, first.Type);
        Assert.Contains(expectedReason, first.Detail);
        Assert.Contains("000000000002.open.tampered", first.Detail);
        Assert.Equal(AuditEventType.AuditStarted, records.Find(r => r.Sequence == vouched.Sequence + 1)!.Type);
        Assert.DoesNotContain("not tampering", Text(report));
        Assert.Contains("[tampered] segment 2 is missing: at restart the writer found it tampered", Text(report));
        // Walking several segments at once finds exactly the same.
        using (var key = _dir.LoadPublicKey())
        {
            var store = InMemorySegmentStore.FromDirectory(image);
            var inOrder = await new LogVerifier(store, key).VerifyAsync("mem", null);
            var parallel = await new LogVerifier(store, key) { Parallelism = 3 }.VerifyAsync("mem", null);
            Assert.Equal(Json(inOrder), Json(parallel));
        }

        // A second restart keeps the chain going and the finding in place.
        await RestartAsync(image, records: 1);
        var (again, _) = await LogReading.VerifyFolderAsync(_dir, image);
        Assert.Equal(3, again.Chains[0].SegmentsVerified);
        Assert.Equal("tampered", Assert.Single(again.Chains[0].Errors).Code);
        Assert.True(File.Exists(evidence));
    }

    [Fact]
    public async Task An_honest_torn_tail_is_cut_and_the_recovery_says_what_was_covered_and_cut()
    {
        var (image, vouched) = await CrashImageAsync();
        var sealedCopy = File.ReadAllBytes(Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(2)));
        // The torn write lands where the next frame goes: over the zero-filled reserve of the preallocated .open.
        long end = AppendedEnd(File.ReadAllBytes(OpenFile(image)));
        Assert.True(new FileInfo(OpenFile(image)).Length > end + 150, "the open segment has no zero-filled reserve");
        using (var f = new FileStream(OpenFile(image), FileMode.Open)) { f.Position = end; f.Write(sealedCopy.AsSpan(sealedCopy.Length - 300, 150)); }

        var start = await RestartAsync(image);
        Assert.False(start.TamperingFound);
        Assert.Empty(start.Evidence);

        var (report, records) = await LogReading.VerifyFolderAsync(_dir, image);
        Assert.True(report.Valid, report.FirstError?.Message);
        var chain = Assert.Single(report.Chains);
        var recovery = Assert.Single(chain.Recoveries);
        Assert.Equal(2, recovery.Segment);
        Assert.Equal(16, recovery.Records);
        Assert.Equal(vouched.SegmentRecords, recovery.CoveredRecords);
        Assert.Equal(5, recovery.UncoveredRecords);
        Assert.Equal(150, recovery.CutBytes);
        Assert.Equal(vouched.TimeMicros, recovery.LastCheckpointMicros);
        Assert.DoesNotContain(records, r => r.Type == AuditEventType.AuditTampering);
        var started = records.FindLast(r => r.Type == AuditEventType.AuditStarted)!;
        Assert.Contains("crash recovery of segment 2: 16 records kept, 11 covered by a signed checkpoint, 5 written after the last signed checkpoint", started.Detail);
        Assert.Contains("150 bytes of torn tail cut", started.Detail);
        Assert.Contains("last signed checkpoint or seal", started.Detail);
        string text = Text(report);
        Assert.DoesNotContain("not tampering", text);
        Assert.Contains("11 covered by a signed checkpoint", text);
        Assert.Contains("5 not covered by any signature made before the crash", text);
        Assert.Contains("150 bytes cut", text);
        Assert.Empty(Directory.GetFiles(ImageChain(image), "*.tampered"));
    }

    [Fact]
    public async Task A_zeroed_frame_in_the_middle_of_a_preallocated_open_segment_is_still_tampering()
    {
        // Zeros are the end of an .open only from a frame boundary to the end of the file: zeroing a frame the
        // signed checkpoint covers cuts the kept records short of what it vouches for.
        var (image, _) = await CrashImageAsync();
        var data = File.ReadAllBytes(OpenFile(image));
        using var reader = new FastMcp.Audit.Reading.FrameReader();
        reader.Reset(data, zeroTailIsEnd: true);
        Assert.Equal(FastMcp.Audit.Reading.FrameReadStatus.Ok, reader.Next(out _, out _)); // header
        Assert.Equal(FastMcp.Audit.Reading.FrameReadStatus.Ok, reader.Next(out var second, out _));
        using (var f = new FileStream(OpenFile(image), FileMode.Open)) { f.Position = second.Offset; f.Write(new byte[second.TotalLength]); }

        var start = await RestartAsync(image);
        Assert.True(start.TamperingFound);
        Assert.Contains("records were removed", start.Tampering);
        Assert.Single(Directory.GetFiles(ImageChain(image), "*.tampered"));
    }

    [Fact]
    public async Task A_batched_crash_says_how_many_answered_records_it_lost()
    {
        // Batched durability answers appends before they are durable; the checkpoint signs how many were answered.
        // Under load the last checkpoint said 8 more were answered than were durable then; only 5 reached the disk.
        var (image, vouched) = await CrashImageAsync();
        using (var signer = AuditSigner.FromPemFile(_dir.PrivateKey))
        {
            var unsigned = (vouched with { Acknowledged = vouched.Sequence + 8 }).EncodeUnsigned();
            File.WriteAllBytes(Path.Combine(ImageChain(image), SegmentNames.CheckpointName), AuditNote.AppendSignature(unsigned, signer.Sign(unsigned)));
        }

        var start = await RestartAsync(image);
        Assert.False(start.TamperingFound);
        Assert.Contains("at least 3 acknowledged records lost", start.Summary);

        var (report, records) = await LogReading.VerifyFolderAsync(_dir, image);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Equal(3, Assert.Single(report.Chains[0].Recoveries).LostRecords);
        Assert.Contains(report.Chains[0].Warnings, w => w.Code == "lost-records" && w.Message.Contains("at least 3", StringComparison.Ordinal));
        Assert.Contains("at least 3 acknowledged records lost", records.FindLast(r => r.Type == AuditEventType.AuditStarted)!.Detail);
    }

    [Fact]
    public async Task Checkpoints_say_how_many_appends_were_answered()
    {
        var options = _dir.Options(durability: AuditDurability.Batched);
        await using (var log = await AuditLog.OpenAsync(options))
        {
            var e = new AuditEvent();
            for (int i = 0; i < 4; i++) { SampleEvents.Fill(e, i); await log.AppendAsync(e); }
        }
        var note = File.ReadAllBytes(Path.Combine(_dir.ChainDir(), SegmentNames.CheckpointName));
        Assert.StartsWith(Checkpoint.TypeLine + "\n", System.Text.Encoding.UTF8.GetString(note));
        Assert.True(Checkpoint.TryDecode(note, out var cp, out _, out _));
        Assert.Equal(cp!.Sequence, cp.Acknowledged);
    }

    [Fact]
    public async Task A_restart_after_downtime_is_reported_with_the_silent_interval()
    {
        var options = _dir.Options();
        options.CheckpointInterval = TimeSpan.FromMilliseconds(20);
        await SampleEvents.WriteLogAsync(options, 2);
        // Longer than 2 x interval + 5 s: the verifier's gap limit.
        await Task.Delay(TimeSpan.FromSeconds(5.3));
        await using (var log = await AuditLog.OpenAsync(options)) { }
        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(report.Valid, report.FirstError?.Message);
        var downtime = Assert.Single(report.Chains[0].Warnings, w => w.Code == "downtime");
        Assert.Equal(2, downtime.Segment);
        Assert.Contains("segment 1 was sealed", downtime.Message);
        Assert.Contains("clean start; previous seal: segment 1", records.FindLast(r => r.Type == AuditEventType.AuditStarted)!.Detail);
    }

    [Fact]
    public async Task A_record_edited_under_a_checkpoint_with_the_checkpoint_frames_dropped_is_not_laundered_by_a_restart()
    {
        // (a): edit a record, recompute the hash chain, drop the checkpoint frames that would betray it.
        var (image, vouched) = await CrashImageAsync();
        var surgeon = SegmentSurgeon.Parse(File.ReadAllBytes(OpenFile(image)));
        surgeon.Frames.RemoveAll(f => f.Kind == FrameKind.Checkpoint);
        var body = surgeon.Frames.Find(f => f.Kind == FrameKind.Records && f.Bodies.Exists(b => RecordLayout.ReadSequence(b) == 6))!.Bodies
            .Find(b => RecordLayout.ReadSequence(b) == 6)!;
        body[^3] ^= 0x04;
        var forged = surgeon.Encode();
        File.WriteAllBytes(OpenFile(image), forged);

        await AssertTamperingReportedAfterRestartAsync(image, forged, vouched, "differs from the open segment's records there (history was rewritten)");
    }

    [Fact]
    public async Task An_open_segment_cut_back_behind_a_vouched_checkpoint_is_not_laundered_by_a_restart()
    {
        // (b): cut at a frame boundary before the position the checkpoint object vouches for.
        var (image, vouched) = await CrashImageAsync();
        var surgeon = SegmentSurgeon.Parse(File.ReadAllBytes(OpenFile(image)));
        int firstCheckpoint = surgeon.Frames.FindIndex(f => f.Kind == FrameKind.Checkpoint);
        surgeon.Frames.RemoveRange(firstCheckpoint + 1, surgeon.Frames.Count - firstCheckpoint - 1);
        var forged = surgeon.Encode();
        File.WriteAllBytes(OpenFile(image), forged);

        await AssertTamperingReportedAfterRestartAsync(image, forged, vouched, "the checkpoint object vouches for 11 records in segment 2");
    }

    [Theory]
    [InlineData(false, "the checkpoint object vouches for 11 records in segment 2")]
    [InlineData(true, "does not verify with the signing key (forged)")]
    public async Task An_open_segment_forged_without_the_key_is_not_signed_by_a_restart(bool withForgedCheckpoint, string reason)
    {
        // (c): a new segment 2 built from scratch: a header that links to segment 1's seal (public data),
        // invented records, and (optionally) a checkpoint signed with the attacker's key under the gateway's key id.
        var (image, vouched) = await CrashImageAsync();
        var original = SegmentSurgeon.Parse(File.ReadAllBytes(OpenFile(image)));
        using var forger = AuditSigner.FromPem(ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        var surgeon = new SegmentSurgeon();
        surgeon.Frames.Add(new SegmentSurgeon.FrameModel { Kind = FrameKind.Header, Note = original.Frames[0].Note });
        Assert.True(SegmentHeader.TryDecode(original.Frames[0].Note, out var header, out _));
        var records = new SegmentSurgeon.FrameModel { Kind = FrameKind.Records };
        var template = original.AllBodies()[1];
        for (int i = 0; i < 4; i++)
        {
            var b = (byte[])template.Clone();
            SegmentSurgeon.SetSequence(b, header!.FirstSequence + i);
            records.Bodies.Add(b);
        }
        surgeon.Frames.Add(records);
        using var cursor = new FastMcp.Audit.Reading.ChainCursor();
        cursor.StartSegment(original.Frames[0].Note, header!.FirstSequence);
        var scratch = new byte[32];
        foreach (var b in records.Bodies) Assert.True(cursor.Append(b, scratch, out _));
        var cp = new Checkpoint("gw-1", 2, cursor.NextSequence, cursor.SegmentRecords, cursor.Head.ToArray(), cursor.Merkle.GetRoot(), vouched.TimeMicros + 1, vouched.KeyId);
        var unsigned = cp.EncodeUnsigned();
        if (withForgedCheckpoint)
            surgeon.Frames.Add(new SegmentSurgeon.FrameModel { Kind = FrameKind.Checkpoint, Note = AuditNote.AppendSignature(unsigned, forger.Sign(unsigned)) });
        var forged = surgeon.Encode();
        File.WriteAllBytes(OpenFile(image), forged);

        await AssertTamperingReportedAfterRestartAsync(image, forged, vouched, reason);
    }

    [Fact]
    public async Task A_deleted_open_segment_that_the_checkpoint_vouches_for_is_reported_not_silently_replaced()
    {
        var (image, vouched) = await CrashImageAsync();
        File.Delete(OpenFile(image));
        var start = await RestartAsync(image);
        Assert.True(start.TamperingFound);
        Assert.Contains("segment is missing (deleted)", start.Tampering);
        var (report, _) = await LogReading.VerifyFolderAsync(_dir, image);
        Assert.False(report.Valid);
        var error = Assert.Single(report.Chains[0].Errors);
        Assert.Equal("tampered", error.Code);
        Assert.Equal(vouched.Sequence + 5, report.Chains[0].NextSequence);
    }

    [Fact]
    public async Task A_forged_checkpoint_object_is_set_aside_and_reported_while_the_segments_recover()
    {
        var (image, vouched) = await CrashImageAsync();
        using var forger = AuditSigner.FromPem(ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        var unsigned = (vouched with { SegmentRecords = 40, Sequence = vouched.Sequence + 29 }).EncodeUnsigned();
        var forgedNote = AuditNote.AppendSignature(unsigned, forger.Sign(unsigned));
        string cpPath = Path.Combine(ImageChain(image), SegmentNames.CheckpointName);
        File.WriteAllBytes(cpPath, forgedNote);

        var start = await RestartAsync(image);
        Assert.True(start.TamperingFound);
        Assert.Equal(forgedNote, File.ReadAllBytes(cpPath + ".tampered"));
        var (report, records) = await LogReading.VerifyFolderAsync(_dir, image);
        Assert.False(report.Valid);
        Assert.Equal("tampered", Assert.Single(report.Chains[0].Errors).Code);
        // The open segment itself agreed with every signature: it was recovered, not set aside.
        Assert.Single(report.Chains[0].Recoveries);
        Assert.Contains(records, r => r.Type == AuditEventType.AuditTampering);
    }

    [Fact]
    public async Task The_writer_refuses_to_continue_from_a_seal_that_does_not_verify()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        string sealedPath = Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(1));
        using var forger = AuditSigner.FromPem(ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        var surgeon = SegmentSurgeon.Parse(File.ReadAllBytes(sealedPath));
        surgeon.AllBodies()[1][^3] ^= 0x04;
        surgeon.ForgeSeal(forger);
        File.WriteAllBytes(sealedPath, surgeon.Encode());

        var e = await Assert.ThrowsAsync<AuditTamperingException>(() => AuditLog.OpenAsync(_dir.Options()));
        Assert.Contains("does not verify with the signing key", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir.ChainDir(), SegmentNames.Open(2))));
    }

    [Fact]
    public async Task A_forged_last_seal_is_set_aside_or_refused_when_nothing_else_links_the_chain()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        string lastSeal = Path.Combine(_dir.ChainDir(), SegmentNames.LastSealName);
        using var forger = AuditSigner.FromPem(ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        Assert.True(Seal.TryDecode(File.ReadAllBytes(lastSeal), out var seal, out _, out _));
        var unsigned = (seal! with { RecordCount = seal.RecordCount + 5 }).EncodeUnsigned();
        var forged = AuditNote.AppendSignature(unsigned, forger.Sign(unsigned));
        File.WriteAllBytes(lastSeal, forged);

        // Segment 1 is still here: the chain continues from its seal, the forgery is kept and reported.
        AuditStartReport start;
        await using (var log = await AuditLog.OpenAsync(_dir.Options())) start = log.StartReport;
        Assert.Contains("last-seal (segment 1) does not verify", start.Tampering);
        Assert.Equal(forged, File.ReadAllBytes(lastSeal + ".tampered"));
        var (report, _) = await LogReading.VerifyFolderAsync(_dir);
        Assert.Equal(2, report.Chains[0].SegmentsVerified);
        Assert.Equal("tampered", Assert.Single(report.Chains[0].Errors).Code);

        // Shipped away (no local segment): a forged last-seal leaves nothing to link to, so the writer refuses.
        foreach (var f in Directory.GetFiles(_dir.ChainDir(), "*.seg")) File.Delete(f);
        File.WriteAllBytes(lastSeal, forged);
        var e = await Assert.ThrowsAsync<AuditTamperingException>(() => AuditLog.OpenAsync(_dir.Options()));
        Assert.Contains("no sealed segment is left locally", e.Message);
    }

    [Fact]
    public async Task A_stale_open_segment_older_than_the_newest_seal_is_kept_as_evidence_and_the_chain_goes_on()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        await SampleEvents.WriteLogAsync(_dir.Options(), 2);
        string stale = Path.Combine(_dir.ChainDir(), SegmentNames.Open(1));
        File.Copy(Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(1)), stale);
        var bytes = File.ReadAllBytes(stale);
        File.WriteAllBytes(stale, bytes[..^200]); // a planted copy of segment 1 without its seal

        var options = _dir.Options();
        AuditStartReport start;
        await using (var log = await AuditLog.OpenAsync(options)) start = log.StartReport;
        Assert.True(start.TamperingFound);
        Assert.True(File.Exists(stale + ".tampered"));
        var (report, _) = await LogReading.VerifyFolderAsync(_dir);
        Assert.Equal(3, report.Chains[0].SegmentsVerified);
        Assert.Equal("tampered", Assert.Single(report.Chains[0].Errors).Code);
    }

    [Fact]
    public async Task Replay_with_a_key_prints_no_record_of_a_log_that_does_not_verify()
    {
        var (image, _) = await CrashImageAsync();
        var surgeon = SegmentSurgeon.Parse(File.ReadAllBytes(OpenFile(image)));
        surgeon.Frames.RemoveAll(f => f.Kind == FrameKind.Checkpoint);
        var forgedBody = surgeon.AllBodies()[3];
        forgedBody[^3] ^= 0x04;
        File.WriteAllBytes(OpenFile(image), surgeon.Encode());

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await ReplayCommand.RunAsync([image, "--key", _dir.PublicKey, "--format", "jsonl"], stdout, stderr);
        Assert.True(code == 1, stderr.ToString());
        Assert.Equal("", stdout.ToString());
        Assert.Contains("does not verify", stderr.ToString());

        // Asked for explicitly, every record carries its verification state.
        stdout = new StringWriter();
        code = await ReplayCommand.RunAsync([image, "--key", _dir.PublicKey, "--format", "jsonl", "--show-unverified"], stdout, new StringWriter());
        Assert.Equal(1, code);
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.Contains("\"verified\":true", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("\"verified\":false", StringComparison.Ordinal));
        Assert.All(lines, l => Assert.True(l.Contains("\"verified\":true", StringComparison.Ordinal) != l.Contains("\"verified\":false", StringComparison.Ordinal)));
    }

    // ---- notes naming a key that is neither the signing key nor a configured previous key ----

    private static AuditSigner NewForger() => AuditSigner.FromPem(ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());

    private static byte[] SignedBy(AuditSigner signer, byte[] unsigned) => AuditNote.AppendSignature(unsigned, signer.Sign(unsigned));

    [Fact]
    public async Task A_checkpoint_object_naming_a_foreign_key_is_kept_as_evidence_and_reported_not_overwritten()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        string cpPath = Path.Combine(_dir.ChainDir(), SegmentNames.CheckpointName);
        Assert.True(Checkpoint.TryDecode(File.ReadAllBytes(cpPath), out var cp, out _, out _));
        using var forger = NewForger();
        var forged = SignedBy(forger, (cp! with { Segment = 9, Sequence = cp.Sequence + 500, SegmentRecords = 500, Acknowledged = cp.Sequence + 500, KeyId = forger.KeyId }).EncodeUnsigned());
        File.WriteAllBytes(cpPath, forged);

        AuditStartReport start;
        await using (var log = await AuditLog.OpenAsync(_dir.Options())) start = log.StartReport;
        Assert.True(start.TamperingFound);
        Assert.Contains("signed by key " + forger.KeyId, start.Tampering);
        Assert.Equal(["checkpoint.tampered"], start.Evidence);
        Assert.Equal(forged, File.ReadAllBytes(cpPath + ".tampered"));
        // Not relied on: the chain went on from segment 1's seal, not from the segment the note names.
        Assert.True(File.Exists(Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(2))));
        var (report, records) = await LogReading.VerifyFolderAsync(_dir);
        Assert.Equal(2, report.Chains[0].SegmentsVerified);
        Assert.Equal("tampered", Assert.Single(report.Chains[0].Errors).Code);
        Assert.Contains(records, r => r.Type == AuditEventType.AuditTampering && r.Detail!.Contains(forger.KeyId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_last_seal_naming_a_foreign_key_is_not_anchored_to_and_is_kept_as_evidence()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        string lastSeal = Path.Combine(_dir.ChainDir(), SegmentNames.LastSealName);
        Assert.True(Seal.TryDecode(File.ReadAllBytes(lastSeal), out var seal, out _, out _));
        using var forger = NewForger();
        var forged = SignedBy(forger, (seal! with { Segment = 7, FirstSequence = seal.FirstSequence + 100, KeyId = forger.KeyId }).EncodeUnsigned());
        File.WriteAllBytes(lastSeal, forged);

        AuditStartReport start;
        await using (var log = await AuditLog.OpenAsync(_dir.Options())) start = log.StartReport;
        Assert.True(start.TamperingFound);
        Assert.Contains("last-seal (segment 7) is signed by key " + forger.KeyId, start.Tampering);
        Assert.Equal(forged, File.ReadAllBytes(lastSeal + ".tampered"));
        Assert.False(File.Exists(Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(8))));
        var (report, _) = await LogReading.VerifyFolderAsync(_dir);
        Assert.Equal(2, report.Chains[0].SegmentsVerified);
        Assert.Equal("tampered", Assert.Single(report.Chains[0].Errors).Code);

        // Shipped away (no local segment): nothing verifiable is left to continue from, so the writer refuses.
        foreach (var f in Directory.GetFiles(_dir.ChainDir(), "*.seg")) File.Delete(f);
        File.WriteAllBytes(lastSeal, forged);
        var e = await Assert.ThrowsAsync<AuditTamperingException>(() => AuditLog.OpenAsync(_dir.Options()));
        Assert.Contains(forger.KeyId, e.Message);
        Assert.Contains("previousPublicKeys", e.Message);
        Assert.Equal(forged, File.ReadAllBytes(lastSeal));
    }

    [Fact]
    public async Task A_planted_newest_segment_sealed_by_a_foreign_key_is_refused_not_continued_from()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        using var forger = NewForger();
        var surgeon = SegmentSurgeon.Parse(File.ReadAllBytes(Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(1))));
        var sealFrame = surgeon.Frames.Find(f => f.Kind == FrameKind.Seal)!;
        Assert.True(Seal.TryDecode(sealFrame.Note, out var seal, out _, out _));
        sealFrame.Note = SignedBy(forger, (seal! with { Segment = 2, FirstSequence = seal.FirstSequence + 1000, KeyId = forger.KeyId }).EncodeUnsigned());
        File.WriteAllBytes(Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(2)), surgeon.Encode());

        var e = await Assert.ThrowsAsync<AuditTamperingException>(() => AuditLog.OpenAsync(_dir.Options()));
        Assert.Contains("the seal of segment 2 is signed by key " + forger.KeyId, e.Message);
        Assert.Contains("previousPublicKeys", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir.ChainDir(), SegmentNames.Open(3))));
    }

    [Fact]
    public async Task An_open_segment_ending_in_a_seal_by_a_foreign_key_is_set_aside_not_renamed_and_anchored_to()
    {
        var (image, vouched) = await CrashImageAsync();
        var surgeon = SegmentSurgeon.Parse(File.ReadAllBytes(OpenFile(image)));
        Assert.True(SegmentHeader.TryDecode(surgeon.Frames[0].Note, out var header, out _));
        using var cursor = new FastMcp.Audit.Reading.ChainCursor();
        cursor.StartSegment(surgeon.Frames[0].Note, header!.FirstSequence);
        var scratch = new byte[32];
        foreach (var b in surgeon.AllBodies()) Assert.True(cursor.Append(b, scratch, out _));
        using var forger = NewForger();
        var seal = new Seal("gw-1", 2, header.FirstSequence, cursor.SegmentRecords, cursor.Head.ToArray(), cursor.Merkle.GetRoot(),
            SHA256.HashData(surgeon.Frames[0].Note), vouched.TimeMicros + 1, false, forger.KeyId);
        surgeon.Frames.Add(new SegmentSurgeon.FrameModel { Kind = FrameKind.Seal, Note = SignedBy(forger, seal.EncodeUnsigned()) });
        var forged = surgeon.Encode();
        File.WriteAllBytes(OpenFile(image), forged);

        await AssertTamperingReportedAfterRestartAsync(image, forged, vouched, "is signed by key " + forger.KeyId);
    }

    [Fact]
    public async Task A_key_rotation_continues_the_chain_when_the_previous_public_key_is_configured_and_is_refused_without_it()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        string keys = Path.Combine(_dir.Root, "keys-2");
        Directory.CreateDirectory(keys);
        AuditKeys.Generate(Path.Combine(keys, "k2.pem"), Path.Combine(keys, "k2.pub.pem"));
        var rotated = _dir.Options();
        rotated.SigningKeyPath = Path.Combine(keys, "k2.pem");

        // The old key's seal cannot be verified with the new key alone: the chain does not continue from it.
        var e = await Assert.ThrowsAsync<AuditTamperingException>(() => AuditLog.OpenAsync(rotated));
        Assert.Contains("previousPublicKeys", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir.ChainDir(), SegmentNames.Open(2))));

        rotated.PreviousPublicKeys = [_dir.PublicKey];
        AuditStartReport start;
        await using (var log = await AuditLog.OpenAsync(rotated)) start = log.StartReport;
        Assert.False(start.TamperingFound, start.Tampering);
        Assert.True(File.Exists(Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(2))));
        using var trusted = TrustedKeys.Load([_dir.PublicKey, Path.Combine(keys, "k2.pub.pem")]);
        var report = await new LogVerifier(InMemorySegmentStore.FromDirectory(_dir.Segments), trusted).VerifyAsync("mem", null);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Equal(2, report.Chains[0].SegmentsVerified);
    }

    [Fact]
    public async Task A_crash_followed_by_a_key_rotation_relies_on_the_previous_keys_checkpoints()
    {
        var (image, vouched) = await CrashImageAsync();
        string keys = Path.Combine(_dir.Root, "keys-2");
        Directory.CreateDirectory(keys);
        AuditKeys.Generate(Path.Combine(keys, "k2.pem"), Path.Combine(keys, "k2.pub.pem"));
        var options = _dir.Options();
        options.Directory = image;
        options.SigningKeyPath = Path.Combine(keys, "k2.pem");
        options.PreviousPublicKeys = [_dir.PublicKey];
        AuditStartReport start;
        await using (var log = await AuditLog.OpenAsync(options)) start = log.StartReport;
        Assert.False(start.TamperingFound, start.Tampering);
        // The old key's checkpoint covered 11 records of segment 2: verified with the previous key, they count as covered.
        Assert.Contains("11 covered by a signed checkpoint", start.Summary);
        Assert.Equal(11, vouched.SegmentRecords);
    }
}
