using System.Text.Json;
using System.Text.Json.Nodes;
using FastMcp.Interop.Tests.Harness;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit.Abstractions;

namespace FastMcp.Interop.Tests;

/// <summary>
/// Two real server-everything processes behind one federated gateway path, driven by the official TypeScript SDK
/// client (tests/node/interop/federation-client.mjs): it sees one session, both servers' tools under their prefixes,
/// and each call reaches its server; with one server down the list degrades to the other's and the call to it fails clearly.
/// </summary>
[Collection(InteropCollection.Name)]
public sealed class FederationInteropTests(InteropFixture fixture, ITestOutputHelper output)
{
    // The default route (/mcp, the harness waits for it) stays beside the federated path.
    private static string Config(Uri one, Uri two) => $$"""
        {
          "listen": ["127.0.0.1:0"],
          "admin": { "listen": "127.0.0.1:0" },
          "upstream": { "url": "{{one}}" },
          "upstreams": { "one": { "url": "{{one}}" }, "two": { "url": "{{two}}", "connectTimeoutMs": 1000 } },
          "routes": [ { "path": "/mcp/all", "federate": ["one", "two"] } ],
          "identity": { "mode": "anonymous" },
          "audit": { "directory": "audit" },
          "policy": { "rules": [ { "name": "all", "action": "allow" } ] }
        }
        """;

