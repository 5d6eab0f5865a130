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
        // completion/complete goes to the member the prompt's prefix names, with the name un-prefixed.
        Assert.Equal("Engineering", (string?)run["completions"]!["one"]!["values"]![0]);
        Assert.Equal("Engineering", (string?)run["completions"]!["two"]!["values"]![0]);
        Assert.True((int?)run["resourceCount"] > 0);
        Assert.True((bool?)run["read"]!["sameUri"], run.ToJsonString());
        Assert.Equal(-32602, (int?)run["unlistedRead"]!["error"]!["code"]);
        Assert.True((bool?)run["terminated"]);
    }

    [Fact]
    [Trait("Category", "E2E")]
    public async Task With_one_server_down_the_list_degrades_to_the_other_and_the_call_to_it_fails_clearly()
    {
        var down = new Uri($"http://127.0.0.1:{UnusedPort.Pick()}/mcp");
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
        // It answers sampling requests, so each server's trigger-sampling-request asks it something through the gateway.
        var asked = new System.Collections.Concurrent.ConcurrentBag<string>();
        // Sampling is deprecated from protocol 2026-07-28 on; these servers negotiate 2025-11-25, where it is current.
#pragma warning disable MCP9005
        var options = new McpClientOptions
        {
            ClientInfo = new Implementation { Name = "fastmcp-federation-cs", Version = "1.0.0" },
            Handlers = new McpClientHandlers
            {
                SamplingHandler = (request, _, _) =>
                {
                    string prompt = request!.Messages[0].Content.OfType<TextContentBlock>().First().Text;
                    asked.Add(prompt);
                    return ValueTask.FromResult(new CreateMessageResult
                    {
                        Model = "cs-test",
                        Role = Role.Assistant,
                        Content = [new TextContentBlock { Text = $"cs sampled <{prompt}>" }],
                    });
                },
            },
        };
#pragma warning restore MCP9005
        await using McpClient client = await McpClient.CreateAsync(transport, options, cancellationToken: cts.Token);
        IList<McpClientTool> listed = await client.ListToolsAsync(cancellationToken: cts.Token);
        Assert.Contains(listed, t => t.Name == "one__echo");
        Assert.Contains(listed, t => t.Name == "two__echo");
        foreach (string prefix in new[] { "one", "two" })
        {
            CallToolResult result = await client.CallToolAsync($"{prefix}__echo",
                new Dictionary<string, object?> { ["message"] = $"from C# to {prefix}" }, cancellationToken: cts.Token);
            Assert.Equal($"Echo: from C# to {prefix}", Assert.IsType<TextContentBlock>(result.Content[0]).Text);
            CallToolResult sampled = await client.CallToolAsync($"{prefix}__trigger-sampling-request",
                new Dictionary<string, object?> { ["prompt"] = $"C# asks {prefix}", ["maxTokens"] = 10 }, cancellationToken: cts.Token);
            Assert.Contains($"cs sampled <Resource trigger-sampling-request context: C# asks {prefix}>", Assert.IsType<TextContentBlock>(sampled.Content[0]).Text,
                StringComparison.Ordinal);
        }
        Assert.Equal(2, asked.Count);

        // The stdio member's calls are audited under both names: the prefixed one the client used and the upstream.
        gateway.SendSigterm();
        Assert.Equal(0, await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var (exit, audit, stderr) = await GatewayProcess.RunToolAsync(gateway.WorkDirectory, null, "replay", Path.Combine(gateway.WorkDirectory, "audit"), "--format", "jsonl");
        Assert.True(exit == 0, stderr);
        Assert.Contains(audit.Split('\n', StringSplitOptions.RemoveEmptyEntries), line =>
            line.Contains("\"two__echo\"", StringComparison.Ordinal) && line.Contains("stdio:", StringComparison.Ordinal));
    }

    [Fact]
    [Trait("Category", "E2E")]
    public async Task Sampling_elicitation_and_roots_requests_of_both_servers_reach_the_typescript_client_and_each_answer_reaches_the_server_that_asked()
    {
        using ServerEverything second = await ServerEverything.StartAsync();
        using GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(Config(fixture.Upstream.McpUrl, second.McpUrl));
        RepoPaths.RequireNodePeers();
        string script = Path.Combine(RepoPaths.NodeDirectory, "interop", "federation-server-requests.mjs");
        using var process = ChildProcess.Start(RepoPaths.NodeExecutable,
            [script, "--url", new Uri(gateway.McpUrl, "/mcp/all").ToString(), "--prefixes", "one,two", "--timeout-ms", "30000"], workingDirectory: RepoPaths.NodeDirectory);
        int exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(120));
        output.WriteLine(process.Transcript);
        Assert.True(exit == 0, process.Transcript);
        JsonObject run = JsonNode.Parse(process.StandardOutput)!.AsObject();

        // Both servers asked at once (each numbers its own requests from the same start); the client saw two distinct
        // ids of the gateway's, and each server got back the answer to its own question.
        string[] ids = [.. run["samplingRequests"]!.AsArray().Select(r => r!["id"]!.ToJsonString())];
        Assert.Equal(2, ids.Length);
        Assert.NotEqual(ids[0], ids[1]);
        Assert.All(ids, id => Assert.StartsWith("\"fastmcp-fed-", id, StringComparison.Ordinal));
        Assert.Contains("sampled<Resource trigger-sampling-request context: question for one>", (string?)run["sampling"]!["one"]!["text"], StringComparison.Ordinal);
        Assert.Contains("sampled<Resource trigger-sampling-request context: question for two>", (string?)run["sampling"]!["two"]!["text"], StringComparison.Ordinal);

        // Elicitation rides the call's stream; the roots request comes on the session's GET stream, which the gateway
        // merges from both servers (each asks for roots once the stream is there and logs that it got them).
        Assert.Equal(1, (int?)run["elicitationRequests"]);
        Assert.Contains("Name: Federated Tester", (string?)run["elicitation"]!["text"], StringComparison.Ordinal);
        Assert.Contains("federated-root", (string?)run["roots"]!["text"], StringComparison.Ordinal);
        Assert.True((int?)run["rootsRequests"] >= 1, run.ToJsonString());
        Assert.Contains(run["logs"]!.AsArray(), l => ((string?)l)!.Contains("Roots updated", StringComparison.Ordinal));
    }

    // Two stdio servers (tests/node/stdio/stdio-server.mjs), each started per session by the gateway.
    private static string TwoStdioConfig()
    {
        string stdio = $$"""{ "stdio": { "command": {{JsonSerializer.Serialize(RepoPaths.NodeExecutable)}}, "args": [{{JsonSerializer.Serialize(Path.Combine(RepoPaths.NodeDirectory, "stdio", "stdio-server.mjs"))}}], "stopGraceMs": 2000 } }""";
        return $$"""
            {
              "listen": ["127.0.0.1:0"],
              "admin": { "listen": "127.0.0.1:0" },
              "upstream": {{stdio}},
              "upstreams": { "one": {{stdio}}, "two": {{stdio}} },
              "routes": [ { "path": "/mcp/all", "federate": ["one", "two"] } ],
              "identity": { "mode": "anonymous" },
              "audit": { "directory": "audit" },
              "policy": { "rules": [ { "name": "all", "action": "allow" } ] }
            }
            """;
    }

    private static async Task<(RawHttpConnection Connection, SseReader Events, JsonObject Request)> CallThatAsksAsync(Uri url, string session, int id, string tool, CancellationToken cancel)
    {
        RawHttpConnection call = await RawHttpConnection.ConnectAsync(url, cancel);
        await call.SendAsync("POST", url.PathAndQuery, McpWire.Headers(session), McpWire.ToolCallBody(id, tool, "{}"), cancel);
        RawHttpResponseHead head = await call.ReadResponseHeadAsync(cancel);
        Assert.Equal(200, head.Status);
        Assert.True(head.IsEventStream, head.Header("Content-Type"));
        var events = new SseReader(call.OpenBody(head, "POST"));
        JsonObject request = JsonNode.Parse((await events.ReadEventAsync(cancel))!.Data)!.AsObject();
        Assert.Equal("sampling/createMessage", (string?)request["method"]);
        return (call, events, request);
    }

    private static string SamplingAnswer(JsonNode id, string text) =>
        $$$"""{"jsonrpc":"2.0","id":{{{id.ToJsonString()}}},"result":{"role":"assistant","content":{"type":"text","text":"{{{text}}}"},"model":"test","stopReason":"endTurn"}}""";

    [Fact]
    [Trait("Category", "E2E")]
    public async Task Server_requests_with_the_same_id_from_two_servers_are_kept_apart_and_the_get_stream_merges_both_servers_notifications()
    {
        RepoPaths.RequireNodePeers();
        using GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(TwoStdioConfig());
        var url = new Uri(gateway.McpUrl, "/mcp/all");
        const string initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{}},"clientInfo":{"name":"raw","version":"1"}}}""";
        RawExchange init = await McpWire.PostAsync(url, null, initialize);
        Assert.Equal(200, init.Status);
        string session = init.Head.Header("Mcp-Session-Id")!;
        Assert.Equal(202, (await McpWire.PostAsync(url, session, McpWire.InitializedNotification)).Status);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        // The session's GET stream: the gateway opens each server's and merges them.
        await using RawHttpConnection get = await RawHttpConnection.ConnectAsync(url, cts.Token);
        await get.SendAsync("GET", url.PathAndQuery, [new("Accept", "text/event-stream"), new("Mcp-Session-Id", session),
            new("MCP-Protocol-Version", McpWire.ProtocolVersion)], null, cts.Token);
        RawHttpResponseHead getHead = await get.ReadResponseHeadAsync(cts.Token);
        Assert.Equal(200, getHead.Status);
        Assert.True(getHead.IsEventStream, getHead.Header("Content-Type"));
        using var stream = new SseReader(get.OpenBody(getHead, "GET"));

        // Both servers ask their first question (each numbers it 0); the client sees two different ids.
        var (oneCall, oneEvents, oneRequest) = await CallThatAsksAsync(url, session, 2, "one__ask", cts.Token);
        var (twoCall, twoEvents, twoRequest) = await CallThatAsksAsync(url, session, 3, "two__ask", cts.Token);
        await using (oneCall)
        await using (twoCall)
        using (oneEvents)
        using (twoEvents)
        {
            Assert.NotEqual(oneRequest["id"]!.ToJsonString(), twoRequest["id"]!.ToJsonString());

            // An answer to an id the gateway never gave is refused, not sent to a guessed server.
            RawExchange unknown = await McpWire.PostAsync(url, session, SamplingAnswer(JsonValue.Create("fastmcp-fed-999")!, "nobody asked"));
            Assert.Equal(400, unknown.Status);
            Assert.Contains("no server request with this id is pending", unknown.Body, StringComparison.Ordinal);

            // Answered in the opposite order, each answer reaches the server that asked.
            Assert.Equal(202, (await McpWire.PostAsync(url, session, SamplingAnswer(twoRequest["id"]!, "hi two"))).Status);
            Assert.Equal(202, (await McpWire.PostAsync(url, session, SamplingAnswer(oneRequest["id"]!, "hi one"))).Status);
            JsonObject twoResult = JsonNode.Parse((await twoEvents.ReadEventAsync(cts.Token))!.Data)!.AsObject();
            JsonObject oneResult = JsonNode.Parse((await oneEvents.ReadEventAsync(cts.Token))!.Data)!.AsObject();
            Assert.Equal(3, (int?)twoResult["id"]);
            Assert.Equal("client said: hi two", (string?)twoResult["result"]?["content"]?[0]?["text"]);
            Assert.Equal(2, (int?)oneResult["id"]);
            Assert.Equal("client said: hi one", (string?)oneResult["result"]?["content"]?[0]?["text"]);

            // Each id is answered once.
            RawExchange again = await McpWire.PostAsync(url, session, SamplingAnswer(oneRequest["id"]!, "hi again"));
            Assert.Equal(400, again.Status);
        }

        // A server's list_changed (sent when no call is in flight) arrives on the merged GET stream.
        RawExchange notify = await McpWire.PostAsync(url, session, McpWire.ToolCallBody(4, "two__notify_later", "{}"));
        Assert.Equal("will notify", (string?)notify.Messages()[^1]["result"]?["content"]?[0]?["text"]);
        SseEvent? e;
        do e = await stream.ReadEventAsync(cts.Token); while (e is not null && e.Data.Length == 0);
        Assert.NotNull(e);
        Assert.Equal("notifications/tools/list_changed", (string?)JsonNode.Parse(e.Data)!["method"]);

        // Ending the session ends the servers' streams, and with them the client's.
        RawExchange deleted = await McpWire.ExchangeAsync(url, "DELETE", [new("Mcp-Session-Id", session), new("MCP-Protocol-Version", McpWire.ProtocolVersion)], null);
        Assert.Equal(200, deleted.Status);
        do e = await stream.ReadEventAsync(cts.Token); while (e is not null);
    }
}
