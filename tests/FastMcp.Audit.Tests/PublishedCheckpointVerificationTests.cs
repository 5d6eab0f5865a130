using FastMcp.Audit.Anchoring;
using FastMcp.Audit.Format;
using FastMcp.Audit.Shipping;
using FastMcp.Audit.Verification;

namespace FastMcp.Audit.Tests;

/// <summary>
/// The verifier against every checkpoint published under {chain}/checkpoints/ (a folder store): a chain rolled
/// back and continued past the newest published checkpoint contradicts the older ones, and the open segment of a
/// running gateway (its checkpoints published, the segment shipped only once sealed) is told apart from a store
/// that lost a sealed segment.
/// </summary>
public sealed class PublishedCheckpointVerificationTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();
    private string Store => Path.Combine(_dir.Root, "archive");
    private string Shipped => Path.Combine(Store, "gw-1");
    private string Published => Path.Combine(Shipped, AnchorNames.Folder);

    public void Dispose() => _dir.Dispose();

    private AuditOptions Options()
    {
        var options = _dir.Options();
        options.MaxSegmentBytes = 4096;
        options.Shipping = new ShippingOptions
        {
            Target = ShippingTarget.Directory,
            Directory = Store,
            LocalRetention = TimeSpan.FromHours(1), // shipped segments stay on the host too
            ScanInterval = TimeSpan.FromHours(1),
            InitialBackoff = TimeSpan.FromMilliseconds(1),
        };
        return options;
    }

    private static async Task<long> AppendAsync(AuditLog log, int count, int from = 0)
    {
        var e = new AuditEvent();
        long sequence = -1;
        for (int i = 0; i < count; i++)
        {
            SampleEvents.Fill(e, from + i);
            sequence = await log.AppendAsync(e);
        }
        return sequence;
    }

    private static async Task WriteAsync(AuditOptions options, int count)
    {
        await using var log = await AuditLog.OpenAsync(options);
        await AppendAsync(log, count);
    }

    private string[] PublishedFiles() => Directory.GetFiles(Published, "*" + AnchorNames.Extension).Order(StringComparer.Ordinal).ToArray();

    private static Checkpoint Decode(string file)
    {
        Assert.True(Checkpoint.TryDecode(File.ReadAllBytes(file), out var cp, out _, out var error), error);
        return cp!;
    }

    private async Task<VerificationReport> VerifyStoreAsync()
    {
        using var key = _dir.LoadPublicKey();
        using var store = new DirectorySegmentStore(Store);
        return await new LogVerifier(store, key).VerifyAsync(Store, null);
    }

    private static string Describe(VerificationReport report) =>
        string.Join("\n", report.Chains.SelectMany(c => c.Errors.Select(e => "error " + e.Code + ": " + e.Message).Concat(c.Warnings.Select(w => "warning " + w.Code + ": " + w.Message))));

    [Fact]
    public async Task A_chain_rolled_back_and_continued_past_the_newest_published_checkpoint_contradicts_the_older_ones()
    {
        var options = Options();
        await WriteAsync(options, 20);
        string chain = _dir.ChainDir();
        string newest = Directory.GetFiles(chain, "*.seg").Order(StringComparer.Ordinal).Last();
        var old = PublishedFiles().Select(Decode).ToArray();
        long oldEnd = old[^1].Sequence;
        Assert.Contains(old, cp => cp.Segment == SegmentIndex(newest)); // the newest segment has published checkpoints

        // The host attacker's cut: the newest segment never reached the store (it was the open one) and is deleted
        // on the host together with every local note of how far the chain went.
        File.Delete(newest);
        File.Delete(newest + ".shipped");
        File.Delete(Path.Combine(Shipped, Path.GetFileName(newest)));
        File.Delete(Path.Combine(chain, SegmentNames.CheckpointName));
        File.Delete(Path.Combine(chain, SegmentNames.LastSealName));
        // The gateway restarts without comparing (the store was unreachable at start: skipped with a warning)
        // and continues from the seal before the cut, until the new chain is past the old newest published checkpoint.
        options.Anchoring.CheckOnStart = false;
        await WriteAsync(options, 20);
        var now = PublishedFiles().Select(Decode).ToArray();
        Assert.True(now[^1].Sequence > oldEnd, $"new chain ends at {now[^1].Sequence}, old one at {oldEnd}");

        var report = await VerifyStoreAsync();
        Assert.False(report.Valid, "a rolled-back chain verified VALID:\n" + Describe(report));
        var fork = Assert.Single(report.Chains[0].Errors, e => e.Code == "checkpoint-mismatch" && e.Sequence == oldEnd);
        Assert.Contains($"published checkpoint {AnchorNames.Key("gw-1", oldEnd)}", fork.Message, StringComparison.Ordinal);
        Assert.Contains("rolled back", fork.Message, StringComparison.Ordinal);
        // The published checkpoints before the cut are the same chain and are not reported.
        Assert.All(report.Chains[0].Errors, e => Assert.True(e.Segment >= SegmentIndex(newest), e.Message));
    }

    [Fact]
    public async Task An_honest_log_with_many_published_checkpoints_verifies_valid_and_every_one_is_compared()
    {
        var options = Options();
        for (int session = 0; session < 4; session++) await WriteAsync(options, 15);
        string[] files = PublishedFiles();
        Assert.True(files.Length >= 12, $"{files.Length} published");

        var report = await VerifyStoreAsync();
        Assert.True(report.Valid, Describe(report));
        Assert.DoesNotContain(report.Chains[0].Warnings, w => w.Code == "open-segment-not-shipped");

        // Every published one is compared, not only the newest: a forged older one (signed with the key) is caught.
        var victim = Decode(files[files.Length / 2]);
        using var signer = Crypto.AuditSigner.FromPemFile(_dir.PrivateKey);
        byte[] unsigned = (victim with { Head = new byte[32] }).EncodeUnsigned();
        File.WriteAllBytes(files[files.Length / 2], AuditNote.AppendSignature(unsigned, signer.Sign(unsigned)));
        report = await VerifyStoreAsync();
        Assert.Equal("checkpoint-mismatch", Assert.Single(report.Chains[0].Errors).Code);
    }

    [Fact]
    public async Task A_running_gateways_open_segment_is_a_warning_but_a_missing_sealed_segment_stays_truncation()
    {
        var options = Options();
        await WriteAsync(options, 20); // sealed and shipped at the stop
        // The gateway runs again: its start checkpoint (segment N, AuditStarted) is published, segment N stays open on the host.
        var log = await AuditLog.OpenAsync(options);
        try
        {
            long open = 0;
            for (int wait = 0; wait < 400 && !Settled(log, out open); wait++) await Task.Delay(25);
            Assert.True(open > 1, "the running log's start checkpoint was never published");
            Assert.False(File.Exists(Path.Combine(Shipped, SegmentNames.Sealed(open))));

            var report = await VerifyStoreAsync();
            Assert.True(report.Valid, Describe(report));
            var warning = Assert.Single(report.Chains[0].Warnings, w => w.Code == "open-segment-not-shipped");
            Assert.Equal(open, warning.Segment);
            Assert.Contains($"segment {open}, which is not in the store", warning.Message, StringComparison.Ordinal);
            var stdout = new StringWriter();
            int code = await VerifyCommand.RunAsync([Store, "--key", _dir.PublicKey], stdout, new StringWriter());
            Assert.True(code == VerifyCommand.Valid, stdout.ToString());
            Assert.True(stdout.ToString().Contains("[open-segment-not-shipped]", StringComparison.Ordinal), stdout.ToString());

            // The store loses the newest sealed segment: the checkpoints that cover it and the open segment's are truncation.
            File.Delete(Path.Combine(Shipped, SegmentNames.Sealed(open - 1)));
            report = await VerifyStoreAsync();
            Assert.False(report.Valid, Describe(report));
            Assert.All(report.Chains[0].Errors, e => Assert.Equal("truncated-log", e.Code));
            Assert.Contains(report.Chains[0].Errors, e => e.Segment == open);
            Assert.DoesNotContain(report.Chains[0].Warnings, w => w.Code == "open-segment-not-shipped");
        }
        finally
        {
            await log.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_stopped_gateways_store_missing_its_newest_sealed_segment_is_truncation()
    {
        await WriteAsync(Options(), 20);
        long newest = SegmentIndex(Directory.GetFiles(Shipped, "*.seg").Order(StringComparer.Ordinal).Last());
        Assert.Contains(PublishedFiles().Select(Decode), cp => cp.Segment == newest);
        File.Delete(Path.Combine(Shipped, SegmentNames.Sealed(newest)));

        var report = await VerifyStoreAsync();
        Assert.False(report.Valid, Describe(report));
        // The checkpoint object is replaced only once its segment shipped: it says segment `newest` was in the store.
        Assert.Contains(report.Chains[0].Errors, e => e.Code == "truncated-log" && e.Message.StartsWith("checkpoint object", StringComparison.Ordinal));
        Assert.DoesNotContain(report.Chains[0].Warnings, w => w.Code == "open-segment-not-shipped");
    }

    /// <summary>The newest checkpoint published is the running log's, in its open segment, and every segment before it shipped.</summary>
    private bool Settled(AuditLog log, out long open)
    {
        open = 0;
        var openFile = Directory.GetFiles(_dir.ChainDir(), "*.open");
        if (openFile.Length != 1 || log.Anchors!.LastPublishedSequence < 0) return false;
        long index = SegmentIndex(openFile[0]);
        var newest = Decode(PublishedFiles()[^1]);
        if (newest.Segment != index || newest.SegmentRecords == 0 || index < 2) return false;
        for (long i = 1; i < index; i++)
            if (!File.Exists(Path.Combine(Shipped, SegmentNames.Sealed(i)))) return false;
        open = index;
        return true;
    }

    private static long SegmentIndex(string path)
    {
        Assert.True(SegmentNames.TryParse(Path.GetFileName(path), out long index, out _), path);
        return index;
    }
}
