using System.Diagnostics;
using System.Reflection;

namespace FastMcp.Audit.Tests;

/// <summary>
/// fastmcp-verify is the auditor's offline tool: nothing it links may be a cloud SDK (object-store
/// access lives in FastMcp.Audit.S3, linked by the gateway), and given s3:// it says where to go.
/// </summary>
public sealed class OfflineVerifierTests
{
    [Fact]
    public void Fastmcp_verify_links_no_cloud_sdk()
    {
        var linked = new SortedSet<string>(StringComparer.Ordinal);
        var queue = new Queue<AssemblyName>();
        queue.Enqueue(Assembly.Load("fastmcp-verify").GetName());
        while (queue.Count > 0)
        {
            var name = queue.Dequeue();
            if (name.Name is null || IsPlatform(name.Name) || !linked.Add(name.Name)) continue;
            foreach (var reference in Assembly.Load(name).GetReferencedAssemblies()) queue.Enqueue(reference);
        }
        Assert.Contains("FastMcp.Audit", linked);
        Assert.DoesNotContain(linked, n => n.StartsWith("AWSSDK", StringComparison.OrdinalIgnoreCase) || n.Contains("Azure", StringComparison.OrdinalIgnoreCase) || n.StartsWith("Google", StringComparison.OrdinalIgnoreCase));
    }

    private static bool IsPlatform(string name) =>
        name.StartsWith("System", StringComparison.Ordinal) || name.StartsWith("Microsoft.", StringComparison.Ordinal) || name is "netstandard" or "mscorlib";

    /// <summary>The published native binary, when present: an s3:// location gets a clear pointer, exit 2.</summary>
    [NativeBinaryFact]
    public async Task The_native_fastmcp_verify_given_s3_points_to_fastmcp_verify_in_the_gateway_binary()
    {
        string binary = CliTests.FindNativeBinary()!;
        string key = Path.Combine(Path.GetTempPath(), "fastmcp-offline-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(key);
        try
        {
            AuditKeys.Generate(Path.Combine(key, "k.pem"), Path.Combine(key, "k.pub.pem"));
            var psi = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "s3://audit-bucket/fleet", "--key", Path.Combine(key, "k.pub.pem") }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            string stderr = await p.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await p.WaitForExitAsync(timeout.Token);
            await stdout;
            Assert.Equal(2, p.ExitCode);
            Assert.Contains("no object-store client", stderr, StringComparison.Ordinal);
            Assert.Contains("`fastmcp verify`", stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(key, recursive: true);
        }
    }
}
