using System.Text.Json.Nodes;
using FastMcp.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace FastMcp.Interop.Tests;

/// <summary>
/// MCP tasks end to end (docs/mcp-handling.md, "Tasks"): the official TypeScript SDK client runs server-everything's
/// task tool (simulate-research-query) through the gateway with a dev-mode identity. The owner's whole task flow works
/// (created, followed to its result, polled, listed); another caller naming that task is answered as for an unknown
/// task and does not see it listed.
/// </summary>
[Collection(InteropCollection.Name)]
[Trait("Category", "E2E")]
public sealed class TaskInteropTests(InteropFixture fixture, ITestOutputHelper output)
{
    private static string Config(Uri upstream) => $$"""
        {
          "listen": ["127.0.0.1:0"],
          "admin": { "listen": "127.0.0.1:0" },
          "upstream": { "url": "{{upstream}}" },
          "identity": { "mode": "dev", "devKeyDirectory": "keys", "resource": "http://127.0.0.1/mcp" },
          "audit": { "directory": "audit" },
          "policy": { "rules": [ { "name": "everything", "action": "allow" } ] }
        }
        """;

    private static async Task<string> TokenFileAsync(GatewayProcess gateway, string who)
    {
        var (exit, stdout, stderr) = await GatewayProcess.RunToolAsync(gateway.WorkDirectory, null,
            "token", "--key-dir", Path.Combine(gateway.WorkDirectory, "keys"), "--sub", who, "--ttl", "1h");
        Assert.True(exit == 0, stderr);
        string path = Path.Combine(gateway.WorkDirectory, $"{who}.token");
        await File.WriteAllTextAsync(path, stdout.Trim());
        return path;
    }

    private static async Task<JsonObject> RunAsync(GatewayProcess gateway, string tokenFile, params string[] mode)
    {
        RepoPaths.RequireNodePeers();
        using var process = ChildProcess.Start(RepoPaths.NodeExecutable,
            [Path.Combine(RepoPaths.NodeDirectory, "interop", "task-call.mjs"), "--url", gateway.McpUrl.ToString(), "--token-file", tokenFile,
             .. mode, "--timeout-ms", "60000"],
            workingDirectory: RepoPaths.NodeDirectory);
        int exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(90));
        Assert.True(exit == 0, $"{process.Transcript}\n{gateway.Transcript}");
        return JsonNode.Parse(process.StandardOutput)!.AsObject();
    }

    [Fact]
    public async Task The_owners_task_flow_works_and_another_caller_cannot_reach_the_task()
    {
        using var gateway = await GatewayProcess.StartWithConfigAsync(Config(fixture.Upstream.McpUrl));
        output.WriteLine($"gateway {gateway.McpUrl}, dir {gateway.WorkDirectory}");
        string alice = await TokenFileAsync(gateway, "alice"), bob = await TokenFileAsync(gateway, "bob");

        JsonObject owner = await RunAsync(gateway, alice, "--tool", "simulate-research-query", "--arguments", """{"topic":"tasks behind a gateway"}""");
        output.WriteLine(owner.ToJsonString());
        Assert.True((bool?)owner["ok"], owner.ToJsonString());
        string taskId = (string?)owner["taskId"] ?? throw new Xunit.Sdk.XunitException($"no task created: {owner.ToJsonString()}");
        Assert.Contains("tasks behind a gateway", owner["content"]![0]!["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("completed", (string?)owner["polled"]);
        Assert.True((bool?)owner["listed"]);

        JsonObject other = await RunAsync(gateway, bob, "--foreign-task-id", taskId);
        output.WriteLine(other.ToJsonString());
        Assert.Equal(-32602, (int?)other["get"]!["code"]);
        Assert.Equal(-32602, (int?)other["result"]!["code"]);
        Assert.Equal(-32602, (int?)other["cancel"]!["code"]);
        Assert.DoesNotContain(taskId, other["listed"]!.AsArray().Select(t => (string?)t));
    }
}
