using FastMcp.Audit.Format;
using FastMcp.Audit.S3;
using FastMcp.Audit.Shipping;
using FastMcp.Audit.Storage;
using FastMcp.Audit.Verification;

namespace FastMcp.Audit.Tests;

/// <summary>Shipping to and verifying from an S3-compatible store (s3rver on loopback).</summary>
public sealed class S3ShippingTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();
    private S3rverProcess? _s3;

    public void Dispose()
    {
        _s3?.Dispose();
        _dir.Dispose();
    }

    [S3rverFact]
    public async Task Segments_ship_to_s3_idempotently_and_verify_from_the_bucket()
    {
        _s3 = new S3rverProcess();
        var options = _dir.Options();
        options.Shipping = new ShippingOptions
        {
            Target = ShippingTarget.S3,
            S3 = _s3.Options("fleet/"),
            ScanInterval = TimeSpan.FromHours(1),
            InitialBackoff = TimeSpan.FromMilliseconds(10),
        };
        await SampleEvents.WriteLogAsync(options, 25, perSegment: 1);
        Assert.Empty(Directory.GetFiles(_dir.ChainDir(), "*.seg"));

        using var store = new S3SegmentStore(_s3.Options("fleet/"));
        var keys = await store.ListAsync("", CancellationToken.None);
        Assert.Contains("gw-1/" + SegmentNames.Sealed(1), keys);
        Assert.Contains("gw-1/checkpoint", keys);

        using var key = _dir.LoadPublicKey();
        var report = await new LogVerifier(store, key).VerifyAsync("s3://audit/fleet", null);
        Assert.True(report.Valid, report.FirstError?.Message);
        Assert.Equal(27, report.Chains[0].RecordsVerified);

        // A retry of an upload that already happened finds the identical object and does not overwrite.
        var seg1 = (await store.GetAsync("gw-1/" + SegmentNames.Sealed(1), CancellationToken.None))!;
        var sha = System.Security.Cryptography.SHA256.HashData(seg1);
        Assert.Equal(PutResult.AlreadyIdentical, await store.PutIfAbsentAsync("gw-1/" + SegmentNames.Sealed(1), seg1, sha, CancellationToken.None));
        Assert.Equal(PutResult.Conflict, await store.PutIfAbsentAsync("gw-1/" + SegmentNames.Sealed(1), new byte[] { 1 }, System.Security.Cryptography.SHA256.HashData(new byte[] { 1 }), CancellationToken.None));
        Assert.Equal(seg1, await store.GetAsync("gw-1/" + SegmentNames.Sealed(1), CancellationToken.None));

        // Tampering in the bucket is caught by the CLI reading s3:// directly.
        var bad = (byte[])seg1.Clone();
        bad[bad.Length / 2] ^= 1;
        await store.PutAsync("gw-1/" + SegmentNames.Sealed(1), bad, CancellationToken.None);
        var stdout = new StringWriter();
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3rverProcess.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3rverProcess.AccessKey);
        int code = await VerifyCommand.RunAsync(["s3://audit/fleet", "--key", _dir.PublicKey, "--endpoint", _s3.Endpoint], stdout, new StringWriter());
        Assert.True(code == 1, stdout.ToString());
        Assert.Contains("first bad: segment 1", stdout.ToString());
    }

    [S3rverFact]
    public async Task A_crash_between_upload_and_delete_is_resolved_by_the_next_pass()
    {
        _s3 = new S3rverProcess();
        await SampleEvents.WriteLogAsync(_dir.Options(), 15, perSegment: 1);
        var local = Directory.GetFiles(_dir.ChainDir(), "*.seg").Order(StringComparer.Ordinal).ToArray();
        using (var store = new S3SegmentStore(_s3.Options("")))
        {
            var bytes = File.ReadAllBytes(local[0]);
            Assert.Equal(PutResult.Created, await store.PutIfAbsentAsync("gw-1/" + Path.GetFileName(local[0]), bytes, System.Security.Cryptography.SHA256.HashData(bytes), CancellationToken.None));
        }
        var shipping = new ShippingOptions { Target = ShippingTarget.S3, S3 = _s3.Options(""), InitialBackoff = TimeSpan.FromMilliseconds(10) };
        await using var shipper = new SegmentShipper(SegmentStores.Create(shipping), PhysicalAuditFileSystem.Instance, _dir.ChainDir(), "gw-1", FastMcp.Audit.Crypto.ChainKeys.Load(_dir.LoadPublicKey(), null), shipping);
        var pass = await shipper.ShipPendingAsync();
        Assert.Equal(1, pass.AlreadyPresent);
        Assert.Equal(local.Length - 1, pass.Uploaded);
        Assert.Equal(0, pass.Failed);
        Assert.Empty(Directory.GetFiles(_dir.ChainDir(), "*.seg"));
    }
}
