using System.Text.RegularExpressions;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>
/// The real gateway process with its audit folder on a 1 MiB tmpfs mounted in a private mount namespace
/// (unshare). When the gateway stops (and has sealed), the script copies the log out to
/// <c>copyOut/audit</c> before the namespace and its tmpfs disappear, and prints "copied out".
/// </summary>
internal sealed partial class TmpfsGateway : IDisposable
{
    private TmpfsGateway(ChildProcess process, Uri mcp, Uri readyz, string tmpfs)
    {
        Process = process;
        Mcp = mcp;
        Readyz = readyz;
        Tmpfs = tmpfs;
    }

    public ChildProcess Process { get; }
    public Uri Mcp { get; }
    public Uri Readyz { get; }

    /// <summary>The tmpfs as the gateway sees it, reachable from the test through the gateway's root.</summary>
    public string Tmpfs { get; }

    [GeneratedRegex(@"^fastmcp listening on (http://127\.0\.0\.1:\d+/mcp)\s*$")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"^fastmcp admin on (http://127\.0\.0\.1:\d+)\s*$")]
    private static partial Regex AdminLine();

    // As root a plain mount namespace will do; otherwise a user namespace maps us to root inside.
    internal static string[] UnshareFlags() => Environment.UserName == "root" ? ["-m"] : ["-r", "-m"];

    /// <summary>Starts `fastmcp serve --anonymous` (plus <paramref name="serveArgs"/>) against <paramref name="upstream"/>.</summary>
    public static async Task<TmpfsGateway> StartAsync(string mountPoint, Uri upstream, string copyOut, params string[] serveArgs)
    {
        var (bin, prefix, _) = GatewayProcess.Locate();
        string gatewayCommand = string.Join(' ', [.. Array.ConvertAll([bin, .. prefix], Quote)]);
        string extra = string.Join(' ', Array.ConvertAll(serveArgs, Quote));
        string script = $"""
            mount -t tmpfs -o size=1m tmpfs "$0" || exit 90
            {gatewayCommand} serve {extra} --anonymous --upstream "$1" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --audit-dir "$0/audit" &
            gw=$!
            echo "gateway pid $gw"
            trap 'kill -TERM $gw' TERM
            wait $gw; wait $gw; rc=$?
            cp -a "$0/audit" "$2/" && echo "copied out"
            exit $rc
            """;
        var process = ChildProcess.Start("unshare", [.. UnshareFlags(), "sh", "-c", script, mountPoint, upstream.ToString().TrimEnd('/'), copyOut],
            workingDirectory: copyOut);
        try
        {
            var mcp = new Uri((await process.WaitForStdoutLineAsync(ListeningLine(), TimeSpan.FromSeconds(60))).Groups[1].Value);
            var readyz = new Uri((await process.WaitForStdoutLineAsync(AdminLine(), TimeSpan.FromSeconds(30))).Groups[1].Value + "/readyz");
            Match pid = Regex.Match(process.StandardOutput, @"gateway pid (\d+)");
            Assert.True(pid.Success, process.Transcript);
            return new TmpfsGateway(process, mcp, readyz, $"/proc/{pid.Groups[1].Value}/root{mountPoint}");
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>Stops the gateway (SIGTERM) and waits until the script has copied the log out.</summary>
    public async Task StopAndCopyOutAsync()
    {
        PosixSignal.Send(Process.Id, PosixSignal.SigTerm);
        Assert.Equal(0, await Process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("copied out", Process.StandardOutput);
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    public void Dispose() => Process.Dispose();
}
