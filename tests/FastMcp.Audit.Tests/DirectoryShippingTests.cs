using System.Security.Cryptography;
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

    private SegmentShipper NewShipper(TimeSpan retention) =>
        new(new DirectorySegmentStore(Destination), PhysicalAuditFileSystem.Instance, _dir.ChainDir(), "gw-1", Shipping(retention));

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
}
