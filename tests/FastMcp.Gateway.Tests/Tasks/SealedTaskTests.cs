using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>
/// Task bindings are each process's own: a task created through one replica is unknown on another and after a restart.
/// Sealed task ids (tasks.sealed) carry their caller, so any replica with the same card fingerprint key can tell whose
/// task an id is (docs/mcp-handling.md, "Sealed task ids"). Two gateway instances with one configuration, one identity
/// key, one card fingerprint key and one upstream task store stand for two replicas.
/// </summary>
public sealed class SealedTaskTests : IDisposable
{
    private static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow" }];

    private const string Meta = "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}";

    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    // What the replicas share: the identity provider's key (dev mode) and the card fingerprint key.
    private readonly ReplicaKeys _keys = new();


    public void Dispose() => _keys.Dispose();

    private string Token(string subject) => _keys.Token(subject);

    private Task<PolicyGateway> ReplicaAsync(TaskServer upstream, bool sealedIds = true) =>
        PolicyGateway.StartAsync(upstream.Script, AllowAll, o =>
        {
            _keys.Share(o);
            o.Tasks.Sealed = sealedIds;
        });

    private static string Call(int id, string secret) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"research\",\"arguments\":{\"q\":\"" + secret + "\"}," + Meta + "}}";

    private static string Tasks(int id, string method, string taskId) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"" + method + "\",\"params\":{\"taskId\":\"" + taskId + "\"," + Meta + "}}";

    private static string Headers(string method, string? name = null) =>
        $"MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: {method}\r\n" + (name is null ? "" : $"Mcp-Name: {name}\r\n");

    private static Task<RawResponse> CreateAsync(PolicyGateway gw, string token, int id, string secret) =>
        gw.PostAsync(Call(id, secret), token, Headers("tools/call", "research"));

    private static Task<RawResponse> TasksAsync(PolicyGateway gw, string token, int id, string method, string taskId) =>
        gw.PostAsync(Tasks(id, method, taskId), token, Headers(method));

    private static string ResultTaskId(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement result = doc.RootElement.GetProperty("result");
        return (result.TryGetProperty("task", out JsonElement task) ? task : result).GetProperty("taskId").GetString()!;
    }

    private static int TasksRequests(ScriptedUpstream upstream) => upstream.Requests.Count(r => r.Body.Contains("\"tasks/", StringComparison.Ordinal));

    private static int Naming(ScriptedUpstream upstream, string taskId) => upstream.Requests.Count(r => r.Body.Contains("\"taskId\":\"" + taskId + "\"", StringComparison.Ordinal));

