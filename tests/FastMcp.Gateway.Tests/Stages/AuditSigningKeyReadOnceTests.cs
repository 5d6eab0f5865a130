using System.Diagnostics;
using FastMcp.Audit;
using FastMcp.Audit.Crypto;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The gateway's start reads and parses the audit signing key once: the custody check's key is the one the audit log
/// signs with (issue #14 target 5). The key path is a named pipe that yields the key to one reader only, so a second
/// read would wait for a writer that never comes.
/// </summary>
public sealed class AuditSigningKeyReadOnceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-key-once-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task The_start_reads_the_signing_key_once_and_the_log_signs_with_it()
    {
        string generated = Path.Combine(_dir, "generated.pem"), publicKey = Path.Combine(_dir, "audit.pub.pem");
        AuditKeys.Generate(generated, publicKey);
        byte[] pem = File.ReadAllBytes(generated);
        string pipe = Path.Combine(_dir, "audit.pem");
        using (var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", ["-m", "600", pipe]))!)
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }
        // One writer, once: opening the write end waits for the gateway's first read.
        Task writer = Task.Run(() =>
        {
            using var w = new FileStream(pipe, FileMode.Open, FileAccess.Write);
            w.Write(pem);
        });

        // On a pool thread: the key is read synchronously, and a second read blocks the thread that makes it.
        Task<GatewayUnderTest> start = Task.Run(() => GatewayUnderTest.StartWithStagesAsync("http://127.0.0.1:9/mcp", options =>
        {
            options.Identity = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1/mcp", DevKeyDirectory = Path.Combine(_dir, "dev") };
            options.Policy = new PolicyOptions { Rules = [new RuleOptions { Name = "rest", Action = "allow" }] };
            options.Audit = new AuditOptions { Directory = Path.Combine(_dir, "audit"), ChainId = "gw", SigningKeyPath = pipe };
        }));
        // A bound on a failure only: a start that reads the key again waits on the pipe for ever.
        if (await Task.WhenAny(start, Task.Delay(TimeSpan.FromMinutes(2))) != start)
        {
            // Release the second read with nothing: the start fails, and the test says why.
            using (new FileStream(pipe, FileMode.Open, FileAccess.Write)) { }
            await Assert.ThrowsAnyAsync<Exception>(() => start);
            Assert.Fail("the start read the audit signing key file a second time");
        }
        await writer;
        await using GatewayUnderTest gateway = await start;

        AuditLog log = gateway.Stages.Audit!.Log;
        Assert.True(log.IsWritable);
        using AuditPublicKey expected = AuditPublicKey.FromPemFile(publicKey);
        string checkpoint = File.ReadAllText(Path.Combine(log.ChainDirectory, FastMcp.Audit.Format.SegmentNames.CheckpointName));
        Assert.Contains("key: " + expected.KeyId, checkpoint);
    }
}
