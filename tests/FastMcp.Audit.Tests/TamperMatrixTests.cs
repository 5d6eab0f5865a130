using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Verification;

namespace FastMcp.Audit.Tests;

/// <summary>Every tampering the issue lists must make the verifier fail, naming where.</summary>
public sealed class TamperMatrixTests : IClassFixture<TamperMatrixTests.SealedLog>
{
    /// <summary>One log of several sealed segments, written once and copied into memory per test.</summary>
    public sealed class SealedLog : IDisposable
    {
        public TempAuditDirectory Dir { get; } = new();
        public InMemorySegmentStore Store { get; }
        public FastMcp.Audit.Crypto.AuditPublicKey Key { get; }

        public SealedLog()
        {
            var options = Dir.Options();
            SampleEvents.WriteLogAsync(options, 40, perSegment: 1).GetAwaiter().GetResult();
            Store = InMemorySegmentStore.FromDirectory(Dir.Segments);
            Key = Dir.LoadPublicKey();
        }

        public void Dispose()
        {
            Key.Dispose();
            Dir.Dispose();
        }
    }

    private readonly SealedLog _log;

    public TamperMatrixTests(SealedLog log) => _log = log;

    private static string Seg(long i) => "gw-1/" + SegmentNames.Sealed(i);

    /// <summary>
    /// Verifies one segment at a time and several at once (windows of 3 over segments of one
    /// record each), and asserts both give the same report: the parallel walk finds exactly what
    /// the walk in order finds, for every tampering below.
    /// </summary>
    private async Task<VerificationReport> VerifyAsync(InMemorySegmentStore store, byte[]? kept = null)
    {
        var inOrder = await new LogVerifier(store, _log.Key).VerifyAsync("mem", kept);
        var parallel = await new LogVerifier(store, _log.Key) { Parallelism = 3 }.VerifyAsync("mem", kept);
        Assert.Equal(Json(inOrder), Json(parallel));
        return inOrder;
    }

