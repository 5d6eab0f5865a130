using System.Text.Json;
using System.Text.Json.Nodes;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>The outcome of one run of tests/node/interop/ts-client.mjs.</summary>
internal sealed record TsClientRun(int ExitCode, JsonObject Result, string Transcript)
{
    public JsonNode Scenario(string name) =>
        Result["scenarios"]?[name] ?? throw new InvalidOperationException($"scenario {name} missing\n{Transcript}");
}

/// <summary>Runs the official TypeScript SDK client script against one MCP URL.</summary>
internal static class TsClientRunner
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(120);

    public static Task<TsClientRun> RunAsync(Uri url, params string[] scenarios) => RunAsync(url, null, scenarios);

    /// <summary>The same with extra environment variables for node (NODE_EXTRA_CA_CERTS for an https gateway).</summary>
    public static async Task<TsClientRun> RunAsync(Uri url, IReadOnlyDictionary<string, string>? environment, params string[] scenarios)
    {
        RepoPaths.RequireNodePeers();
        List<string> arguments = [RepoPaths.TsClientScript, "--url", url.ToString(), "--timeout-ms", "30000"];
        if (scenarios.Length > 0)
        {
            arguments.Add("--scenarios");
            arguments.Add(string.Join(',', scenarios));
        }
        using var process = ChildProcess.Start(
            RepoPaths.NodeExecutable, arguments, environment, workingDirectory: RepoPaths.NodeDirectory);
        var exitCode = await process.WaitForExitAsync(RunTimeout);
        JsonObject result;
        try
        {
            result = JsonNode.Parse(process.StandardOutput)?.AsObject()
                ?? throw new InvalidOperationException("ts-client printed null");
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"ts-client printed no JSON document (exit {exitCode})\n{process.Transcript}", e);
        }
        return new TsClientRun(exitCode, result, process.Transcript);
    }
}
