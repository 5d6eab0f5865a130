using System.Text.RegularExpressions;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>
/// tests/node/conformance/conformance-server.mjs under Node 22: an MCP server built on the official TypeScript
/// SDK with the tools, prompts, resources, template and completion the conformance suite's server scenarios
/// expect. It binds 127.0.0.1 on a port it picks itself and prints the URL, so there is no port race.
/// </summary>
internal sealed partial class ConformanceServer : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly ChildProcess _process;

    private ConformanceServer(ChildProcess process, Uri mcpUrl)
    {
        _process = process;
        McpUrl = mcpUrl;
    }

    public Uri McpUrl { get; }

    public string Transcript => _process.Transcript;

    [GeneratedRegex(@"^conformance-server listening on (?<url>http://127\.0\.0\.1:\d+/mcp)$")]
    private static partial Regex ReadyLine();

    public static async Task<ConformanceServer> StartAsync()
    {
        RequireFile(RepoPaths.Node22Executable);
        RequireFile(RepoPaths.ConformanceServerScript);
        var process = ChildProcess.Start(
            RepoPaths.Node22Executable, [RepoPaths.ConformanceServerScript, "--port", "0"], workingDirectory: RepoPaths.NodeDirectory);
        try
        {
            Match ready = await process.WaitForStdoutLineAsync(ReadyLine(), StartTimeout);
            return new ConformanceServer(process, new Uri(ready.Groups["url"].Value));
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    private static void RequireFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} is missing: run `npm ci` in {RepoPaths.NodeDirectory} (tests/run.sh does).");
        }
    }

    public void Dispose() => _process.Dispose();
}
