using System.Collections.Concurrent;
using FastMcp.Audit.Anchoring;
using FastMcp.Audit.Format;
using FastMcp.Audit.S3;
using FastMcp.Audit.Shipping;
using FastMcp.Audit.Storage;
using FastMcp.Audit.Verification;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Audit.Tests;

/// <summary>
/// audit.shipping.s3.caFile: an S3-compatible store behind a private CA (the real s3rver serving HTTPS with an
/// openssl-made certificate). With caFile the segments and published checkpoints reach the bucket and
/// `fastmcp verify --ca-file` reads it back; without it (system store) or with another CA the handshake is refused
/// and shipping fails as it does for a store that is down: everything stays local, retried, reported once.
/// </summary>
public sealed class S3PrivateCaTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();
    private readonly TestPki _pki = new();
    private readonly string _ca, _otherCa, _serverCertificate, _serverKey;
    private S3rverProcess? _s3;

    public S3PrivateCaTests()
    {
        _ca = _pki.Ca("store-ca").Certificate;
        _otherCa = _pki.Ca("other-ca").Certificate;
        (_serverCertificate, _serverKey) = _pki.Server("store-ca", "store");
    }

    public void Dispose()
    {
        _s3?.Dispose();
        _pki.Dispose();
        _dir.Dispose();
    }

    private S3ShippingOptions Store(string? caFile)
    {
        _s3 ??= new S3rverProcess(_serverCertificate, _serverKey);
        var s3 = _s3.Options("fleet/");
        s3.CaFile = caFile;
        return s3;
    }

    [S3rverFact]
    public async Task Segments_and_checkpoints_ship_to_a_store_behind_a_private_ca_with_caFile_and_verify_from_it()
    {
        var options = _dir.Options();
        var problems = new ConcurrentQueue<string>();
        options.Anchoring.OnProblem = problems.Enqueue;
        options.Shipping = new ShippingOptions
        {
            Target = ShippingTarget.S3,
            S3 = Store(_ca),
            ScanInterval = TimeSpan.FromHours(1),
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            OnProblem = problems.Enqueue,
        };
        Assert.StartsWith("https://", _s3!.Endpoint, StringComparison.Ordinal);
        await SampleEvents.WriteLogAsync(options, 12, perSegment: 1);
        Assert.Empty(Directory.GetFiles(_dir.ChainDir(), "*.seg"));
        Assert.Empty(problems);

        using var store = SegmentStores.Create(options.Shipping);
        var keys = await store.ListAsync("gw-1/", CancellationToken.None);
        Assert.Contains("gw-1/" + SegmentNames.Sealed(1), keys);
        Assert.Contains("gw-1/checkpoint", keys);
        Assert.Contains(keys, k => k.StartsWith(AnchorNames.FolderOf("gw-1"), StringComparison.Ordinal));

        // The start-up comparison reads the published checkpoints through the same trust: a second start compares and goes on.
        await SampleEvents.WriteLogAsync(options, 1);
        Assert.Empty(problems);

        // fastmcp verify reads the bucket with --ca-file.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", S3rverProcess.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", S3rverProcess.AccessKey);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await VerifyCommand.RunAsync(["s3://audit/fleet", "--key", _dir.PublicKey, "--endpoint", _s3.Endpoint, "--ca-file", _ca], stdout, stderr);
        Assert.True(code == VerifyCommand.Valid, stdout + stderr.ToString());

        // Without it, the CLI's client trusts the system store only and cannot read the bucket.
        stderr = new StringWriter();
        code = await VerifyCommand.RunAsync(["s3://audit/fleet", "--key", _dir.PublicKey, "--endpoint", _s3.Endpoint], new StringWriter(), stderr);
        Assert.Equal(VerifyCommand.Error, code);
        Assert.Contains(StoreProblem.UntrustedCertificateCli, stderr.ToString(), StringComparison.Ordinal);
    }

    [S3rverTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Without_the_store_ca_the_handshake_is_refused_and_every_segment_stays_local(bool otherCa)
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 8, perSegment: 1);
        var local = Directory.GetFiles(_dir.ChainDir(), "*.seg").Order(StringComparer.Ordinal).ToArray();
        Assert.NotEmpty(local);
        var problems = new ConcurrentQueue<string>();
        var shipping = new ShippingOptions
        {
            Target = ShippingTarget.S3,
            S3 = Store(otherCa ? _otherCa : null),
            MaxAttempts = 2,
            InitialBackoff = TimeSpan.FromMilliseconds(10),
            OnProblem = problems.Enqueue,
        };
        // The start-up comparison with the published checkpoints cannot read them either: said, and the start goes on.
        var anchorProblems = new ConcurrentQueue<string>();
        var options = _dir.Options();
        options.Shipping = shipping;
        options.Anchoring.OnProblem = anchorProblems.Enqueue;
        await ChainAnchorCheck.EnsureNotBehindAsync(options, PhysicalAuditFileSystem.Instance, CancellationToken.None);
        Assert.Contains("cannot read the published checkpoints of chain 'gw-1' (" + StoreProblem.UntrustedCertificate + ")", Assert.Single(anchorProblems), StringComparison.Ordinal);

        await using (var shipper = new SegmentShipper(SegmentStores.Create(shipping), PhysicalAuditFileSystem.Instance, _dir.ChainDir(), "gw-1",
            FastMcp.Audit.Crypto.ChainKeys.Load(_dir.LoadPublicKey(), null), shipping))
        {
            for (int pass = 0; pass < 2; pass++)
            {
                var result = await shipper.ShipPendingAsync();
                Assert.Equal(0, result.Uploaded + result.AlreadyPresent + result.DeletedLocally);
                Assert.Equal(local.Length, result.Failed);
                Assert.Equal(local.Length, shipper.BacklogSegments);
            }
            Assert.Equal(2, shipper.FailedPasses);
            Assert.Contains("failed after 2 attempts: " + StoreProblem.UntrustedCertificate, shipper.LastError, StringComparison.Ordinal);
        }
        // Reported once (not on every retry), and nothing deleted.
        Assert.Single(problems);
        Assert.Contains("audit shipping: failing", problems.Single(), StringComparison.Ordinal);
        Assert.Equal(local, Directory.GetFiles(_dir.ChainDir(), "*.seg").Order(StringComparer.Ordinal).ToArray());

        // The store itself took nothing (read with its CA).
        using var store = new S3SegmentStore(Store(_ca));
        Assert.Empty(await store.ListAsync("gw-1/", CancellationToken.None));
    }

    [Fact]
    public void A_caFile_that_cannot_be_used_is_refused_naming_the_field()
    {
        string empty = Path.Combine(_dir.Root, "empty.pem");
        File.WriteAllText(empty, "no certificate here\n");
        var cases = new (string? Endpoint, string CaFile, string Says)[]
        {
            ("https://s3.internal:9000", Path.Combine(_dir.Root, "missing.pem"), "no such file"),
            ("https://s3.internal:9000", empty, "holds no PEM certificate"),
            ("http://s3.internal:9000", _ca, "not an https:// URL"),
            (null, _ca, "not an https:// URL"),
        };
        foreach (var (endpoint, caFile, says) in cases)
        {
            var shipping = new ShippingOptions
            {
                Target = ShippingTarget.S3,
                S3 = new S3ShippingOptions { Endpoint = endpoint, Bucket = "audit", CaFile = caFile },
            };
            var e = Assert.Throws<ArgumentException>(shipping.Validate);
            Assert.Equal("shipping.s3.caFile", e.ParamName);
            Assert.Contains(says, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_cli_names_its_option_when_the_ca_file_cannot_be_used()
    {
        var stderr = new StringWriter();
        int code = await VerifyCommand.RunAsync(["s3://audit/fleet", "--key", _dir.PublicKey, "--endpoint", "https://127.0.0.1:1", "--ca-file", Path.Combine(_dir.Root, "missing.pem")], new StringWriter(), stderr);
        Assert.Equal(VerifyCommand.Error, code);
        Assert.Contains("--ca-file: cannot read", stderr.ToString(), StringComparison.Ordinal);

        stderr = new StringWriter();
        code = await VerifyCommand.RunAsync(["s3://audit/fleet", "--key", _dir.PublicKey, "--endpoint", "http://127.0.0.1:1", "--ca-file", _ca], new StringWriter(), stderr);
        Assert.Equal(VerifyCommand.Error, code);
        Assert.Contains("--ca-file needs an https:// --endpoint", stderr.ToString(), StringComparison.Ordinal);
    }
}
