using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using FastMcp.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace FastMcp.Interop.Tests;

/// <summary>
/// Resource update notifications decided by the policy in force, end to end: the official TypeScript SDK client subscribes
/// to a resource of server-everything (over stdio, through the gateway's bridge) and turns its simulated updates on; the
/// updates reach it while subscribing is allowed; after a reload that denies subscribing, the server goes on sending them
/// (the gateway counts each one it withholds) and none reaches the client.
/// </summary>
[Collection(InteropCollection.Name)]
[Trait("Category", "E2E")]
public sealed class ResourceUpdateInteropTests(ITestOutputHelper output)
{
    private static string Config(string subscribeAction) => $$"""
        {
          "listen": ["127.0.0.1:0"],
          "admin": { "listen": "127.0.0.1:0" },
          "upstream": { "stdio": {
            "command": {{JsonSerializer.Serialize(RepoPaths.NodeExecutable)}}, "args": {{JsonSerializer.Serialize(new[] { RepoPaths.ServerEverythingEntry, "stdio" })}},
            "workingDirectory": {{JsonSerializer.Serialize(RepoPaths.NodeDirectory)}}, "stopGraceMs": 2000 } },
          "identity": { "mode": "anonymous" },
          "audit": { "directory": "audit" },
          "policy": { "rules": [
            { "name": "subscriptions", "action": "{{subscribeAction}}", "methods": ["resources/subscribe"] },
            { "name": "everything-else", "action": "allow" }
          ] }
        }
        """;

    private static async Task<double> MetricAsync(GatewayProcess gateway, string series)
    {
        RawExchange response = await McpWire.ExchangeAsync(new Uri(gateway.AdminUrl, "/metrics"), "GET", [], null);
        Assert.Equal(200, response.Status);
        foreach (string line in response.Body.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal)) return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
        }
        return 0;
    }

    /// <summary>Polls a metric until it reaches <paramref name="atLeast"/>: at most 600 polls, 100 ms apart.</summary>
    private static async Task<bool> MetricReachesAsync(GatewayProcess gateway, string series, double atLeast)
    {
        for (int i = 0; i < 600; i++)
        {
            if (await MetricAsync(gateway, series) >= atLeast) return true;
            await Task.Delay(100);
        }
        return false;
    }

    [Fact]
    public async Task Updates_of_a_subscription_stop_reaching_the_ts_sdk_client_once_a_reload_denies_subscribing()
    {
        RepoPaths.RequireNodePeers();
        using GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(Config("allow"));
        output.WriteLine($"gateway at {gateway.McpUrl}, dir {gateway.WorkDirectory}");
        string go = Path.Combine(gateway.WorkDirectory, "go"), stop = Path.Combine(gateway.WorkDirectory, "stop");
        using ChildProcess client = ChildProcess.Start(RepoPaths.NodeExecutable,
            [Path.Combine(RepoPaths.NodeDirectory, "interop", "resource-updates-client.mjs"), "--url", gateway.McpUrl.ToString(), "--go-file", go, "--stop-file", stop],
            workingDirectory: RepoPaths.NodeDirectory);
        await client.WaitForStdoutLineAsync(new Regex("^first-update$"), TimeSpan.FromSeconds(60));
        double deniedBefore = await MetricAsync(gateway, "fastmcp_policy_denied_total");

        // The operator denies subscribing and reloads (SIGHUP): the subscription made before stays at the server.
        await File.WriteAllTextAsync(Path.Combine(gateway.WorkDirectory, "config.json"), Config("deny"));
        gateway.Process.Signal(SigHup);
        Assert.True(await MetricReachesAsync(gateway, "fastmcp_config_reloads_total{result=\"applied\"}", 1), gateway.Transcript);
        await File.WriteAllTextAsync(go, "");
        await client.WaitForStdoutLineAsync(new Regex("^reloaded$"), TimeSpan.FromSeconds(30));

        // The server keeps sending its updates (every 5 s): the gateway withholds them, and the client sees none.
        Assert.True(await MetricReachesAsync(gateway, "fastmcp_policy_denied_total", deniedBefore + 2), $"{client.Transcript}\n{gateway.Transcript}");
        await File.WriteAllTextAsync(stop, "");
        Match after = await client.WaitForStdoutLineAsync(new Regex(@"^after-count (\d+)$"), TimeSpan.FromSeconds(30));
        Assert.True(after.Groups[1].Value == "0", client.Transcript);
        Assert.Equal(0, await client.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    private const int SigHup = 1;
}
