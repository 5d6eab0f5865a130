using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FastMcp.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace FastMcp.Interop.Tests;

/// <summary>
/// upstream.stdio: the gateway runs a stdio MCP server (one process per session) and every stage
/// (policy, masking, audit) applies to it as to an http upstream. Real servers: server-everything in
/// stdio mode, and tests/node/stdio/stdio-server.mjs on the SDK's StdioServerTransport.
/// </summary>
[Collection(InteropCollection.Name)]
[Trait("Category", "E2E")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class StdioUpstreamTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private static string TestServer => Path.Combine(RepoPaths.NodeDirectory, "stdio", "stdio-server.mjs");

    private static string Config(string script, string extraStdio = "", params string[] scriptArgs)
    {
        string args = JsonSerializer.Serialize(new[] { script }.Concat(scriptArgs).ToArray());
        return $$"""
            {
              "listen": ["127.0.0.1:0"],
              "admin": { "listen": "127.0.0.1:0" },
              "upstream": { "stdio": {
                "command": {{JsonSerializer.Serialize(RepoPaths.NodeExecutable)}}, "args": {{args}},
                "env": { "STDIO_TEST": "yes" }, "workingDirectory": {{JsonSerializer.Serialize(RepoPaths.NodeDirectory)}},
                "stopGraceMs": 2000 {{extraStdio}} } },
              "identity": { "mode": "anonymous" },
              "audit": { "directory": "audit" },
              "policy": { "rules": [
                { "name": "no-forbidden", "action": "deny", "methods": ["tools/call"], "names": ["forbidden"] },
                { "name": "everything-else", "action": "allow" }
              ] }
            }
            """;
    }

    private async Task<GatewayProcess> StartAsync(string config)
    {
        RepoPaths.RequireNodePeers();
        GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(config);
        output.WriteLine($"gateway {GatewayProcess.Locate().Description} at {gateway.McpUrl}, dir {gateway.WorkDirectory}");
        return gateway;
    }

    private static string Text(RawExchange exchange) =>
        (string?)exchange.Messages()[^1]["result"]?["content"]?[0]?["text"] ?? throw new InvalidOperationException($"no text result: {exchange.Status} {exchange.Body}");

    private static async Task<int> ServerPidAsync(Uri mcp, string session, int id)
    {
        RawExchange whoami = await McpWire.PostAsync(mcp, session, McpWire.ToolCallBody(id, "whoami", "{}"));
        Assert.Equal(200, whoami.Status);
        return (int)JsonNode.Parse(Text(whoami))!["pid"]!;
    }

    private static bool ProcessGone(int pid) => !Directory.Exists($"/proc/{pid}");

    private static async Task AssertGoneAsync(int pid, string transcript)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!ProcessGone(pid) && clock.Elapsed < Patience) await Task.Delay(50);
        Assert.True(ProcessGone(pid), $"stdio server pid {pid} still running\n{transcript}");
    }

    [GeneratedRegex(@"bridged at (http://127\.0\.0\.1:\d+/mcp)")]
    private static partial Regex BridgeLine();

    [Fact]
    public async Task Ts_sdk_client_runs_server_everything_over_stdio_through_the_gateway()
    {
        using GatewayProcess gateway = await StartAsync(Config(RepoPaths.ServerEverythingEntry, "", "stdio"));

        TsClientRun run = await TsClientRunner.RunAsync(gateway.McpUrl, "initialize", "tools-list", "echo", "progress", "delete");

        Assert.True(run.ExitCode == 0, $"{run.Transcript}\n{gateway.Transcript}");
        Assert.Equal("mcp-servers/everything", (string?)run.Scenario("initialize")["serverName"]);
        Assert.True((bool?)run.Scenario("initialize")["hasSessionId"]);
        Assert.Contains("echo", run.Scenario("tools-list")["names"]!.AsArray().Select(n => (string?)n));
        Assert.Equal("Echo: interop echo: héllo, wörld", (string?)run.Scenario("echo")["content"]![0]!["text"]);
        // Progress notifications come before the answer: the bridge answered with an event stream.
        Assert.True((int?)run.Scenario("progress")["progressCount"] > 0, run.Scenario("progress").ToJsonString());
        Assert.True((bool?)run.Scenario("delete")["terminated"]);
        Assert.True((bool?)run.Scenario("delete")["afterDelete"]!["staleSession"]!["failed"]);
    }

    [Fact]
    public async Task Sdk_stdio_server_gets_policy_masking_audit_and_only_its_configured_environment()
    {
        using GatewayProcess gateway = await StartAsync(Config(TestServer));
        string session = await McpWire.OpenSessionAsync(gateway.McpUrl);

        RawExchange list = await McpWire.PostAsync(gateway.McpUrl, session, """{"jsonrpc":"2.0","id":2,"method":"tools/list"}""");
        Assert.Equal(200, list.Status);
        var names = list.Messages()[^1]["result"]!["tools"]!.AsArray().Select(t => (string?)t!["name"]).ToList();
        Assert.Contains("echo", names);
        Assert.Contains("card_on_file", names);

        Assert.Equal("echo: over stdio", Text(await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(3, "echo", """{"message":"over stdio"}"""))));

        // The card number the server writes on stdout reaches the client masked.
        RawExchange card = await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(4, "card_on_file", "{}"));
        Assert.Equal(200, card.Status);
        string cardText = Text(card);
        Assert.DoesNotContain("4111 1111 1111 1111", cardText);
        Assert.DoesNotContain("4111111111111111", card.Body);
        Assert.Contains("1111", cardText);
        Assert.StartsWith("card on file: ", cardText);

        // Denied by policy: refused at the gateway, so the server never ran it.
        string marker = Path.Combine(gateway.WorkDirectory, "forbidden-ran");
        RawExchange denied = await McpWire.PostAsync(gateway.McpUrl, session,
            McpWire.ToolCallBody(5, "forbidden", $$"""{"marker":{{JsonSerializer.Serialize(marker)}}}"""));
        Assert.Contains("no-forbidden", denied.Body);
        Assert.NotNull(denied.Messages()[^1]["error"] ?? denied.Messages()[^1]["result"]?["isError"]);
        Assert.False(File.Exists(marker), "the denied call reached the stdio server");

        // Only the configured environment (inheritEnvironment is false).
        JsonNode who = JsonNode.Parse(Text(await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(6, "whoami", "{}"))))!;
        Assert.Equal(new[] { "STDIO_TEST" }, who["env"]!.AsArray().Select(n => (string)n!).ToArray());

        // The server's stderr is in the gateway log, prefixed with the upstream and session.
        Assert.Matches(@"upstream session [0-9a-f]{8} \(pid \d+\) stderr: stdio-server ready", gateway.Transcript);

        gateway.SendSigterm();
        Assert.Equal(0, await gateway.WaitForExitAsync(Patience));
        var (exit, stdout, stderr) = await GatewayProcess.RunToolAsync(gateway.WorkDirectory, null, "replay", Path.Combine(gateway.WorkDirectory, "audit"), "--format", "jsonl");
        Assert.True(exit == 0, stderr);
        var records = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Contains(records, r => (string?)r["type"] == "McpExchange" && (string?)r["component"]?["target"] == "card_on_file"
            && r.ToJsonString().Contains("stdio:", StringComparison.Ordinal));
        Assert.Contains(records, r => r.ToJsonString().Contains("no-forbidden", StringComparison.Ordinal));
        Assert.DoesNotContain("4111 1111 1111 1111", stdout);
    }

    [Fact]
    public async Task A_server_inheriting_the_environment_gets_none_of_the_gateways_secret_variables()
    {
        string config = Config(TestServer, """, "inheritEnvironment": true""")
            .Replace("\"audit\": { \"directory\": \"audit\" }",
                $"\"audit\": {{ \"directory\": \"audit\", \"export\": {{ \"url\": \"http://127.0.0.1:{UnusedPort.Pick()}/records\", \"tokenEnv\": \"FASTMCP_TEST_EXPORT_TOKEN\" }} }}", StringComparison.Ordinal)
            .Replace("\"admin\": { \"listen\": \"127.0.0.1:0\" }",
                "\"admin\": { \"listen\": \"127.0.0.1:0\", \"metricsTokenEnv\": \"FASTMCP_TEST_SCRAPE_TOKEN\" }", StringComparison.Ordinal);
        Assert.Contains("FASTMCP_TEST_EXPORT_TOKEN", config);
        Assert.Contains("FASTMCP_TEST_SCRAPE_TOKEN", config);
        var environment = new Dictionary<string, string>
        {
            ["FASTMCP_TEST_INHERITED"] = "plain",
            ["FASTMCP_TEST_EXPORT_TOKEN"] = "siem-token-the-server-must-not-see",
            ["FASTMCP_TEST_SCRAPE_TOKEN"] = "scrape-token-the-server-must-not-see",
            ["FASTMCP_PAN_KEY"] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
            ["AWS_SECRET_ACCESS_KEY"] = "s3-secret-the-server-must-not-see",
        };
        RepoPaths.RequireNodePeers();
        using GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(config, environment: environment);
        string session = await McpWire.OpenSessionAsync(gateway.McpUrl);

        JsonNode who = JsonNode.Parse(Text(await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(2, "whoami", "{}"))))!;
        string[] names = who["env"]!.AsArray().Select(n => (string)n!).ToArray();
        Assert.Contains("FASTMCP_TEST_INHERITED", names);
        Assert.Contains("STDIO_TEST", names);
        Assert.DoesNotContain("FASTMCP_TEST_EXPORT_TOKEN", names);
        Assert.DoesNotContain("FASTMCP_TEST_SCRAPE_TOKEN", names);
        Assert.DoesNotContain("FASTMCP_PAN_KEY", names);
        Assert.DoesNotContain("AWS_SECRET_ACCESS_KEY", names);
    }

    [Fact]
    public async Task Delete_stops_the_server_process_and_the_session_is_gone()
    {
        using GatewayProcess gateway = await StartAsync(Config(TestServer));
        string session = await McpWire.OpenSessionAsync(gateway.McpUrl);
        int pid = await ServerPidAsync(gateway.McpUrl, session, 2);
        Assert.False(ProcessGone(pid));

        RawExchange delete = await McpWire.ExchangeAsync(gateway.McpUrl, "DELETE", McpWire.Headers(session), null);
        Assert.Equal(200, delete.Status);
        await AssertGoneAsync(pid, gateway.Transcript);

        RawExchange after = await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(3, "echo", """{"message":"x"}"""));
        Assert.Equal(404, after.Status);
    }

    [Fact]
    public async Task Resource_limits_reach_each_server_process_and_one_past_its_cpu_time_is_stopped_with_a_clear_error()
    {
        using GatewayProcess gateway = await StartAsync(Config(TestServer, """, "limits": { "memoryMb": 3072, "cpuSeconds": 2, "openFiles": 200 }"""));
        string session = await McpWire.OpenSessionAsync(gateway.McpUrl);
        int pid = await ServerPidAsync(gateway.McpUrl, session, 2);

        // What the kernel holds for the process: /proc/<pid>/limits, soft and hard.
        string[] limits = await File.ReadAllLinesAsync($"/proc/{pid}/limits");
        static string[] Row(string[] lines, string name) =>
            lines.Single(l => l.StartsWith(name, StringComparison.Ordinal))[name.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["3221225472", "3221225472", "bytes"], Row(limits, "Max address space"));
        Assert.Equal(["2", "3", "seconds"], Row(limits, "Max cpu time"));
        Assert.Equal(["200", "200", "files"], Row(limits, "Max open files"));

        // A call that keeps the CPU past the limit ends with the process; the client is told, the session is gone.
        RawExchange spun = await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(3, "spin", """{"ms":15000}"""));
        Assert.Equal(502, spun.Status);
        Assert.Contains("the server process exited", (string?)spun.Messages()[^1]["error"]?["message"]);
        await AssertGoneAsync(pid, gateway.Transcript);
        Assert.Equal(404, (await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(4, "echo", """{"message":"x"}"""))).Status);
    }

    [RunAsNobodyFact]
    public async Task A_run_as_route_runs_the_sdk_server_as_nobody_end_to_end_and_it_cannot_read_the_gateways_signing_key()
    {
        using GatewayProcess gateway = await StartAsync(Config(TestServer, """, "runAs": { "user": "nobody" }, "limits": { "openFiles": 200 }"""));
        Assert.Contains("as uid 65534 gid 65534, bridged at", gateway.Transcript);
        string session = await McpWire.OpenSessionAsync(gateway.McpUrl);

        JsonNode who = JsonNode.Parse(Text(await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(2, "whoami", "{}"))))!;
        Assert.Equal(65534, (int)who["uid"]!);
        Assert.Equal(65534, (int)who["gid"]!);
        Assert.Equal([65534], who["groups"]!.AsArray().Select(g => (int)g!).ToArray());
        int pid = (int)who["pid"]!;
        Assert.Equal("200", (await File.ReadAllLinesAsync($"/proc/{pid}/limits")).Single(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[3]);

        // Policy and masking apply as to any server; the gateway's own signing key (dev mode: in its audit folder) is out of reach.
        Assert.Equal("echo: as nobody", Text(await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(3, "echo", """{"message":"as nobody"}"""))));
        Assert.DoesNotContain("4111 1111 1111 1111", (await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(4, "card_on_file", "{}"))).Body);
        string key = Path.Combine(gateway.WorkDirectory, "audit", "audit-signing-key.pem");
        Assert.True(File.Exists(key), gateway.Transcript);
        string read = Text(await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(5, "read", JsonSerializer.Serialize(new { path = key }))));
        Assert.Equal("error: EACCES", read);

        gateway.SendSigterm();
        Assert.Equal(0, await gateway.WaitForExitAsync(Patience));
        await AssertGoneAsync(pid, gateway.Transcript);
    }

    [RunAsNobodyFact(needsSetpriv: true)]
    public async Task A_gateway_that_cannot_switch_users_refuses_run_as_at_start_naming_the_field()
    {
        // The gateway itself as nobody, with no capabilities (setpriv, util-linux): runAs root would need CAP_SETUID.
        string dir = Directory.CreateTempSubdirectory("fastmcp-runas-refused-").FullName;
        try
        {
            File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
            string config = Path.Combine(dir, "fastmcp.json");
            await File.WriteAllTextAsync(config, Config(TestServer, """, "runAs": { "user": "root" }"""));
            File.SetUnixFileMode(config, (UnixFileMode)0b110_100_100);
            var (file, prefix, _) = GatewayProcess.Locate();
            using var process = ChildProcess.Start("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", file, .. prefix, "serve", "--config", config],
                environment: null, workingDirectory: dir);
            int exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.True(exit == 2, process.Transcript);
            Assert.Contains("configuration error at 'upstream.stdio.runAs': cannot run the server as uid 0 gid 0", process.StandardError);
            Assert.Contains("CAP_SETUID, CAP_SETGID, CAP_KILL", process.StandardError);
            Assert.DoesNotContain("fastmcp listening", process.StandardOutput);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Server_crash_mid_call_is_a_clear_error_and_the_session_is_gone()
    {
        using GatewayProcess gateway = await StartAsync(Config(TestServer));
        string session = await McpWire.OpenSessionAsync(gateway.McpUrl);
        int pid = await ServerPidAsync(gateway.McpUrl, session, 2);

        RawExchange crash = await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(3, "crash", "{}"));
        Assert.Equal(502, crash.Status);
        JsonObject error = crash.Messages()[^1];
        Assert.Equal(3, (int?)error["id"]);
        Assert.Contains("exited (code 3)", (string?)error["error"]?["message"]);
        await AssertGoneAsync(pid, gateway.Transcript);

        RawExchange after = await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(4, "echo", """{"message":"x"}"""));
        Assert.Equal(404, after.Status);
    }

    [Fact]
    public async Task A_line_over_maxMessageBytes_ends_the_session_with_a_clear_error()
    {
        using GatewayProcess gateway = await StartAsync(Config(TestServer, """, "maxMessageBytes": 4096"""));
        string session = await McpWire.OpenSessionAsync(gateway.McpUrl);
        int pid = await ServerPidAsync(gateway.McpUrl, session, 2);

        RawExchange flood = await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(3, "flood", """{"n":100000}"""));
        Assert.Equal(502, flood.Status);
        Assert.Contains("maxMessageBytes (4096)", (string?)flood.Messages()[^1]["error"]?["message"]);
        await AssertGoneAsync(pid, gateway.Transcript);
        Assert.Equal(404, (await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(4, "echo", """{"message":"x"}"""))).Status);
    }

    [Fact]
    public async Task An_initialize_beyond_maxSessions_gets_503()
    {
        using GatewayProcess gateway = await StartAsync(Config(TestServer, """, "maxSessions": 1"""));
        string first = await McpWire.OpenSessionAsync(gateway.McpUrl);

        RawExchange second = await McpWire.PostAsync(gateway.McpUrl, null, McpWire.InitializeBody(1));
        Assert.Equal(503, second.Status);
        Assert.Contains("maxSessions", (string?)second.Messages()[^1]["error"]?["message"]);

        // Ending the first frees its place.
        Assert.Equal(200, (await McpWire.ExchangeAsync(gateway.McpUrl, "DELETE", McpWire.Headers(first), null)).Status);
        await McpWire.OpenSessionAsync(gateway.McpUrl);
    }

    [Fact]
    public async Task The_bridge_refuses_a_request_without_the_gateway_secret()
    {
        using GatewayProcess gateway = await StartAsync(Config(TestServer));
        Match bridge = BridgeLine().Match(gateway.Transcript);
        Assert.True(bridge.Success, gateway.Transcript);
        var bridgeUrl = new Uri(bridge.Groups[1].Value);

        RawExchange bare = await McpWire.PostAsync(bridgeUrl, null, McpWire.InitializeBody(1));
        Assert.Equal(403, bare.Status);
        RawExchange guessed = await McpWire.PostAsync(bridgeUrl, null, McpWire.InitializeBody(1), ("X-FastMcp-Bridge-Secret", new string('0', 64)));
        Assert.Equal(403, guessed.Status);
        Assert.DoesNotContain("fastmcp-stdio-test", bare.Body + guessed.Body);

        // A client cannot smuggle the header through the gateway either; its calls still work.
        string session = await McpWire.OpenSessionAsync(gateway.McpUrl);
        RawExchange echo = await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(2, "echo", """{"message":"ok"}"""),
            ("X-FastMcp-Bridge-Secret", "forged"));
        Assert.Equal("echo: ok", Text(echo));
    }

    [Fact]
    public async Task Sigterm_stops_every_stdio_server_process()
    {
        using GatewayProcess gateway = await StartAsync(Config(TestServer));
        int first = await ServerPidAsync(gateway.McpUrl, await McpWire.OpenSessionAsync(gateway.McpUrl), 2);
        int second = await ServerPidAsync(gateway.McpUrl, await McpWire.OpenSessionAsync(gateway.McpUrl), 2);
        Assert.NotEqual(first, second);

        gateway.SendSigterm();
        int exit = await gateway.WaitForExitAsync(Patience);
        Assert.True(exit == 0, gateway.Transcript);
        await AssertGoneAsync(first, gateway.Transcript);
        await AssertGoneAsync(second, gateway.Transcript);
    }

    [Fact]
    public async Task Server_to_client_requests_ride_the_call_stream_and_unsolicited_messages_the_get_stream()
    {
        using GatewayProcess gateway = await StartAsync(Config(TestServer));
        const string initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{}},"clientInfo":{"name":"raw","version":"1"}}}""";
        RawExchange init = await McpWire.PostAsync(gateway.McpUrl, null, initialize);
        Assert.Equal(200, init.Status);
        string session = init.Head.Header("Mcp-Session-Id")!;
        Assert.Equal(202, (await McpWire.PostAsync(gateway.McpUrl, session, McpWire.InitializedNotification)).Status);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        // The call's answer is an event stream: the server's sampling request first, the result after the client answers it.
        await using (RawHttpConnection call = await RawHttpConnection.ConnectAsync(gateway.McpUrl, cts.Token))
        {
            await call.SendAsync("POST", gateway.McpUrl.PathAndQuery, McpWire.Headers(session), McpWire.ToolCallBody(2, "ask", "{}"), cts.Token);
            RawHttpResponseHead head = await call.ReadResponseHeadAsync(cts.Token);
            Assert.Equal(200, head.Status);
            Assert.True(head.IsEventStream, head.Header("Content-Type"));
            using var events = new SseReader(call.OpenBody(head, "POST"));
            JsonObject request = JsonNode.Parse((await events.ReadEventAsync(cts.Token))!.Data)!.AsObject();
            Assert.Equal("sampling/createMessage", (string?)request["method"]);
            string answer = $$$"""{"jsonrpc":"2.0","id":{{{request["id"]!.ToJsonString()}}},"result":{"role":"assistant","content":{"type":"text","text":"hi there"},"model":"test","stopReason":"endTurn"}}""";
            Assert.Equal(202, (await McpWire.PostAsync(gateway.McpUrl, session, answer)).Status);
            JsonObject result = JsonNode.Parse((await events.ReadEventAsync(cts.Token))!.Data)!.AsObject();
            Assert.Equal(2, (int?)result["id"]);
            Assert.Equal("client said: hi there", (string?)result["result"]?["content"]?[0]?["text"]);
        }

        // A notification sent when no call is in flight arrives on the GET stream.
        await using RawHttpConnection get = await RawHttpConnection.ConnectAsync(gateway.McpUrl, cts.Token);
        await get.SendAsync("GET", gateway.McpUrl.PathAndQuery, [new("Accept", "text/event-stream"), new("Mcp-Session-Id", session),
            new("MCP-Protocol-Version", McpWire.ProtocolVersion)], null, cts.Token);
        RawHttpResponseHead getHead = await get.ReadResponseHeadAsync(cts.Token);
        Assert.Equal(200, getHead.Status);
        Assert.True(getHead.IsEventStream, getHead.Header("Content-Type"));
        Assert.Equal("will notify", Text(await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(3, "notify_later", "{}"))));
        using var stream = new SseReader(get.OpenBody(getHead, "GET"));
        SseEvent? e;
        do e = await stream.ReadEventAsync(cts.Token); while (e is not null && e.Data.Length == 0);
        Assert.NotNull(e);
        Assert.Equal("notifications/tools/list_changed", (string?)JsonNode.Parse(e.Data)!["method"]);
    }

    [Fact]
    public async Task A_sampling_request_the_policy_denies_is_answered_by_the_gateway_and_the_sdk_servers_call_completes()
    {
        const string serverRequests = """{ "rules": [ { "name": "no-sampling", "action": "deny", "methods": ["sampling/createMessage"] } ] }""";
        using GatewayProcess gateway = await StartAsync(Config(TestServer).Replace("\"policy\": { \"rules\": [", "\"policy\": { \"serverRequests\": " + serverRequests + ", \"rules\": [",
            StringComparison.Ordinal));
        const string initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"sampling":{}},"clientInfo":{"name":"raw","version":"1"}}}""";
        RawExchange init = await McpWire.PostAsync(gateway.McpUrl, null, initialize);
        Assert.Equal(200, init.Status);
        string session = init.Head.Header("Mcp-Session-Id")!;
        Assert.Equal(202, (await McpWire.PostAsync(gateway.McpUrl, session, McpWire.InitializedNotification)).Status);

        // The official SDK's createMessage gets the gateway's -32001 through the bridge, so its tool call ends (as an error
        // result) instead of waiting for an answer; the client's stream never carried the sampling request.
        RawExchange call = await McpWire.PostAsync(gateway.McpUrl, session, McpWire.ToolCallBody(2, "ask", "{}"));
        Assert.Equal(200, call.Status);
        Assert.DoesNotContain("sampling/createMessage", call.Body);
        JsonNode result = call.Messages()[^1];
        Assert.Equal(2, (int?)result["id"]);
        string text = (string?)result["result"]?["content"]?[0]?["text"] ?? "";
        Assert.True((bool?)result["result"]?["isError"] == true, call.Body);
        Assert.Contains("-32001", text);
        Assert.Contains("no-sampling", text);
    }

    [Fact]
    public async Task Cs_sdk_client_runs_server_everything_over_stdio_through_the_gateway()
    {
        using GatewayProcess gateway = await StartAsync(Config(RepoPaths.ServerEverythingEntry, "", "stdio"));

        JsonNode scenarios = (await CsSdkScenarios.RunAsync(gateway.McpUrl))["scenarios"]!;

        Assert.Equal("mcp-servers/everything", (string?)scenarios["initialize"]!["serverName"]);
        Assert.Equal($"Echo: {CsSdkScenarios.EchoMessage}", (string?)scenarios["echo"]!["content"]![0]!["text"]);
        Assert.True(CsSdkScenarios.ProgressSteps == (int?)scenarios["progress"]!["progressCount"], scenarios["progress"]!.ToJsonString());
        Assert.Equal(200, (int?)scenarios["delete"]!["deleteStatus"]);
        Assert.True((bool?)scenarios["delete"]!["afterDelete"]!["failed"]);
    }
}
