using System.Diagnostics;
using System.Text.RegularExpressions;

namespace FastMcp.Audit.Tests;

/// <summary>
/// An s3rver (npm) on 127.0.0.1 with an ephemeral port and a temp data folder; killed on Dispose. Given a PEM
/// certificate and key it serves HTTPS with them (a store behind a private CA).
/// </summary>
public sealed partial class S3rverProcess : IDisposable
{
    public const string Bucket = "audit";
    public const string AccessKey = "S3RVER";
    private readonly Process _process;
    private readonly string _data = Path.Combine(Path.GetTempPath(), "fastmcp-s3rver-" + Guid.NewGuid().ToString("N"));

    public string Endpoint { get; }

    public static string? FindScript()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "FastMcp.sln"))) dir = dir.Parent;
        if (dir is null) return null;
        string script = Path.Combine(dir.FullName, "tests", "node", "node_modules", "s3rver", "bin", "s3rver.js");
        return File.Exists(script) ? script : null;
    }

    public S3rverProcess(string? certificateFile = null, string? keyFile = null)
    {
        string script = FindScript() ?? throw new InvalidOperationException("s3rver not installed (npm ci in tests/node)");
        Directory.CreateDirectory(_data);
        var psi = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { script, "-d", _data, "-a", "127.0.0.1", "-p", "0", "--silent", "--configure-bucket", Bucket }) psi.ArgumentList.Add(a);
        if (certificateFile is not null)
        {
            foreach (var a in new[] { "--cert", certificateFile, "--key", keyFile ?? throw new ArgumentNullException(nameof(keyFile)) }) psi.ArgumentList.Add(a);
        }
        _process = Process.Start(psi)!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var lineTask = _process.StandardOutput.ReadLineAsync();
                if (!lineTask.Wait(deadline - DateTime.UtcNow) || lineTask.Result is null)
                    throw new InvalidOperationException("s3rver did not start: " + _process.StandardError.ReadToEnd());
                var m = ListeningLine().Match(lineTask.Result);
                if (m.Success) { Endpoint = $"{(certificateFile is null ? "http" : "https")}://127.0.0.1:{m.Groups[1].Value}"; break; }
            }
            _process.StandardError.ReadToEndAsync();
            _process.StandardOutput.ReadToEndAsync();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public S3ShippingOptions Options(string prefix) => new()
    {
        Endpoint = Endpoint,
        Region = "us-east-1",
        Bucket = Bucket,
        Prefix = prefix,
        ForcePathStyle = true,
        AccessKeyId = AccessKey,
        SecretAccessKey = AccessKey,
    };

    [GeneratedRegex(@"listening on [^:]+:(\d+)")]
    private static partial Regex ListeningLine();

    public void Dispose()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); _process.WaitForExit(5000); } catch (InvalidOperationException) { }
        _process.Dispose();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Skips when the npm peers are not installed.</summary>
public sealed class S3rverFactAttribute : FactAttribute
{
    public S3rverFactAttribute()
    {
        if (S3rverProcess.FindScript() is null) Skip = "s3rver not installed; run npm ci in tests/node";
    }
}

/// <summary>Skips when the npm peers are not installed.</summary>
public sealed class S3rverTheoryAttribute : TheoryAttribute
{
    public S3rverTheoryAttribute()
    {
        if (S3rverProcess.FindScript() is null) Skip = "s3rver not installed; run npm ci in tests/node";
    }
}