    private static string Json(VerificationReport report)
    {
        using var buffer = new MemoryStream();
        ReportWriter.WriteJson(report, buffer);
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private async Task<Finding> AssertInvalidAsync(InMemorySegmentStore store, byte[]? kept = null)
    {
        var report = await VerifyAsync(store, kept);
        Assert.False(report.Valid);
        return report.FirstError!;
    }

    [Fact]
    public async Task Untouched_log_verifies_with_every_record_and_segment()
    {
        var report = await VerifyAsync(_log.Store.Clone());
        Assert.True(report.Valid, report.FirstError?.Message);
        var chain = Assert.Single(report.Chains);
        Assert.Equal("gw-1", chain.Chain);
        Assert.Equal(42, chain.RecordsVerified); // AuditStarted + 40 + AuditStopped
        Assert.Equal(42, chain.NextSequence);
        Assert.True(chain.SegmentsVerified >= 4, $"only {chain.SegmentsVerified} segments");
        Assert.Empty(chain.Recoveries);
        Assert.True(chain.CheckpointsVerified >= 2);
    }

    [Fact]
    public async Task A_single_flipped_byte_anywhere_in_a_segment_is_detected()
    {
        var original = _log.Store.Objects[Seg(2)];
        // Only segments 1-2 (a valid shorter log) so thousands of verifications stay fast.
        var store = new InMemorySegmentStore();
        store.Objects[Seg(1)] = _log.Store.Objects[Seg(1)];
        store.Objects[Seg(2)] = original;
        Assert.True((await VerifyAsync(store)).Valid);
        // Every byte of the header frame, the first records frame and the seal; every 5th byte of the records between.
        for (int i = 0; i < original.Length; i += i < 800 || i >= original.Length - 800 ? 1 : 5)
        {
            var copy = (byte[])original.Clone();
            copy[i] ^= 0x20;
            store.Objects[Seg(2)] = copy;
            var report = await VerifyAsync(store);
            Assert.False(report.Valid, $"flip at byte {i} of {original.Length} went unnoticed");
            Assert.Equal(2, report.FirstError!.Segment);
        }
    }

    [Fact]
    public async Task A_flipped_byte_in_the_checkpoint_object_is_detected()
    {
        var original = _log.Store.Objects["gw-1/checkpoint"];
        for (int i = 0; i < original.Length; i += 3)
        {
            var store = _log.Store.Clone();
            store.Objects["gw-1/checkpoint"][i] ^= 0x01;
            Assert.False((await VerifyAsync(store)).Valid, $"checkpoint flip at {i} unnoticed");
        }
    }

    private InMemorySegmentStore Edit(long segment, Action<SegmentSurgeon> edit)
    {
        var store = _log.Store.Clone();
        var surgeon = SegmentSurgeon.Parse(store.Objects[Seg(segment)]);
        edit(surgeon);
        store.Objects[Seg(segment)] = surgeon.Encode();
        return store;
    }

    private static SegmentSurgeon.FrameModel FirstRecordsFrameWith(SegmentSurgeon s, int minimum) =>
        s.Frames.Find(f => f.Kind == FrameKind.Records && f.Bodies.Count >= minimum)
        ?? s.Frames.Find(f => f.Kind == FrameKind.Records)!;

    [Fact]
    public async Task A_deleted_record_is_detected()
    {
        var store = Edit(2, s =>
        {
            var frames = s.Frames.FindAll(f => f.Kind == FrameKind.Records);
            frames[1].Bodies.RemoveAt(0);
            if (frames[1].Bodies.Count == 0) s.Frames.Remove(frames[1]);
        });
        var error = await AssertInvalidAsync(store);
        Assert.Equal(2, error.Segment);
        Assert.NotNull(error.Sequence);
    }

    [Fact]
    public async Task An_inserted_record_is_detected()
    {
        var store = Edit(2, s =>
        {
            var frame = FirstRecordsFrameWith(s, 1);
            var forged = (byte[])frame.Bodies[0].Clone();
            frame.Bodies.Insert(1, forged);
        });
        var error = await AssertInvalidAsync(store);
        Assert.Equal(2, error.Segment);
    }

    [Fact]
    public async Task An_inserted_record_with_a_plausible_sequence_is_detected_by_the_seal()
    {
        // The attacker renumbers every later record so sequences and chain hashes look continuous.
        var store = Edit(2, s =>
        {
            var frame = s.Frames.FindLast(f => f.Kind == FrameKind.Records)!;
            var last = frame.Bodies[^1];
            var extra = (byte[])last.Clone();
            SegmentSurgeon.SetSequence(extra, FastMcp.Audit.Format.RecordLayout.ReadSequence(last) + 1);
            frame.Bodies.Add(extra);
        });
        var error = await AssertInvalidAsync(store);
        Assert.Equal(2, error.Segment);
        Assert.Equal("seal", error.Code);
    }

    [Fact]
    public async Task Reordered_records_are_detected()
    {
        var store = Edit(2, s =>
        {
            var frames = s.Frames.FindAll(f => f.Kind == FrameKind.Records);
            (frames[0].Bodies[0], frames[1].Bodies[0]) = (frames[1].Bodies[0], frames[0].Bodies[0]);
        });
        var error = await AssertInvalidAsync(store);
        Assert.Equal(2, error.Segment);
        Assert.Equal("sequence", error.Code);
    }

    [Fact]
    public async Task A_deleted_segment_is_detected()
    {
        var store = _log.Store.Clone();
        store.Objects.Remove(Seg(2));
        var error = await AssertInvalidAsync(store);
        Assert.Equal("missing-segment", error.Code);
        Assert.Equal(2, error.Segment);
    }

    [Fact]
    public async Task Reordered_segments_are_detected()
    {
        var store = _log.Store.Clone();
        (store.Objects[Seg(2)], store.Objects[Seg(3)]) = (store.Objects[Seg(3)], store.Objects[Seg(2)]);
        var error = await AssertInvalidAsync(store);
        Assert.Equal("segment-order", error.Code);
        Assert.Equal(2, error.Segment);
    }

    [Fact]
    public async Task A_duplicated_segment_is_detected()
    {
        var store = _log.Store.Clone();
        store.Objects[Seg(3)] = (byte[])store.Objects[Seg(2)].Clone();
        var error = await AssertInvalidAsync(store);
        Assert.Equal(3, error.Segment);
    }

    [Fact]
    public async Task A_segment_renumbered_to_look_like_a_copy_is_detected_by_its_links()
    {
        // Copy segment 2 with its header rewritten as segment 3: the unsigned header hash changes, the links do not fit.
        var store = _log.Store.Clone();
        var surgeon = SegmentSurgeon.Parse(store.Objects[Seg(2)]);
        Assert.True(SegmentHeader.TryDecode(surgeon.Frames[0].Note, out var h, out _));
        surgeon.Frames[0].Note = (h! with { Segment = 3 }).Encode();
        store.Objects[Seg(3)] = surgeon.Encode();
        var error = await AssertInvalidAsync(store);
        Assert.Equal(3, error.Segment);
    }

    [Fact]
    public async Task A_truncated_segment_is_detected()
    {
        var store = _log.Store.Clone();
        var data = store.Objects[Seg(2)];
        store.Objects[Seg(2)] = data[..^10];
        var error = await AssertInvalidAsync(store);
        Assert.Equal(2, error.Segment);
        Assert.Equal("truncated", error.Code);
    }

    [Fact]
    public async Task A_segment_cut_at_a_frame_boundary_before_its_seal_is_detected()
    {
        var store = Edit(2, s => s.Frames.RemoveAll(f => f.Kind == FrameKind.Seal));
        var error = await AssertInvalidAsync(store);
        Assert.Equal("unsealed", error.Code);
    }

    [Fact]
    public async Task A_seal_forged_without_the_key_is_detected()
    {
        using var forger = AuditSigner.FromPem(System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        var store = Edit(2, s =>
        {
            var frame = FirstRecordsFrameWith(s, 1);
            var body = frame.Bodies[0];
            body[^3] ^= 0x04; // alter the JSON
            s.ForgeSeal(forger);
        });
        var error = await AssertInvalidAsync(store);
        Assert.Equal("seal-signature", error.Code);
        Assert.Equal(2, error.Segment);
    }

    [Fact]
    public async Task A_checkpoint_forged_without_the_key_is_detected()
    {
        using var forger = AuditSigner.FromPem(System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        var store = _log.Store.Clone();
        Assert.True(Checkpoint.TryDecode(store.Objects["gw-1/checkpoint"], out var cp, out _, out _));
        var unsigned = (cp! with { Sequence = 5, SegmentRecords = 1 }).EncodeUnsigned();
        store.Objects["gw-1/checkpoint"] = AuditNote.AppendSignature(unsigned, forger.Sign(unsigned));
        var error = await AssertInvalidAsync(store);
        Assert.Equal("checkpoint-signature", error.Code);
    }

    [Fact]
    public async Task A_checkpoint_frame_forged_inside_a_segment_is_detected()
    {
        using var forger = AuditSigner.FromPem(System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        var store = Edit(1, s =>
        {
            var frame = s.Frames.Find(f => f.Kind == FrameKind.Checkpoint)!;
            Assert.True(Checkpoint.TryDecode(frame.Note, out var cp, out _, out _));
            var unsigned = cp!.EncodeUnsigned();
            frame.Note = AuditNote.AppendSignature(unsigned, forger.Sign(unsigned));
        });
        var error = await AssertInvalidAsync(store);
        Assert.Equal("checkpoint-signature", error.Code);
        Assert.Equal(1, error.Segment);
    }

    [Fact]
    public async Task Tail_truncation_is_caught_by_the_checkpoint_object()
    {
        var store = _log.Store.Clone();
        long last = LastSegment(store);
        store.Objects.Remove(Seg(last));
        var error = await AssertInvalidAsync(store);
        Assert.Equal("truncated-log", error.Code);
    }

    [Fact]
    public async Task Tail_truncation_that_also_removes_the_checkpoint_is_caught_by_a_kept_checkpoint()
    {
        var kept = _log.Store.Objects["gw-1/checkpoint"];
        var store = _log.Store.Clone();
        long last = LastSegment(store);
        store.Objects.Remove(Seg(last));
        store.Objects.Remove("gw-1/checkpoint");
        Assert.True((await VerifyAsync(store)).Valid); // without outside knowledge the shorter log looks whole
        var error = await AssertInvalidAsync(store, kept);
        Assert.Equal("truncated-log", error.Code);
    }

    [Fact]
    public async Task A_kept_checkpoint_forged_without_the_key_is_rejected()
    {
        using var forger = AuditSigner.FromPem(System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem());
        Assert.True(Checkpoint.TryDecode(_log.Store.Objects["gw-1/checkpoint"], out var cp, out _, out _));
        var unsigned = cp!.EncodeUnsigned();
        var error = await AssertInvalidAsync(_log.Store.Clone(), AuditNote.AppendSignature(unsigned, forger.Sign(unsigned)));
        Assert.Equal("kept-checkpoint", error.Code);
    }

    private static long LastSegment(InMemorySegmentStore store)
    {
        long last = 0;
        foreach (var k in store.Objects.Keys)
            if (SegmentNames.TryParse(k["gw-1/".Length..], out long i, out _)) last = Math.Max(last, i);
        return last;
    }
}
