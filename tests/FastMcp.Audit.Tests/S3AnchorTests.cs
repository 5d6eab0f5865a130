using FastMcp.Audit.Anchoring;
using FastMcp.Audit.Format;
using FastMcp.Audit.Shipping;
using FastMcp.Audit.Verification;

namespace FastMcp.Audit.Tests;

/// <summary>Checkpoints published to an S3-compatible store (the real s3rver) and the restart check against them.</summary>
public sealed class S3AnchorTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();
    private S3rverProcess? _s3;

    public void Dispose()
    {
        _s3?.Dispose();
        _dir.Dispose();
    }

    [S3rverFact]
    public async Task Checkpoints_are_published_to_s3_and_a_chain_cut_on_the_host_is_refused_at_restart()
    {
        _s3 = new S3rverProcess();
        var options = _dir.Options();
        options.MaxSegmentBytes = 4096;
        options.Shipping = new ShippingOptions
        {
            Target = ShippingTarget.S3,
            S3 = _s3.Options("fleet/"),
            LocalRetention = TimeSpan.FromHours(1),
            ScanInterval = TimeSpan.FromHours(1),
            InitialBackoff = TimeSpan.FromMilliseconds(10),
        };
        var log = await AuditLog.OpenAsync(options);
        var e = new AuditEvent();
        for (int i = 0; i < 15; i++)
        {
            SampleEvents.Fill(e, i);
            await log.AppendAsync(e);
        }
        await log.DisposeAsync();
        Assert.Equal(0, log.Anchors!.Failures);

        using var store = SegmentStores.Create(options.Shipping);
        var published = (await store.ListAsync(AnchorNames.FolderOf("gw-1"), CancellationToken.None)).ToArray();
        Assert.True(published.Length >= 2, string.Join(", ", published));
        Assert.Equal(AnchorNames.Key("gw-1", 17), published[^1]);
        byte[] newest = (await store.GetAsync(published[^1], CancellationToken.None))!;

        // Create-only: the published object is not replaced by different bytes.
        Assert.Equal(PutResult.Conflict, await store.PutIfAbsentAsync(published[^1], new byte[] { 1 }, System.Security.Cryptography.SHA256.HashData(new byte[] { 1 }), CancellationToken.None));

        // The shipped log verifies against the published checkpoint (found by the verifier and as a kept one).
        using var key = _dir.LoadPublicKey();
        var report = await new LogVerifier(store, key).VerifyAsync("s3://audit/fleet", newest);
        Assert.True(report.Valid, report.FirstError?.Message);

        // The host attacker cuts the newest local segment and the local notes; the restart is refused.
        string chain = _dir.ChainDir();
        File.Delete(Directory.GetFiles(chain, "*.seg").Order(StringComparer.Ordinal).Last());
        File.Delete(Path.Combine(chain, SegmentNames.CheckpointName));
        File.Delete(Path.Combine(chain, SegmentNames.LastSealName));
        var refused = await Assert.ThrowsAsync<ChainBehindAnchorException>(() => AuditLog.OpenAsync(options));
        Assert.Contains("vouches for 17 records", refused.Message, StringComparison.Ordinal);
        Assert.Contains("s3://audit/fleet/gw-1/checkpoints/", refused.Message, StringComparison.Ordinal);
    }
}
