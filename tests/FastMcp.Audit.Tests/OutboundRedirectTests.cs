using FastMcp.Audit.S3;
using FastMcp.Audit.Shipping;
using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Tests;

/// <summary>
/// The audit log's outbound clients follow no redirect: against a real redirecting listener whose target records whatever
/// reaches it, the checkpoint witness, a checkpoint read by URL and the S3 shipper each see the redirect as a failure naming
/// the URL and the status, and nothing reaches the target (no signed checkpoint, token or segment resent elsewhere).
/// </summary>
public sealed class OutboundRedirectTests : IDisposable
{
    private readonly TempAuditDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_witness_that_redirects_gets_nothing_resent_and_the_failure_is_counted_and_reported()
    {
        using var trap = new RedirectTrap(307);
        string tokenFile = Path.Combine(_dir.Root, "witness-token");
        File.WriteAllText(tokenFile, "witness-secret\n");
        var problems = new List<string>();
        var options = _dir.Options();
        options.MaxSegmentBytes = 4096;
        options.Anchoring.WitnessUrl = trap.Url + "/witness";
        options.Anchoring.WitnessTokenFile = tokenFile;
        options.Anchoring.OnProblem = m => { lock (problems) problems.Add(m); };
        await using (AuditLog log = await AuditLog.OpenAsync(options))
        {
            var e = new AuditEvent();
            for (int i = 0; i < 5; i++)
            {
                SampleEvents.Fill(e, i);
                await log.AppendAsync(e);
            }
            for (int i = 0; i < 200 && log.Anchors!.Failures == 0; i++) await Task.Delay(50);
            Assert.True(log.Anchors!.Failures > 0);
            Assert.Equal(-1, log.Anchors.LastPublishedSequence);
        }
        Assert.True(trap.Redirected > 0);
        Assert.Empty(trap.Captured);
        lock (problems)
            Assert.Contains(problems, p => p.Contains($"audit anchor: witness {trap.Url}/witness answered 307 (a redirect), and redirects are not followed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_checkpoint_url_that_redirects_is_an_error_naming_it_and_is_not_followed()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 3);
        using var trap = new RedirectTrap(302);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await VerifyCommand.RunAsync([_dir.Segments, "--key", _dir.PublicKey, "--since-checkpoint", trap.Url + "/checkpoint"], stdout, stderr);
        Assert.Equal(VerifyCommand.Error, code);
        Assert.Contains($"{trap.Url}/checkpoint answered 302 (a redirect), and redirects are not followed", stdout.ToString() + stderr, StringComparison.Ordinal);
        Assert.Empty(trap.Captured);
    }

    [Fact]
    public async Task An_s3_endpoint_that_redirects_keeps_the_segments_queued_and_counts_the_failure()
    {
        await SampleEvents.WriteLogAsync(_dir.Options(), 10, perSegment: 1);
        string[] local = Directory.GetFiles(_dir.ChainDir(), "*.seg");
        Assert.NotEmpty(local);
        using var trap = new RedirectTrap(307);
        var shipping = new ShippingOptions
        {
            Target = ShippingTarget.S3,
            S3 = new S3ShippingOptions
            {
                Endpoint = trap.Url,
                Region = "us-east-1",
                Bucket = "audit",
                Prefix = "",
                ForcePathStyle = true,
                AccessKeyId = "AKIDREDIRECTTEST",
                SecretAccessKey = "redirect-test-secret",
            },
            InitialBackoff = TimeSpan.FromMilliseconds(10),
        };
        await using var shipper = new SegmentShipper(SegmentStores.Create(shipping), PhysicalAuditFileSystem.Instance, _dir.ChainDir(), "gw-1",
            FastMcp.Audit.Crypto.ChainKeys.Load(_dir.LoadPublicKey(), null), shipping);
        ShipPassResult pass = await shipper.ShipPendingAsync();

        Assert.Equal(0, pass.Uploaded);
        Assert.True(pass.Failed > 0, pass.ToString());
        Assert.Equal(1, shipper.FailedPasses);
        Assert.True(shipper.LastError?.Contains($"{trap.Url}/audit/gw-1/", StringComparison.Ordinal) == true
            && shipper.LastError.Contains("answered 307 (a redirect), and redirects are not followed", StringComparison.Ordinal), shipper.LastError);
        Assert.Equal(local.Order(StringComparer.Ordinal), Directory.GetFiles(_dir.ChainDir(), "*.seg").Order(StringComparer.Ordinal));
        Assert.True(trap.Redirected > 0);
        Assert.Empty(trap.Captured);
    }
}
