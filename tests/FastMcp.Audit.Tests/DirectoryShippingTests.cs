using System.Security.Cryptography;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Shipping;
using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Tests;

public sealed class DirectoryShippingTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();
    private string Destination => Path.Combine(_dir.Root, "archive");

    public void Dispose() => _dir.Dispose();

    private ShippingOptions Shipping(TimeSpan retention) => new()
    {
        Target = ShippingTarget.Directory,
        Directory = Destination,
        LocalRetention = retention,
        ScanInterval = TimeSpan.FromHours(1),
        InitialBackoff = TimeSpan.FromMilliseconds(1),
    };

    private SegmentShipper NewShipper(TimeSpan retention, Action<string>? onProblem = null)
    {
        var shipping = Shipping(retention);
        shipping.OnProblem = onProblem;
        return new(new DirectorySegmentStore(Destination), PhysicalAuditFileSystem.Instance, _dir.ChainDir(), "gw-1", ChainKeys.Load(_dir.LoadPublicKey(), null), shipping);
    }

    private string[] LocalSegments() => Directory.GetFiles(_dir.ChainDir(), "*.seg");

    [Fact]
    public async Task Sealed_segments_ship_verified_and_the_local_copies_go()
    {
        var options = _dir.Options();
        options.Shipping = Shipping(TimeSpan.Zero);
        await SampleEvents.WriteLogAsync(options, 30, perSegment: 1);
        Assert.Empty(LocalSegments());
        Assert.True(Directory.GetFiles(Path.Combine(Destination, "gw-1"), "*.seg").Length >= 3);

        // The chain continues from last-seal although the local segments are gone.
        await SampleEvents.WriteLogAsync(options, 5);
        Assert.Empty(LocalSegments());

        var (report, records) = await LogReading.VerifyFolderAsync(_dir, Destination);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Equal(39, records.Count);
        Assert.Equal(Enumerable.Range(0, 39).Select(i => (long)i), records.Select(r => r.Sequence));
        Assert.True(File.Exists(Path.Combine(Destination, "gw-1", "checkpoint")));
        Assert.True(report.Chains[0].CheckpointsVerified > 0);
    }

    [Fact]
    public async Task A_crash_between_upload_and_delete_neither_loses_nor_duplicates()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 20, perSegment: 1);
        var local = LocalSegments().Order(StringComparer.Ordinal).ToArray();
        // Segment 1 was uploaded but the process died before deleting the local copy.
        Directory.CreateDirectory(Path.Combine(Destination, "gw-1"));
        File.Copy(local[0], Path.Combine(Destination, "gw-1", Path.GetFileName(local[0])));

        await using var shipper = NewShipper(TimeSpan.Zero);
        var pass = await shipper.ShipPendingAsync();
        Assert.Equal(1, pass.AlreadyPresent);
        Assert.Equal(local.Length - 1, pass.Uploaded);
        Assert.Equal(local.Length, pass.DeletedLocally);
        Assert.Equal(0, pass.Failed);
        Assert.Equal(local.Length, Directory.GetFiles(Path.Combine(Destination, "gw-1"), "*.seg").Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(Destination, "gw-1"), "*.tmp"));
        var (report, _) = await LogReading.VerifyFolderAsync(_dir, Destination);
        Assert.True(report.Valid, report.FirstError?.Message);
    }

    [Fact]
    public async Task A_different_object_under_the_same_key_is_never_overwritten()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 20, perSegment: 1);
        var first = LocalSegments().Order(StringComparer.Ordinal).First();
        string remote = Path.Combine(Destination, "gw-1", Path.GetFileName(first));
        Directory.CreateDirectory(Path.GetDirectoryName(remote)!);
        File.WriteAllBytes(remote, [1, 2, 3]);

        await using var shipper = NewShipper(TimeSpan.Zero);
        var pass = await shipper.ShipPendingAsync();
        Assert.Equal(1, pass.Conflicts);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(remote));
        Assert.True(File.Exists(first));
        Assert.NotNull(shipper.LastError);
    }

    [Fact]
    public async Task With_a_retention_local_copies_stay_marked_and_are_not_uploaded_twice()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 20, perSegment: 1);
        int count = LocalSegments().Length;
        await using var shipper = NewShipper(TimeSpan.FromHours(1));
        var pass = await shipper.ShipPendingAsync();
        Assert.Equal(count, pass.Uploaded);
        Assert.Equal(0, pass.DeletedLocally);
        Assert.Equal(count, LocalSegments().Length);
        foreach (var seg in LocalSegments())
            Assert.Equal(SHA256.HashData(File.ReadAllBytes(seg)), File.ReadAllBytes(seg + SegmentShipper.ShippedMarkerSuffix));
        var again = await shipper.ShipPendingAsync();
        Assert.Equal(0, again.Uploaded + again.AlreadyPresent);
    }

    [Fact]
    public async Task The_store_checkpoint_never_points_past_the_shipped_segments()
    {
        var options = _dir.Options();
        await using var log = await AuditLog.OpenAsync(options);
        var e = new AuditEvent();
        SampleEvents.Fill(e, 1);
        await log.AppendAsync(e);
        await using var shipper = NewShipper(TimeSpan.Zero);
        await shipper.ShipPendingAsync();
        // Segment 1 is still open: nothing shipped, so no checkpoint in the store either.
        Assert.False(File.Exists(Path.Combine(Destination, "gw-1", SegmentNames.CheckpointName)));
    }

    /// <summary>
    /// With the store down, sealed segments piled up locally with no log line, no metric and readiness green.
    /// The shipper now reports the first failure and the recovery (not every retry), keeps the backlog and the
    /// last success for /metrics, and says when the backlog is over its limit (readiness fails then).
    /// </summary>
    [Fact]
    public async Task A_store_that_is_down_is_reported_once_counted_as_backlog_and_recovery_is_reported()
    {
        // The destination is a file, so every upload fails, until it is replaced by a folder.
        Directory.CreateDirectory(_dir.Root);
        File.WriteAllText(Destination, "not a folder");
        var messages = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var options = _dir.Options();
        options.MaxSegmentBytes = 4096;
        options.Shipping = new ShippingOptions
        {
            Target = ShippingTarget.Directory,
            Directory = Destination,
            ScanInterval = TimeSpan.FromMilliseconds(50),
            MaxAttempts = 1,
            InitialBackoff = TimeSpan.Zero,
            MaxBacklogSegments = 1,
            OnProblem = messages.Enqueue,
        };
        await using var log = await AuditLog.OpenAsync(options);
        SegmentShipper shipper = log.Shipper!;
        var e = new AuditEvent();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        for (int i = 0; shipper.BacklogSegments < 3 && DateTime.UtcNow < deadline; i++)
        {
            SampleEvents.Fill(e, i);
            await log.AppendAsync(e);
            if (i % 20 == 0) await Task.Delay(60);
        }
        Assert.True(shipper.BacklogSegments >= 3, $"backlog {shipper.BacklogSegments}");
        Assert.True(shipper.BacklogBytes > 0);
        Assert.True(shipper.BacklogTooLarge);
        Assert.True(shipper.FailedPasses >= 2);
        long lastSuccessWhileDown = shipper.LastSuccessUnixSeconds; // from before the first segment was sealed, if any
        await Task.Delay(1100);
        Assert.Equal(lastSuccessWhileDown, shipper.LastSuccessUnixSeconds);
        Assert.Single(messages, m => m.Contains("failing", StringComparison.Ordinal)); // once, not per retry
        Assert.True(LocalSegments().Length >= 3, "unshipped segments are kept locally");

        long fixedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        File.Delete(Destination);
        Directory.CreateDirectory(Destination);
        deadline = DateTime.UtcNow.AddSeconds(20);
        while ((shipper.BacklogSegments > 0 || shipper.LastSuccessUnixSeconds < fixedAt) && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(0, shipper.BacklogSegments);
        Assert.False(shipper.BacklogTooLarge);
        Assert.True(shipper.LastSuccessUnixSeconds >= fixedAt);
        Assert.Contains(messages, m => m.Contains("working again", StringComparison.Ordinal));
        Assert.Empty(LocalSegments());
    }

    /// <summary>
    /// After shipping deleted the local segments, the node's own folder reported INVALID ("checkpoint beyond
    /// the end of the log"). It now verifies as the tail of a shipped chain and says where the rest is.
    /// </summary>
    [Fact]
    public async Task A_local_folder_after_shipping_verifies_as_the_tail_and_says_where_the_rest_is()
    {
        var options = _dir.Options();
        options.Shipping = Shipping(TimeSpan.Zero);
        await SampleEvents.WriteLogAsync(options, 30, perSegment: 1);
        Assert.Empty(LocalSegments());

        var (closed, _) = await LogReading.VerifyFolderAsync(_dir);
        Assert.True(closed.Valid, closed.FirstError?.Message);
        Assert.Contains(closed.Chains[0].Warnings, w => w.Code == "local-tail" && w.Message.Contains("shipped", StringComparison.Ordinal));

        // A running node: the open segment follows last-seal, whose seal it is verified against.
        var live = await AuditLog.OpenAsync(options);
        try
        {
            var e = new AuditEvent();
            SampleEvents.Fill(e, 99);
            await live.AppendAsync(e);
            var (running, records) = await LogReading.VerifyFolderAsync(_dir);
            Assert.True(running.Valid, running.FirstError?.Message);
            Assert.Contains(running.Chains[0].Warnings, w => w.Code == "local-tail" && w.Message.Contains("verified against last-seal", StringComparison.Ordinal));
            Assert.Contains(records, r => r.Type == AuditEventType.AuditStarted);
        }
        finally
        {
            await live.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_forged_last_seal_does_not_make_a_local_tail_valid()
    {
        var options = _dir.Options();
        options.Shipping = Shipping(TimeSpan.Zero);
        await SampleEvents.WriteLogAsync(options, 30, perSegment: 1);
        string lastSeal = Path.Combine(_dir.ChainDir(), SegmentNames.LastSealName);
        byte[] bytes = File.ReadAllBytes(lastSeal);
        bytes[bytes.Length - 10] ^= 0x01; // inside the signature
        File.WriteAllBytes(lastSeal, bytes);

        var (report, _) = await LogReading.VerifyFolderAsync(_dir);
        Assert.False(report.Valid);
    }

    [Fact]
    public async Task A_segment_edited_after_sealing_is_neither_shipped_nor_deleted_and_is_reported_as_tampering()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 20, perSegment: 1);
        var local = LocalSegments().Order(StringComparer.Ordinal).ToArray();
        Assert.True(local.Length >= 3);
        string edited = local[1];
        var surgeon = SegmentSurgeon.Parse(File.ReadAllBytes(edited));
        surgeon.AllBodies()[0][^3] ^= 0x04; // one record's JSON, chain hashes recomputed: only the seal can tell
        byte[] tampered = surgeon.Encode();
        File.WriteAllBytes(edited, tampered);

        var messages = new List<string>();
        await using var shipper = NewShipper(TimeSpan.Zero, m => { lock (messages) messages.Add(m); });
        var pass = await shipper.ShipPendingAsync();
        string remote = Path.Combine(Destination, "gw-1", Path.GetFileName(edited));
        Assert.False(File.Exists(remote));
        Assert.Equal(tampered, File.ReadAllBytes(edited));
        Assert.Equal(1, pass.Unverified);
        Assert.Equal(local.Length - 1, pass.Uploaded);
        Assert.Equal(1, shipper.UnverifiedSegments);
        Assert.Equal(1, shipper.BacklogSegments);
        Assert.Contains(Path.GetFileName(edited), shipper.LastError);
        // The store's checkpoint must not describe a chain the store does not hold.
        Assert.False(File.Exists(Path.Combine(Destination, "gw-1", SegmentNames.CheckpointName)));
        lock (messages) Assert.Contains(messages, m => m.Contains("TAMPERING", StringComparison.Ordinal) && m.Contains(Path.GetFileName(edited), StringComparison.Ordinal));

        // Every pass refuses it again; the finding is reported once.
        var again = await shipper.ShipPendingAsync();
        Assert.Equal(1, again.Unverified);
        Assert.False(File.Exists(remote));
        Assert.True(File.Exists(edited));
        lock (messages) Assert.Single(messages, m => m.Contains("TAMPERING", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_segment_whose_seal_differs_from_last_seal_is_not_shipped()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        // last-seal is segment 2's; a genuine seal of segment 1 planted there (the chain's record for index 2 disagrees).
        string lastSeal = Path.Combine(_dir.ChainDir(), SegmentNames.LastSealName);
        string newest = Path.Combine(_dir.ChainDir(), SegmentNames.Sealed(2));
        Assert.True(Seal.TryDecode(File.ReadAllBytes(lastSeal), out var kept, out _, out _));
        using (var signer = AuditSigner.FromPemFile(_dir.PrivateKey))
        {
            byte[] unsigned = (kept! with { SealedMicros = kept.SealedMicros + 1 }).EncodeUnsigned();
            File.WriteAllBytes(lastSeal, FastMcp.Audit.Format.AuditNote.AppendSignature(unsigned, signer.Sign(unsigned)));
        }
        await using var shipper = NewShipper(TimeSpan.Zero);
        var pass = await shipper.ShipPendingAsync();
        Assert.Equal(1, pass.Unverified);
        Assert.True(File.Exists(newest));
        Assert.False(File.Exists(Path.Combine(Destination, "gw-1", SegmentNames.Sealed(2))));
        Assert.Contains("last-seal", shipper.LastError);
    }

    [Fact]
    public async Task A_planted_shipped_marker_does_not_delete_a_segment_the_store_does_not_hold()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 20, perSegment: 1);
        string first = LocalSegments().Order(StringComparer.Ordinal).First();
        byte[] bytes = File.ReadAllBytes(first);
        string marker = first + SegmentShipper.ShippedMarkerSuffix;
        File.WriteAllBytes(marker, SHA256.HashData(bytes));
        File.SetLastWriteTimeUtc(marker, DateTime.UtcNow.AddDays(-2));

        var messages = new List<string>();
        await using var shipper = NewShipper(TimeSpan.FromHours(1), m => { lock (messages) messages.Add(m); });
        var pass = await shipper.ShipPendingAsync();
        Assert.Equal(0, pass.DeletedLocally);
        Assert.Equal(bytes, File.ReadAllBytes(first));
        // It was shipped instead, and marked afresh.
        string remote = Path.Combine(Destination, "gw-1", Path.GetFileName(first));
        Assert.Equal(bytes, File.ReadAllBytes(remote));
        Assert.True(DateTime.UtcNow - File.GetLastWriteTimeUtc(marker) < TimeSpan.FromHours(1));
        lock (messages) Assert.Contains(messages, m => m.Contains(Path.GetFileName(marker), StringComparison.Ordinal) && m.Contains("not in the store", StringComparison.Ordinal));

        // Once the store holds it and the retention has passed, the marker does what it says.
        File.SetLastWriteTimeUtc(marker, DateTime.UtcNow.AddDays(-2));
        var later = await shipper.ShipPendingAsync();
        Assert.Equal(1, later.DeletedLocally);
        Assert.False(File.Exists(first));
        Assert.False(File.Exists(marker));

        // A marker for a segment whose stored copy differs: kept, counted as a conflict.
        string second = LocalSegments().Order(StringComparer.Ordinal).First();
        File.WriteAllBytes(Path.Combine(Destination, "gw-1", Path.GetFileName(second)), [1, 2, 3]);
        File.WriteAllBytes(second + SegmentShipper.ShippedMarkerSuffix, SHA256.HashData(File.ReadAllBytes(second)));
        File.SetLastWriteTimeUtc(second + SegmentShipper.ShippedMarkerSuffix, DateTime.UtcNow.AddDays(-2));
        var conflict = await shipper.ShipPendingAsync();
        Assert.True(File.Exists(second));
        Assert.Equal(0, conflict.DeletedLocally);
        Assert.Equal(1, conflict.Conflicts);
    }
}