    private static async Task<JsonObject> RunClientAsync(Uri url, ITestOutputHelper output)
    {
        RepoPaths.RequireNodePeers();
        string script = Path.Combine(RepoPaths.NodeDirectory, "interop", "federation-client.mjs");
        using var process = ChildProcess.Start(RepoPaths.NodeExecutable, [script, "--url", url.ToString(), "--prefixes", "one,two", "--timeout-ms", "30000"],
            workingDirectory: RepoPaths.NodeDirectory);
        int exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(120));
        output.WriteLine(process.Transcript);
        Assert.True(exit == 0, process.Transcript);
        return JsonNode.Parse(process.StandardOutput)!.AsObject();
    }

    private static string[] Names(JsonObject run, string member) => [.. run[member]!.AsArray().Select(n => (string)n!)];

    [Fact]
    [Trait("Category", "E2E")]
    public async Task The_sdk_client_lists_both_servers_under_their_prefixes_and_calls_each()
    {
        using ServerEverything second = await ServerEverything.StartAsync();
        using GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(Config(fixture.Upstream.McpUrl, second.McpUrl));

        JsonObject run = await RunClientAsync(new Uri(gateway.McpUrl, "/mcp/all"), output);

        Assert.Equal("fastmcp-federation", (string?)run["serverName"]);
        Assert.True((bool?)run["hasSessionId"]);
        string[] tools = Names(run, "toolNames");
        Assert.Contains("one__echo", tools);
        Assert.Contains("two__echo", tools);
        Assert.All(tools, t => Assert.True(t.StartsWith("one__", StringComparison.Ordinal) || t.StartsWith("two__", StringComparison.Ordinal), t));
        Assert.Equal(tools.Count(t => t.StartsWith("one__", StringComparison.Ordinal)), tools.Count(t => t.StartsWith("two__", StringComparison.Ordinal)));
        Assert.Equal("Echo: hello from one", (string?)run["echoes"]!["one"]!["text"]);
        Assert.Equal("Echo: hello from two", (string?)run["echoes"]!["two"]!["text"]);
        Assert.Contains("one__simple-prompt", Names(run, "promptNames"));
        Assert.Contains("two__simple-prompt", Names(run, "promptNames"));
        Assert.True((int?)run["resourceCount"] > 0);
        Assert.True((bool?)run["read"]!["sameUri"], run.ToJsonString());
        Assert.Equal(-32602, (int?)run["unlistedRead"]!["error"]!["code"]);
        Assert.True((bool?)run["terminated"]);
    }

    [Fact]
    [Trait("Category", "E2E")]
    public async Task With_one_server_down_the_list_degrades_to_the_other_and_the_call_to_it_fails_clearly()
    {
        var down = new Uri($"http://127.0.0.1:{FreePort.Pick()}/mcp");
        using GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(Config(fixture.Upstream.McpUrl, down));

        JsonObject run = await RunClientAsync(new Uri(gateway.McpUrl, "/mcp/all"), output);

        string[] tools = Names(run, "toolNames");
        Assert.Contains("one__echo", tools);
        Assert.DoesNotContain(tools, t => t.StartsWith("two__", StringComparison.Ordinal));
        Assert.Equal("Echo: hello from one", (string?)run["echoes"]!["one"]!["text"]);
        JsonNode failed = run["echoes"]!["two"]!["error"]!;
        Assert.Equal(-32003, (int?)failed["code"]);
        Assert.Contains("upstream 'two' is not available", (string?)failed["message"]);
        using var http = new HttpClient();
        string ready = await http.GetStringAsync(new Uri(gateway.AdminUrl, "/readyz"));
        Assert.Contains("\"name\":\"two\"", ready);
    }

    // One member over HTTP, the other a stdio server the gateway runs itself (server-everything in its stdio mode).
    private static string HttpAndStdioConfig(Uri one) => $$"""
        {
          "listen": ["127.0.0.1:0"],
          "admin": { "listen": "127.0.0.1:0" },
          "upstream": { "url": "{{one}}" },
          "upstreams": {
            "one": { "url": "{{one}}" },
            "two": { "stdio": { "command": {{JsonSerializer.Serialize(RepoPaths.NodeExecutable)}}, "args": [{{JsonSerializer.Serialize(RepoPaths.ServerEverythingEntry)}}, "stdio"] } }
          },
          "routes": [ { "path": "/mcp/all", "federate": ["one", "two"] } ],
          "identity": { "mode": "anonymous" },
          "audit": { "directory": "audit" },
          "policy": { "rules": [ { "name": "all", "action": "allow" } ] }
        }
        """;

    [Fact]
    [Trait("Category", "E2E")]
    public async Task An_http_server_and_a_stdio_server_behind_one_path_serve_the_typescript_and_the_csharp_sdk_clients()
    {
        using GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(HttpAndStdioConfig(fixture.Upstream.McpUrl));
        var federated = new Uri(gateway.McpUrl, "/mcp/all");

        // The official TypeScript SDK client.
        JsonObject run = await RunClientAsync(federated, output);
        string[] tools = Names(run, "toolNames");
        Assert.Contains("one__echo", tools);
        Assert.Contains("two__echo", tools);
        Assert.Equal("Echo: hello from one", (string?)run["echoes"]!["one"]!["text"]);
        Assert.Equal("Echo: hello from two", (string?)run["echoes"]!["two"]!["text"]);
        Assert.True((bool?)run["terminated"]);

        // The official C# SDK client, on its own session.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var http = new HttpClient();
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions { Endpoint = federated, TransportMode = HttpTransportMode.StreamableHttp, Name = "federation-cs" },
            http, loggerFactory: null, ownsHttpClient: false);
        await using McpClient client = await McpClient.CreateAsync(transport,
            new McpClientOptions { ClientInfo = new Implementation { Name = "fastmcp-federation-cs", Version = "1.0.0" } }, cancellationToken: cts.Token);
        IList<McpClientTool> listed = await client.ListToolsAsync(cancellationToken: cts.Token);
        Assert.Contains(listed, t => t.Name == "one__echo");
        Assert.Contains(listed, t => t.Name == "two__echo");
        foreach (string prefix in new[] { "one", "two" })
        {
            CallToolResult result = await client.CallToolAsync($"{prefix}__echo",
                new Dictionary<string, object?> { ["message"] = $"from C# to {prefix}" }, cancellationToken: cts.Token);
            Assert.Equal($"Echo: from C# to {prefix}", Assert.IsType<TextContentBlock>(result.Content[0]).Text);
        }

        // The stdio member's calls are audited under both names: the prefixed one the client used and the upstream.
        gateway.SendSigterm();
        Assert.Equal(0, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var (exit, audit, stderr) = await GatewayProcess.RunToolAsync(gateway.WorkDirectory, null, "replay", Path.Combine(gateway.WorkDirectory, "audit"), "--format", "jsonl");
        Assert.True(exit == 0, stderr);
        Assert.Contains(audit.Split('\n', StringSplitOptions.RemoveEmptyEntries), line =>
            line.Contains("\"two__echo\"", StringComparison.Ordinal) && line.Contains("stdio:", StringComparison.Ordinal));
    }
}
