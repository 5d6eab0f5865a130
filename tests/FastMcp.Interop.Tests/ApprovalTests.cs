using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FastMcp.Interop.Tests.Harness;
using Xunit.Abstractions;

namespace FastMcp.Interop.Tests;

/// <summary>
/// Just-in-time approvals end to end: the official TypeScript SDK client calls server-everything
/// through the gateway (dev-mode identities, a policy with require_approval rules); approvers
/// decide through the admin API or the `fastmcp approvals` CLI.
/// </summary>
[Collection(InteropCollection.Name)]
[Trait("Category", "E2E")]
public sealed class ApprovalTests(InteropFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static string Config(Uri upstream, string webhook = "") => $$"""
        {
          "listen": ["127.0.0.1:0"],
          "admin": { "listen": "127.0.0.1:0" },
          "upstream": { "url": "{{upstream}}" },
          "identity": { "mode": "dev", "devKeyDirectory": "keys", "resource": "http://127.0.0.1/mcp" },
          "audit": { "directory": "audit" },
          "approvals": { "keepAliveSeconds": 1 {{webhook}} },
          "policy": { "rules": [
            { "name": "echo-held", "action": "require_approval", "methods": ["tools/call"], "names": ["echo"],
              "approvers": ["release"], "approvalTimeoutSeconds": 60, "message": "echo needs a release manager" },
            { "name": "sum-granted", "action": "require_approval", "methods": ["tools/call"], "names": ["get-sum"],
              "approvers": ["release"], "approvalMode": "grant", "grantWindowSeconds": 60 },
            { "name": "env-two-approvers", "action": "require_approval", "methods": ["tools/call"], "names": ["get-env"],
              "approvers": ["release"], "requiredApprovals": 2, "approvalTimeoutSeconds": 60 },
            { "name": "structured-times-out", "action": "require_approval", "methods": ["tools/call"], "names": ["get-structured-content"],
              "approvers": ["release"], "approvalTimeoutSeconds": 2 },
            { "name": "slow-held", "action": "require_approval", "methods": ["tools/call"], "names": ["trigger-long-running-operation"],
              "approvers": ["release"], "approvalTimeoutSeconds": 60 },
            { "name": "everything-else", "action": "allow" }
          ] }
        }
        """;

    /// <summary>A running gateway and tokens for: alice (requester), bob and carol (release), dave (release and requester), eve (no groups).</summary>
    private sealed class Setup : IAsyncDisposable
    {
        public required GatewayProcess Gateway { get; init; }
        public required Dictionary<string, string> TokenFiles { get; init; }
        public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            Gateway.Dispose();
            await Task.CompletedTask;
        }

        public string Token(string who) => File.ReadAllText(TokenFiles[who]).Trim();
    }

    private async Task<Setup> StartAsync(string webhook = "")
    {
        var gateway = await GatewayProcess.StartWithConfigAsync(Config(fixture.Upstream.McpUrl, webhook));
        output.WriteLine($"gateway {gateway.McpUrl}, admin {gateway.AdminUrl}, dir {gateway.WorkDirectory}");
        var files = new Dictionary<string, string>();
        foreach (var (who, groups) in new[] { ("alice", "dev"), ("bob", "release"), ("carol", "release"), ("dave", "release,dev"), ("eve", "") })
        {
            string[] args = groups.Length > 0
                ? ["token", "--key-dir", Path.Combine(gateway.WorkDirectory, "keys"), "--sub", who, "--groups", groups, "--ttl", "1h"]
                : ["token", "--key-dir", Path.Combine(gateway.WorkDirectory, "keys"), "--sub", who, "--ttl", "1h"];
            var (exit, stdout, stderr) = await GatewayProcess.RunToolAsync(gateway.WorkDirectory, null, args);
            Assert.True(exit == 0, stderr);
            string path = Path.Combine(gateway.WorkDirectory, $"{who}.token");
            await File.WriteAllTextAsync(path, stdout.Trim());
            files[who] = path;
        }
        return new Setup { Gateway = gateway, TokenFiles = files };
    }

    /// <summary>Starts one SDK call; the task completes with the script's JSON document.</summary>
    private static async Task<JsonObject> CallAsync(Setup s, string who, string tool, string argumentsJson)
    {
        RepoPaths.RequireNodePeers();
        using var process = ChildProcess.Start(RepoPaths.NodeExecutable,
            [Path.Combine(RepoPaths.NodeDirectory, "interop", "approval-call.mjs"), "--url", s.Gateway.McpUrl.ToString(), "--token-file", s.TokenFiles[who],
             "--tool", tool, "--arguments", argumentsJson, "--timeout-ms", "90000"],
            workingDirectory: RepoPaths.NodeDirectory);
        int exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(120));
        Assert.True(exit == 0, process.Transcript);
        return JsonNode.Parse(process.StandardOutput)!.AsObject();
    }

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> AdminAsync(Setup s, HttpMethod method, string path, string? who, string? body = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(s.Gateway.AdminUrl, path));
        if (who is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", s.Token(who));
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await s.Http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>Polls the API until a pending approval for <paramref name="tool"/> from <paramref name="requester"/> shows up.</summary>
    private static async Task<JsonNode> WaitForPendingAsync(Setup s, string tool, string requester)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < Patience)
        {
            var (status, body) = await AdminAsync(s, HttpMethod.Get, "/approvals", "bob");
            Assert.Equal(HttpStatusCode.OK, status);
            foreach (JsonNode? a in body!["approvals"]!.AsArray())
                if ((string?)a!["target"] == tool && (string?)a["requester"]!["subject"] == requester && (string?)a["state"] == "pending") return a;
            await Task.Delay(100);
        }
        throw new TimeoutException($"no pending approval for {tool} from {requester}\n{s.Gateway.Transcript}");
    }

    private static async Task<List<JsonObject>> ReplayAsync(Setup s)
    {
        var (exit, stdout, stderr) = await GatewayProcess.RunToolAsync(s.Gateway.WorkDirectory, null, "replay", Path.Combine(s.Gateway.WorkDirectory, "audit"), "--format", "jsonl");
        Assert.True(exit == 0, stderr);
        var records = new List<JsonObject>();
        foreach (string line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)) records.Add(JsonNode.Parse(line)!.AsObject());
        return records;
    }

    [Fact]
    public async Task Held_call_approved_through_the_api_completes_with_the_upstream_result()
    {
        await using Setup s = await StartAsync();
        Task<JsonObject> call = CallAsync(s, "alice", "echo", """{"message":"release v42 to production"}""");
        JsonNode pending = await WaitForPendingAsync(s, "echo", "alice");
        string id = (string)pending["id"]!;
        Assert.Equal("hold", (string?)pending["mode"]);
        Assert.Equal("echo-held", (string?)pending["rule"]);
        Assert.StartsWith("sha256:", (string?)pending["digest"]);
        Assert.Contains("release v42", (string?)pending["arguments"]);
        // Held, not forwarded: the client is still waiting.
        await Task.Delay(1500);
        Assert.False(call.IsCompleted, "the held call finished before any approval");

        var (status, body) = await AdminAsync(s, HttpMethod.Post, $"/approvals/{id}/approve", "bob", """{"comment":"change ticket 1234"}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("approved", (string?)body!["state"]);

        JsonObject result = await call.WaitAsync(Patience);
        Assert.True((bool?)result["ok"], result.ToJsonString());
        Assert.Equal("Echo: release v42 to production", (string?)result["content"]![0]!["text"]);
        // While it waited, the client got progress notifications naming the approval.
        Assert.Contains(id, (string?)result["progress"]![0]!["message"]);

        // Executed before the answer left the gateway: a client that has the answer never sees "approved".
        var (_, after) = await AdminAsync(s, HttpMethod.Get, $"/approvals/{id}", "bob");
        Assert.Equal("executed", (string?)after!["state"]);
        Assert.Equal(1, (int?)after["executions"]);

        List<JsonObject> records = await ReplayAsync(s);
        Assert.Contains(records, r => (string?)r["type"] == "ApprovalRequested" && ((string?)r["detail"])!.Contains(id));
        Assert.Contains(records, r => (string?)r["type"] == "ApprovalGranted" && (string?)r["approver"] == "bob" && ((string?)r["detail"])!.Contains("change ticket 1234"));
        Assert.Contains(records, r => (string?)r["type"] == "McpExchange" && (string?)r["approver"] == "bob" && ((string?)r["detail"])!.StartsWith("response (approval " + id));
    }

    [Fact]
    public async Task An_approved_call_reads_executed_from_the_upstreams_answer_not_from_its_end()
    {
        await using Setup s = await StartAsync();
        // The upstream answers with an event stream at once and finishes 4 s later, reporting progress each second.
        const string tool = "trigger-long-running-operation";
        Task<JsonObject> call = CallAsync(s, "alice", tool, """{"duration":4,"steps":4}""");
        string id = (string)(await WaitForPendingAsync(s, tool, "alice"))["id"]!;
        var (status, _) = await AdminAsync(s, HttpMethod.Post, $"/approvals/{id}/approve", "bob");
        Assert.Equal(HttpStatusCode.OK, status);

        string? state = null;
        bool runningWhenExecuted = false;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (state != "executed" && !call.IsCompleted && clock.Elapsed < Patience)
        {
            bool running = !call.IsCompleted;
            var (_, view) = await AdminAsync(s, HttpMethod.Get, $"/approvals/{id}", "bob");
            state = (string?)view!["state"];
            runningWhenExecuted = running && state == "executed";
            if (state != "executed") await Task.Delay(50);
        }
        Assert.True(runningWhenExecuted, $"state {state} while the call was {(call.IsCompleted ? "already complete" : "running")}");

        JsonObject result = await call.WaitAsync(Patience);
        Assert.True((bool?)result["ok"], result.ToJsonString());
        Assert.Contains("Long running operation completed", (string?)result["content"]![0]!["text"]);
        var (_, done) = await AdminAsync(s, HttpMethod.Get, $"/approvals/{id}", "bob");
        Assert.Equal("executed", (string?)done!["state"]);
        Assert.Equal(1, (int?)done["executions"]);
    }

    [Fact]
    public async Task Denied_call_gets_the_approvers_reason_and_is_never_forwarded()
    {
        await using Setup s = await StartAsync();
        Task<JsonObject> call = CallAsync(s, "alice", "echo", """{"message":"drop the ledger"}""");
        string id = (string)(await WaitForPendingAsync(s, "echo", "alice"))["id"]!;

        var (noReason, _) = await AdminAsync(s, HttpMethod.Post, $"/approvals/{id}/deny", "bob", "{}");
        Assert.Equal(HttpStatusCode.BadRequest, noReason);
        var (status, _) = await AdminAsync(s, HttpMethod.Post, $"/approvals/{id}/deny", "bob", """{"reason":"not during the freeze"}""");
        Assert.Equal(HttpStatusCode.OK, status);

        JsonObject result = await call.WaitAsync(Patience);
        Assert.False((bool?)result["ok"], result.ToJsonString());
        Assert.Equal(-32002, (int?)result["code"]);
        Assert.Contains("not during the freeze", (string?)result["message"]);
        Assert.Equal("denied", (string?)result["data"]!["status"]);
        Assert.Equal(id, (string?)result["data"]!["approvalId"]);

        // A decided approval cannot be approved afterwards.
        var (late, lateBody) = await AdminAsync(s, HttpMethod.Post, $"/approvals/{id}/approve", "carol", "{}");
        Assert.Equal(HttpStatusCode.Conflict, late);
        Assert.Contains("denied", (string?)lateBody!["error"]);

        List<JsonObject> records = await ReplayAsync(s);
        Assert.Contains(records, r => (string?)r["type"] == "ApprovalDenied" && (string?)r["user"]!["subject"] == "bob");
        Assert.DoesNotContain(records, r => (string?)r["type"] == "McpExchange" && (string?)r["component"]?["target"] == "echo");
    }

    [Fact]
    public async Task A_held_call_the_sdk_aborts_is_withdrawn_and_never_forwarded()
    {
        await using Setup s = await StartAsync();
        RepoPaths.RequireNodePeers();
        using var process = ChildProcess.Start(RepoPaths.NodeExecutable,
            [Path.Combine(RepoPaths.NodeDirectory, "interop", "cancel-held-call.mjs"), "--url", s.Gateway.McpUrl.ToString(), "--token-file", s.TokenFiles["alice"],
             "--tool", "echo", "--arguments", """{"message":"never mind"}""", "--timeout-ms", "90000"],
            workingDirectory: RepoPaths.NodeDirectory);
        int exit = await process.WaitForExitAsync(TimeSpan.FromSeconds(120));
        Assert.True(exit == 0, process.Transcript + s.Gateway.Transcript);
        Assert.True((bool?)JsonNode.Parse(process.StandardOutput)!["cancelSent"]);

        // The gateway withdrew the approval before it answered the SDK's notifications/cancelled (it may be withdrawn
        // before a poll could see it pending: it is looked up once the script is done).
        var (status, all) = await AdminAsync(s, HttpMethod.Get, "/approvals?state=all", "bob");
        Assert.Equal(HttpStatusCode.OK, status);
        JsonNode approval = Assert.Single(all!["approvals"]!.AsArray(), a => (string?)a!["target"] == "echo" && (string?)a["requester"]!["subject"] == "alice")!;
        Assert.Equal("cancelled", (string?)approval["state"]);
        Assert.Contains("withdrawn by the caller", (string?)approval["reason"]);
        List<JsonObject> records = await ReplayAsync(s);
        Assert.Contains(records, r => (string?)r["type"] == "ApprovalExpired" && ((string?)r["detail"])!.Contains("withdrawn by the caller (notifications/cancelled)"));
        Assert.DoesNotContain(records, r => (string?)r["type"] == "McpExchange" && (string?)r["component"]?["target"] == "echo");
        Assert.DoesNotContain(records, r => (string?)r["type"] == "Denied" && (string?)r["rule"] == "(cancel-not-yours)");
    }

    [Fact]
    public async Task Call_without_a_decision_in_time_gets_an_expiry_error()
    {
        await using Setup s = await StartAsync();
        JsonObject result = await CallAsync(s, "alice", "get-structured-content", """{"location":"New York"}""").WaitAsync(Patience);
        Assert.False((bool?)result["ok"], result.ToJsonString());
        Assert.Equal(-32002, (int?)result["code"]);
        Assert.Equal("expired", (string?)result["data"]!["status"]);

        List<JsonObject> records = await ReplayAsync(s);
        Assert.Contains(records, r => (string?)r["type"] == "ApprovalExpired" && ((string?)r["detail"])!.Contains("expired"));
        Assert.DoesNotContain(records, r => (string?)r["type"] == "McpExchange" && (string?)r["component"]?["target"] == "get-structured-content");
    }

    [Fact]
    public async Task Requesters_cannot_approve_their_own_calls_and_only_approvers_use_the_api()
    {
        await using Setup s = await StartAsync();
        Task<JsonObject> call = CallAsync(s, "dave", "echo", """{"message":"dave's own change"}""");
        string id = (string)(await WaitForPendingAsync(s, "echo", "dave"))["id"]!;

        var (self, selfBody) = await AdminAsync(s, HttpMethod.Post, $"/approvals/{id}/approve", "dave", "{}");
        Assert.Equal(HttpStatusCode.Forbidden, self);
        Assert.Contains("own", (string?)selfBody!["error"]);
        var (outsider, _) = await AdminAsync(s, HttpMethod.Post, $"/approvals/{id}/approve", "eve", "{}");
        Assert.Equal(HttpStatusCode.Forbidden, outsider);
        var (requester, _) = await AdminAsync(s, HttpMethod.Get, "/approvals", "alice");
        Assert.Equal(HttpStatusCode.Forbidden, requester);
        var (anonymous, _) = await AdminAsync(s, HttpMethod.Get, "/approvals", null);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous);
        Assert.False(call.IsCompleted, "a refused approval released the call");

        var (status, _) = await AdminAsync(s, HttpMethod.Post, $"/approvals/{id}/approve", "bob", "{}");
        Assert.Equal(HttpStatusCode.OK, status);
        JsonObject result = await call.WaitAsync(Patience);
        Assert.True((bool?)result["ok"], result.ToJsonString());
    }

    [Fact]
    public async Task Grant_admits_only_the_identical_call_from_the_same_identity()
    {
        await using Setup s = await StartAsync();
        JsonObject first = await CallAsync(s, "alice", "get-sum", """{"a":19,"b":23}""");
        Assert.False((bool?)first["ok"], first.ToJsonString());
        Assert.Equal("pending", (string?)first["data"]!["status"]);
        string id = (string)first["data"]!["approvalId"]!;

        var (status, body) = await AdminAsync(s, HttpMethod.Post, $"/approvals/{id}/approve", "bob", "{}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.NotNull(body!["grantUntil"]);

        JsonObject same = await CallAsync(s, "alice", "get-sum", """{"a":19,"b":23}""");
        Assert.True((bool?)same["ok"], same.ToJsonString());
        Assert.Contains("42", (string?)same["content"]![0]!["text"]);
        // Member order and whitespace are not part of the call: the canonical digest is the same.
        JsonObject reordered = await CallAsync(s, "alice", "get-sum", """{ "b": 23, "a": 19 }""");
        Assert.True((bool?)reordered["ok"], reordered.ToJsonString());

        JsonObject changed = await CallAsync(s, "alice", "get-sum", """{"a":19,"b":24}""");
        Assert.False((bool?)changed["ok"], changed.ToJsonString());
        Assert.Equal(-32002, (int?)changed["code"]);
        Assert.NotEqual(id, (string?)changed["data"]!["approvalId"]);
        Assert.NotEqual(first["data"]!["digest"]!.ToString(), changed["data"]!["digest"]!.ToString());

        // Same arguments, other identity: the grant is alice's alone.
        JsonObject otherCaller = await CallAsync(s, "carol", "get-sum", """{"a":19,"b":23}""");
        Assert.False((bool?)otherCaller["ok"], otherCaller.ToJsonString());
        Assert.NotEqual(id, (string?)otherCaller["data"]!["approvalId"]);
    }

    [Fact]
    public async Task The_cli_lists_every_replica_and_decides_on_the_one_that_holds_the_call()
    {
        // Two replicas trusting the same dev key, as replicas trust the same issuer.
        string shared = Directory.CreateTempSubdirectory("fastmcp-replicas-").FullName;
        string keys = Path.Combine(shared, "keys");
        try
        {
            string config = Config(fixture.Upstream.McpUrl).Replace("\"devKeyDirectory\": \"keys\"", "\"devKeyDirectory\": " + JsonSerializer.Serialize(keys), StringComparison.Ordinal);
            await using Setup first = await StartReplicaAsync(config, keys, shared);
            await using Setup second = await StartReplicaAsync(config, keys, shared);
            string a = first.Gateway.AdminUrl.ToString().TrimEnd('/'), b = second.Gateway.AdminUrl.ToString().TrimEnd('/');

            Task<JsonObject> call = CallAsync(second, "alice", "echo", """{"message":"held by the second replica"}""");
            string id = (string)(await WaitForPendingAsync(second, "echo", "alice"))["id"]!;

            var (listExit, listOut, listErr) = await GatewayProcess.RunToolAsync(shared, null,
                "approvals", "list", "--admin", a, "--admin", b, "--token-file", first.TokenFiles["bob"]);
            Assert.True(listExit == 0, listErr);
            string line = Assert.Single(listOut.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith(id, StringComparison.Ordinal));
            Assert.EndsWith("on " + b, line.TrimEnd());

            var (exit, stdout, stderr) = await GatewayProcess.RunToolAsync(shared, null,
                "approvals", "approve", id, "--admin", a, "--admin", b, "--token-file", first.TokenFiles["bob"]);
            Assert.True(exit == 0, stderr);
            Assert.Contains("replica    " + b, stdout);
            JsonObject result = await call.WaitAsync(Patience);
            Assert.True((bool?)result["ok"], result.ToJsonString());
            Assert.Equal("Echo: held by the second replica", (string?)result["content"]![0]!["text"]);

            var (unknownExit, _, unknownErr) = await GatewayProcess.RunToolAsync(shared, null,
                "approvals", "show", "apr_unknown", "--admin", a, "--admin", b, "--token-file", first.TokenFiles["bob"]);
            Assert.Equal(1, unknownExit);
            Assert.Contains("not known to any of the 2 replicas", unknownErr);
        }
        finally
        {
            Directory.Delete(shared, recursive: true);
        }
    }

    /// <summary>A gateway on <paramref name="config"/> and tokens (alice: dev, bob: release) minted with the shared dev key.</summary>
    private async Task<Setup> StartReplicaAsync(string config, string keys, string tokenDirectory)
    {
        var gateway = await GatewayProcess.StartWithConfigAsync(config);
        output.WriteLine($"replica {gateway.McpUrl}, admin {gateway.AdminUrl}");
        var files = new Dictionary<string, string>();
        foreach (var (who, groups) in new[] { ("alice", "dev"), ("bob", "release") })
        {
            string path = Path.Combine(tokenDirectory, $"{who}.token");
            if (!File.Exists(path))
            {
                var (exit, stdout, stderr) = await GatewayProcess.RunToolAsync(tokenDirectory, null, "token", "--key-dir", keys, "--sub", who, "--groups", groups, "--ttl", "1h");
                Assert.True(exit == 0, stderr);
                await File.WriteAllTextAsync(path, stdout.Trim());
            }
            files[who] = path;
        }
        return new Setup { Gateway = gateway, TokenFiles = files };
    }

    [Fact]
    public async Task Two_required_approvers_means_two_distinct_approvers()
    {
        await using Setup s = await StartAsync();
        Task<JsonObject> call = CallAsync(s, "alice", "get-env", "{}");
        string id = (string)(await WaitForPendingAsync(s, "get-env", "alice"))["id"]!;

        var (firstStatus, firstBody) = await AdminAsync(s, HttpMethod.Post, $"/approvals/{id}/approve", "bob", "{}");
        Assert.Equal(HttpStatusCode.OK, firstStatus);
        Assert.Equal("pending", (string?)firstBody!["state"]);
        var (again, _) = await AdminAsync(s, HttpMethod.Post, $"/approvals/{id}/approve", "bob", "{}");
        Assert.Equal(HttpStatusCode.Conflict, again);
        await Task.Delay(1500);
        Assert.False(call.IsCompleted, "one approval released a call that needs two");

        // The second approver uses the CLI.
        var (exit, stdout, stderr) = await GatewayProcess.RunToolAsync(s.Gateway.WorkDirectory, null,
            "approvals", "approve", id, "--comment", "second pair of eyes", "--admin", s.Gateway.AdminUrl.ToString(), "--token-file", s.TokenFiles["carol"]);
        Assert.True(exit == 0, stderr);
        Assert.Contains("approved (2 of 2", stdout);

        JsonObject result = await call.WaitAsync(Patience);
        Assert.True((bool?)result["ok"], result.ToJsonString());

        var (listExit, listOut, _) = await GatewayProcess.RunToolAsync(s.Gateway.WorkDirectory, null,
            "approvals", "list", "--all", "--admin", s.Gateway.AdminUrl.ToString(), "--token-file", s.TokenFiles["bob"]);
        Assert.Equal(0, listExit);
        Assert.Contains(id, listOut);
    }

    [Fact]
    public async Task Webhook_announces_each_request_and_decision_signed_with_the_shared_secret()
    {
        const string secret = "webhook-secret-for-the-approvals-test";
        int port = UnusedPort.Pick();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/hook/");
        listener.Start();
        var received = new List<(string Event, string Timestamp, string Signature, byte[] Body)>();
        using var stop = new CancellationTokenSource();
        Task receiver = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                HttpListenerContext context;
                try { context = await listener.GetContextAsync().WaitAsync(stop.Token); }
                catch (Exception e) when (e is OperationCanceledException or HttpListenerException or ObjectDisposedException) { return; }
                using var ms = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(ms);
                lock (received)
                    received.Add((context.Request.Headers["X-FastMcp-Event"]!, context.Request.Headers["X-FastMcp-Timestamp"]!,
                        context.Request.Headers["X-FastMcp-Signature"]!, ms.ToArray()));
                context.Response.StatusCode = 204;
                context.Response.Close();
            }
        });

        string secretFile = Path.Combine(Path.GetTempPath(), $"fastmcp-webhook-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(secretFile, secret + "\n");
        try
        {
            await using Setup s = await StartAsync($$""", "webhook": { "url": "http://127.0.0.1:{{port}}/hook/", "secretFile": "{{secretFile}}" }""");
            Task<JsonObject> call = CallAsync(s, "alice", "echo", """{"message":"hooked"}""");
            string id = (string)(await WaitForPendingAsync(s, "echo", "alice"))["id"]!;
            Assert.Equal(HttpStatusCode.OK, (await AdminAsync(s, HttpMethod.Post, $"/approvals/{id}/approve", "bob", "{}")).Status);
            Assert.True((bool?)(await call.WaitAsync(Patience))["ok"]);

            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < Patience)
            {
                lock (received) if (received.Count >= 3) break;
                await Task.Delay(100);
            }
        }
        finally
        {
            File.Delete(secretFile);
            stop.Cancel();
            listener.Stop();
            await receiver;
        }

        List<string> events = [];
        foreach (var (evt, timestamp, signature, body) in received)
        {
            byte[] message = [.. Encoding.ASCII.GetBytes(timestamp + "."), .. body];
            string expected = "v1=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
            Assert.Equal(expected, signature);
            JsonNode payload = JsonNode.Parse(body)!;
            Assert.Equal(evt, (string?)payload["event"]);
            Assert.Equal("echo", (string?)payload["approval"]!["target"]);
            events.Add(evt);
        }
        Assert.Equal(["approval.requested", "approval.approved", "approval.executed"], events);
    }

    [Fact]
    public async Task Stopping_the_gateway_answers_held_calls_and_a_restart_forwards_nothing_left_over()
    {
        Setup s = await StartAsync();
        string workDirectory = s.Gateway.WorkDirectory;
        string id;
        bool stopped = false;
        try
        {
            Task<JsonObject> call = CallAsync(s, "alice", "echo", """{"message":"held across a restart"}""");
            id = (string)(await WaitForPendingAsync(s, "echo", "alice"))["id"]!;

            s.Gateway.SendSigterm();
            JsonObject result = await call.WaitAsync(Patience);
            Assert.False((bool?)result["ok"], result.ToJsonString());
            Assert.Equal("cancelled", (string?)result["data"]!["status"]);
            Assert.Contains("stopping", (string?)result["message"]);
            Assert.Equal(0, await s.Gateway.WaitForExitAsync(Patience));
            s.Gateway.StopProcessOnly();
            stopped = true;
        }
        finally
        {
            s.Http.Dispose();
            if (!stopped) s.Gateway.Dispose();
        }

        // The same state directory, a new process: the old approval is gone and cannot be approved.
        GatewayProcess restarted = await GatewayProcess.StartWithConfigAsync(Config(fixture.Upstream.McpUrl), workDirectory);
        await using var again = new Setup { Gateway = restarted, TokenFiles = s.TokenFiles };
        var (status, body) = await AdminAsync(again, HttpMethod.Post, $"/approvals/{id}/approve", "bob", "{}");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("restart", (string?)body!["error"]);

        List<JsonObject> records = await ReplayAsync(again);
        Assert.Contains(records, r => (string?)r["type"] == "ApprovalExpired" && ((string?)r["detail"])!.Contains($"{id} for alice: cancelled: the gateway is stopping"));
        Assert.DoesNotContain(records, r => (string?)r["type"] == "McpExchange" && (string?)r["component"]?["target"] == "echo");
    }
}