    private static void AssertTaskNotFound(RawResponse response)
    {
        Assert.Equal(200, response.Status);
        Assert.Equal(JsonRpcErrorCodes.InvalidParams, response.JsonRpcError().Code);
        Assert.Contains("Task not found", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_task_created_through_one_replica_is_polled_through_another_and_after_a_restart_the_upstream_getting_its_own_id()
    {
        var upstream = new TaskServer();
        string alice = Token("alice");
        await using PolicyGateway a = await ReplicaAsync(upstream);
        string sealedId = ResultTaskId((await CreateAsync(a, alice, 1, "alice-data")).Body);
        Assert.StartsWith("fmt2.", sealedId);
        Assert.DoesNotContain("task-1", sealedId, StringComparison.Ordinal);

        await using (PolicyGateway b = await ReplicaAsync(upstream))
        {
            RawResponse polled = await TasksAsync(b, alice, 2, "tasks/get", sealedId);
            Assert.Equal(200, polled.Status);
            Assert.DoesNotContain("\"error\"", polled.Body, StringComparison.Ordinal);
            Assert.Equal(sealedId, ResultTaskId(polled.Body));

            RawResponse result = await TasksAsync(b, alice, 3, "tasks/result", sealedId);
            Assert.Contains("alice-data", result.Body, StringComparison.Ordinal);
            using JsonDocument doc = JsonDocument.Parse(result.Body);
            Assert.Equal(sealedId, doc.RootElement.GetProperty("result").GetProperty("_meta").GetProperty("io.modelcontextprotocol/related-task").GetProperty("taskId").GetString());
            Assert.DoesNotContain("task-1", polled.Body + result.Body, StringComparison.Ordinal);

            // The upstream got its own id, never the sealed one.
            Assert.Equal(2, Naming(b.Upstream, "task-1"));
            Assert.Equal(0, Naming(b.Upstream, sealedId));
        }

        // A restart: a new process with the same keys knows nothing of the task, and serves it all the same.
        await using PolicyGateway restarted = await ReplicaAsync(upstream);
        RawResponse afterRestart = await TasksAsync(restarted, alice, 4, "tasks/get", sealedId);
        Assert.Equal(sealedId, ResultTaskId(afterRestart.Body));
        Assert.Equal(1, Naming(restarted.Upstream, "task-1"));
    }

    [Fact]
    public async Task Another_caller_the_raw_id_and_a_forged_tag_are_not_found_and_never_forwarded()
    {
        var upstream = new TaskServer();
        string alice = Token("alice"), mallory = Token("mallory");
        await using PolicyGateway a = await ReplicaAsync(upstream);
        await using PolicyGateway b = await ReplicaAsync(upstream);
        string sealedId = ResultTaskId((await CreateAsync(a, alice, 1, "alice-data")).Body);
        char flipped = sealedId[8] == 'A' ? 'B' : 'A';
        string forged = sealedId[..8] + flipped + sealedId[9..];

        foreach (string method in new[] { "tasks/get", "tasks/result", "tasks/cancel", "tasks/update" })
        {
            AssertTaskNotFound(await TasksAsync(b, mallory, 2, method, sealedId));
            AssertTaskNotFound(await TasksAsync(a, mallory, 3, method, sealedId));
        }
        // The raw id is refused even on the replica that bound it, and even to its owner: only sealed ids are accepted.
        AssertTaskNotFound(await TasksAsync(a, alice, 4, "tasks/get", "task-1"));
        AssertTaskNotFound(await TasksAsync(b, alice, 5, "tasks/get", "task-1"));
        AssertTaskNotFound(await TasksAsync(b, alice, 6, "tasks/get", forged));
        // A sealed session id of the same upstream id is not a task id (another label).
        AssertTaskNotFound(await TasksAsync(b, alice, 7, "tasks/get", "fms1." + sealedId["fmt2.".Length..]));
        Assert.Equal(0, TasksRequests(a.Upstream));
        Assert.Equal(0, TasksRequests(b.Upstream));

        // Mallory's refusals on b bound nothing: alice still gets her task there, and mallory still does not.
        Assert.Equal(sealedId, ResultTaskId((await TasksAsync(b, alice, 8, "tasks/get", sealedId)).Body));
        AssertTaskNotFound(await TasksAsync(b, mallory, 9, "tasks/get", sealedId));
        Assert.Equal(1, TasksRequests(b.Upstream));

        string[] records = await b.StopAndReadAuditAsync();
        JsonElement[] denied = [.. records.Select(r => JsonDocument.Parse(r).RootElement).Where(r => r.GetProperty("type").GetString() == "Denied")];
        Assert.Equal(8, denied.Length);
        Assert.All(denied, r => Assert.Equal("(task-not-yours)", r.GetProperty("rule").GetString()));
    }

    [Fact]
    public async Task Lists_and_status_notifications_carry_sealed_ids_and_only_the_callers_own()
    {
        var upstream = new TaskServer { PollOnEventStream = true };
        await using PolicyGateway gw = await ReplicaAsync(upstream);
        string alice = Token("alice"), bob = Token("bob");
        string aliceSession = (await gw.PostAsync(Initialize, alice)).Header("Mcp-Session-Id")!;
        string bobSession = (await gw.PostAsync(Initialize, bob)).Header("Mcp-Session-Id")!;
        const string SessionCall = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"research\",\"arguments\":{\"q\":\"x\"},\"task\":{\"ttl\":60000}}}";
        string bobs = ResultTaskId((await gw.PostAsync(SessionCall, bob, $"Mcp-Session-Id: {bobSession}\r\n")).Body);
        RawResponse created = await gw.PostAsync(SessionCall, alice, $"Mcp-Session-Id: {aliceSession}\r\n");
        string alices = ResultTaskId(created.Body);
        Assert.StartsWith("fmt2.", alices);
        Assert.NotEqual(bobs, alices);

        RawResponse list = await gw.PostAsync("""{"jsonrpc":"2.0","id":3,"method":"tasks/list"}""", alice, $"Mcp-Session-Id: {aliceSession}\r\n");
        using (JsonDocument doc = JsonDocument.Parse(list.Body))
        {
            Assert.Equal([alices], doc.RootElement.GetProperty("result").GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("taskId").GetString()!));
        }

        RawResponse polled = await gw.PostAsync(
            "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tasks/get\",\"params\":{\"taskId\":\"" + alices + "\"}}", alice, $"Mcp-Session-Id: {aliceSession}\r\n");
        List<string> events = EventStreamText.EventData(polled.Body);
        Assert.Equal(2, events.Count);
        using (JsonDocument status = JsonDocument.Parse(events[0]))
        {
            Assert.Equal("notifications/tasks/status", status.RootElement.GetProperty("method").GetString());
            Assert.Equal(alices, status.RootElement.GetProperty("params").GetProperty("taskId").GetString());
        }
        Assert.Equal(alices, ResultTaskId(events[1]));
        Assert.DoesNotContain("\"task-", created.Body + list.Body + polled.Body, StringComparison.Ordinal);
    }

    private const string RelatedToSomeone = "\"_meta\":{\"io.modelcontextprotocol/related-task\":{\"taskId\":\"task-of-someone\"}}";

    [Theory]
    [InlineData("json")]
    [InlineData("event-answer")]
    [InlineData("event-server-request")]
    public async Task A_message_naming_a_task_not_the_callers_here_is_withheld_not_passed_with_the_upstreams_id(string shape)
    {
        // An answer relating itself to a task nobody here created (as a JSON body or the answer event), or an elicitation
        // made for such a task before the answer: sealing it would hand the caller someone else's task. An answer or a
        // server request (the upstream waits for its answer) ends the stream; a notification would not (SealedTaskStreamTests).
        string answer = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]" + (shape == "event-server-request" ? "" : "," + RelatedToSomeone) + "}}";
        await using PolicyGateway gw = await PolicyGateway.StartAsync(async x =>
        {
            if (shape == "json")
            {
                await x.RespondJsonAsync(answer);
                return;
            }
            await x.StartEventStreamAsync();
            if (shape == "event-server-request")
            {
                await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"e1\",\"method\":\"elicitation/create\",\"params\":{\"message\":\"m\","
                    + RelatedToSomeone + "}}\n\n");
            }
            await x.SendEventAsync("event: message\ndata: " + answer + "\n\n");
            await x.EndChunkedAsync();
        }, AllowAll, o =>
        {
            o.Masking.FingerprintKeyFile = _keys.PanKeyFile;
            o.Tasks.Sealed = true;
        });
        RawResponse response = await gw.PostAsync(Call(1, "x"), gw.Token("alice"), Headers("tools/call", "research"));
        Assert.DoesNotContain("task-of-someone", response.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("\"content\"", response.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("elicitation", response.Body, StringComparison.Ordinal);
        Assert.Contains("could not be sealed for this caller: withheld", response.Body, StringComparison.Ordinal);
        if (shape == "json") Assert.Equal(502, response.Status);
    }

    [Fact]
    public async Task Sealing_off_a_task_created_through_one_replica_is_not_found_on_another()
    {
        // What tasks.sealed fixes: bindings are per process.
        var upstream = new TaskServer();
        string alice = Token("alice");
        await using PolicyGateway a = await ReplicaAsync(upstream, sealedIds: false);
        await using PolicyGateway b = await ReplicaAsync(upstream, sealedIds: false);
        string taskId = ResultTaskId((await CreateAsync(a, alice, 1, "alice-data")).Body);
        Assert.Equal("task-1", taskId);
        AssertTaskNotFound(await TasksAsync(b, alice, 2, "tasks/get", taskId));
    }

    private readonly struct CountingVisitor : ITaskIdVisitor
    {
        public bool Visit(Range taskIdToken) => taskIdToken.End.Value > taskIdToken.Start.Value;
    }

    [Fact]
    public void Opening_a_bound_tasks_sealed_id_rewriting_the_request_and_finding_the_ids_of_an_answer_allocate_nothing()
    {
        var seal = FastMcp.Gateway.Tasks.TaskSeal.Create(Convert.FromHexString(File.ReadAllText(_keys.PanKeyFile)));
        var alice = new Principal("alice", [], [], null, "https://idp.example", DateTimeOffset.MaxValue);
        var call = new FastMcp.Gateway.Tasks.TaskCreatingCall("tools/call", "research", """{"q":"x"}"""u8.ToArray(), false, null, "all");
        byte[] sealedId = seal.Seal("task-1"u8, call, alice, "default");
        // A tasks/get whose related-task _meta names the task too: both ids are opened and rewritten.
        string RequestNaming(string id) => "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/get\",\"params\":{\"taskId\":\"" + id
            + "\",\"_meta\":{\"io.modelcontextprotocol/related-task\":{\"taskId\":\"" + id + "\"}}}}";
        byte[] request = System.Text.Encoding.UTF8.GetBytes(RequestNaming(System.Text.Encoding.ASCII.GetString(sealedId)));
        int at = request.AsSpan().IndexOf(sealedId) - 1;
        var token = new Range(at, at + sealedId.Length + 2);
        byte[] answer = System.Text.Encoding.UTF8.GetBytes(
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"taskId\":\"task-1\",\"_meta\":{\"io.modelcontextprotocol/related-task\":{\"taskId\":\"task-1\"}}}}");
        var bindings = new FastMcp.Gateway.Tasks.TaskBindings(100, 100);
        var body = new FastMcp.Gateway.Tasks.SealedTaskBody();
        byte[] opened = new byte[FastMcp.Gateway.Tasks.TaskSeal.MaxOpenedLength];
        // The first presentation binds the task here with the call its id carries (allocating, once per task).
        Assert.Null(FastMcp.Gateway.Tasks.ClientTaskIds.Open(seal, bindings, "default", alice, request, token, body, out FastMcp.Gateway.Tasks.TaskBinding? owned));
        Assert.Equal("research", owned!.Call!.Target);
        Assert.Equal(sealedId, owned.SealedId);
        void Once()
        {
            var visitor = new CountingVisitor();
            if (!seal.Open(sealedId, alice, "default", opened, out Range id, out _, out bool v1) || v1 || !opened.AsSpan(id).SequenceEqual("task-1"u8) || !TaskIdMembers.TryVisit(answer, ref visitor)
                || FastMcp.Gateway.Tasks.ClientTaskIds.Open(seal, bindings, "default", alice, request, token, body, out _) is not null) Assert.Fail("sealing changed");
        }
        Once();
        Assert.Equal(0, ThreadAllocations.Measure(() =>
        {
            for (int i = 0; i < 10_000; i++) Once();
        }));
        Assert.Equal(RequestNaming("task-1"), System.Text.Encoding.UTF8.GetString(System.Buffers.BuffersExtensions.ToArray(body.Forwarded(default))));
    }

    [Fact]
    public async Task Sealed_tasks_without_a_configured_card_fingerprint_key_refuse_to_start_naming_the_field()
    {
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => PolicyGateway.StartAsync(new TaskServer().Script, AllowAll, o => o.Tasks.Sealed = true));
        Assert.Equal("tasks.sealed", e.Field);
        Assert.Contains("card fingerprint key", e.Message, StringComparison.Ordinal);
    }
}
