using FastMcp.Audit;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Shipping;
using FastMcp.Audit.Verification;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Issue #13 through the gateway's own start-up: a restart after the unfinished audit segment was
/// tampered with records the tampering instead of sealing it, and a chain whose newest seal does not
/// verify is refused.
/// </summary>
public sealed class AuditTamperingAtStartTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-audit-start-" + Guid.NewGuid().ToString("N"));
    private string PrivateKey => Path.Combine(_dir, "audit.pem");
    private string PublicKey => Path.Combine(_dir, "audit.pub.pem");

    public AuditTamperingAtStartTests()
    {
        Directory.CreateDirectory(_dir);
        AuditKeys.Generate(PrivateKey, PublicKey);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private Task<GatewayUnderTest> StartAsync(string auditDirectory) =>
        GatewayUnderTest.StartWithStagesAsync("http://127.0.0.1:9/mcp", options =>
        {
            options.Identity = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1/mcp", DevKeyDirectory = Path.Combine(_dir, "dev") };
            options.Policy = new PolicyOptions { Rules = [new RuleOptions { Name = "rest", Action = "allow" }] };
            options.Audit = new AuditOptions { Directory = auditDirectory, ChainId = "gw", SigningKeyPath = PrivateKey };
        });

    [Fact]
    public async Task A_restart_after_the_open_segment_was_cut_behind_its_checkpoint_records_tampering_and_seals_nothing()
    {
        string live = Path.Combine(_dir, "live"), image = Path.Combine(_dir, "image");
        var first = await StartAsync(live);
        try
        {
            // The folder as kill -9 leaves it: segment 1 open, AuditStarted covered by the signed checkpoint.
            Directory.CreateDirectory(Path.Combine(image, "gw"));
            foreach (var f in Directory.EnumerateFiles(Path.Combine(live, "gw")))
                if (!f.EndsWith(".tmp", StringComparison.Ordinal) && Path.GetFileName(f) != FastMcp.Audit.Storage.ChainWriterLock.FileName) File.Copy(f, Path.Combine(image, "gw", Path.GetFileName(f)));
        }
        finally
        {
            await first.DisposeAsync();
        }
        string open = Path.Combine(image, "gw", SegmentNames.Open(1));
        var bytes = File.ReadAllBytes(open);
        int headerFrame = FrameHeader.Size + BitConverter.ToInt32(bytes, 8);
        File.WriteAllBytes(open, bytes[..headerFrame]);

        var second = await StartAsync(image);
        try
        {
            var report = second.Stages.Audit!.Log.StartReport;
            Assert.True(report.TamperingFound);
            Assert.Contains("the checkpoint object vouches for 1 records in segment 1", report.Tampering);
        }
        finally
        {
            await second.DisposeAsync();
        }
        Assert.Equal(bytes[..headerFrame], File.ReadAllBytes(open + ".tampered"));
        Assert.False(File.Exists(Path.Combine(image, "gw", SegmentNames.Sealed(1))));

        using var key = AuditPublicKey.FromPemFile(PublicKey);
        using var store = new DirectorySegmentStore(image);
        var verified = await new LogVerifier(store, key).VerifyAsync(image, null);
        Assert.False(verified.Valid);
        var chain = Assert.Single(verified.Chains);
        Assert.Equal("tampered", Assert.Single(chain.Errors).Code);
        Assert.Equal(1, chain.SegmentsVerified); // segment 2, linked to the signed checkpoint of segment 1
    }

    [Fact]
    public async Task The_gateway_refuses_to_start_on_a_chain_whose_newest_seal_is_broken()
    {
        string audit = Path.Combine(_dir, "audit");
        await (await StartAsync(audit)).DisposeAsync();
        string sealedPath = Path.Combine(audit, "gw", SegmentNames.Sealed(1));
        var bytes = File.ReadAllBytes(sealedPath);
        bytes[^5] ^= 0x01;
        File.WriteAllBytes(sealedPath, bytes);

        var e = await Assert.ThrowsAsync<ConfigurationException>(() => StartAsync(audit));
        Assert.Contains("refusing to start: the audit log was tampered with", e.Message);
        Assert.False(File.Exists(Path.Combine(audit, "gw", SegmentNames.Open(2))));
    }
}
