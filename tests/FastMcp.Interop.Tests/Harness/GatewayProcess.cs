using System.Text.RegularExpressions;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>
/// The gateway under test, started as `fastmcp serve` in front of an upstream MCP URL. Which
/// binary runs is decided by <see cref="Locate"/>: FASTMCP_BIN (the published native binary in
/// CI) or else the JIT build next to this repository's sources.
/// </summary>
internal sealed partial class GatewayProcess : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly ChildProcess _process;
    private readonly string _workDirectory;

    private GatewayProcess(ChildProcess process, string workDirectory, Uri mcpUrl, Uri adminUrl)
    {
        _process = process;
        _workDirectory = workDirectory;
        McpUrl = mcpUrl;
        AdminUrl = adminUrl;
    }

    /// <summary>The client-facing MCP endpoint, as the gateway printed it.</summary>
    public Uri McpUrl { get; }

    /// <summary>The admin listener root (serves /healthz and /readyz).</summary>
    public Uri AdminUrl { get; }

    public ChildProcess Process => _process;

    public string Transcript => _process.Transcript;

    [GeneratedRegex(@"^fastmcp listening on (https?://127\.0\.0\.1:\d+/mcp)\s*$")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"^fastmcp admin on (http://127\.0\.0\.1:\d+)/?\s*$")]
    private static partial Regex AdminLine();

    /// <summary>The command that runs the gateway: (file, leading arguments, description).</summary>
    public static (string File, string[] Prefix, string Description) Locate()
    {
        if (Environment.GetEnvironmentVariable("FASTMCP_BIN") is { Length: > 0 } bin)
        {
            var path = Path.IsPathRooted(bin) ? bin : Path.GetFullPath(Path.Combine(RepoPaths.Root, bin));
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"FASTMCP_BIN points at {path}, which does not exist", path);
            }
            return (path, [], $"FASTMCP_BIN={path}");
        }
        // Prefer the configuration these tests were built in, then the other one.
#if DEBUG
        string[] configurations = ["Debug", "Release"];
#else
        string[] configurations = ["Release", "Debug"];
#endif
        foreach (var configuration in configurations)
        {
            var dll = Path.Combine(RepoPaths.Root, "src", "FastMcp.Gateway", "bin", configuration, "net10.0", "fastmcp.dll");
            if (File.Exists(dll))
            {
                return ("dotnet", [dll], $"dotnet {dll}");
            }
        }
        throw new FileNotFoundException(
            "no gateway to test: set FASTMCP_BIN or build src/FastMcp.Gateway (dotnet build)");
    }

    public static Task<GatewayProcess> StartAsync(Uri upstream, params string[] extraArguments) =>
        StartAsync(upstream, environment: null, extraArguments);

    /// <summary>As <see cref="StartAsync(Uri, string[])"/>, with variables added to the gateway's environment.</summary>
    public static async Task<GatewayProcess> StartAsync(Uri upstream, IReadOnlyDictionary<string, string>? environment, params string[] extraArguments)
    {
        var (file, prefix, _) = Locate();
        var workDirectory = Directory.CreateTempSubdirectory("fastmcp-interop-").FullName;
        string[] arguments =
        [
            .. prefix,
            "serve",
            "--upstream", upstream.ToString(),
            "--listen", "127.0.0.1:0",
            "--admin", "127.0.0.1:0",
            "--anonymous",
            .. extraArguments,
        ];
        // The gateway writes whatever state it keeps (audit segments, keys) under its own
        // working directory, which is private to this instance and removed on Dispose.
        var process = ChildProcess.Start(file, arguments, workingDirectory: workDirectory, environment: environment);
        try
        {
            var listening = await process.WaitForStdoutLineAsync(ListeningLine(), StartTimeout);
            var admin = await process.WaitForStdoutLineAsync(AdminLine(), StartTimeout);
            return new GatewayProcess(
                process, workDirectory, new Uri(listening.Groups[1].Value), new Uri(admin.Groups[1].Value));
        }
        catch
        {
            process.Dispose();
            TryDeleteDirectory(workDirectory);
            throw;
        }
    }

    public void SendSigterm() => _process.Signal(PosixSignal.SigTerm);

    public Task<int> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    public void Dispose()
    {
        _process.Dispose();
        TryDeleteDirectory(_workDirectory);
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a dying child: the OS temp cleaner will get it.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
