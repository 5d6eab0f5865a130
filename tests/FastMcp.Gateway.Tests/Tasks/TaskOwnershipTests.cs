using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>
/// Every caller reaches the upstream with the gateway's credential, so an upstream that binds tasks to the authorization
/// context sees one context for all of them: the gateway binds each task id to the caller whose call created it, and a
/// tasks request of anyone else naming it is answered as for an unknown task, never forwarded (docs/mcp-handling.md, "Tasks").
/// </summary>
public sealed class TaskOwnershipTests
{
    private static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow" }];

    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    private static string SessionCall(int id, string secret) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"research\",\"arguments\":{\"q\":\"" + secret + "\"},\"task\":{\"ttl\":60000}}}";

    private static string SessionTasks(int id, string method, string taskId) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"" + method + "\",\"params\":{\"taskId\":\"" + taskId + "\"}}";

    private const string Meta = "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}";

    private static string StatelessCall(int id, string secret) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"research\",\"arguments\":{\"q\":\"" + secret + "\"}," + Meta + "}}";

    private static string StatelessTasks(int id, string method, string taskId) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"" + method + "\",\"params\":{\"taskId\":\"" + taskId + "\"," + Meta + "}}";

    private static string StatelessHeaders(string method, string? name = null) =>
        $"MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: {method}\r\n" + (name is null ? "" : $"Mcp-Name: {name}\r\n");

    private static string SessionHeader(string session) => $"Mcp-Session-Id: {session}\r\n";

    private static int TasksRequests(ScriptedUpstream upstream) => upstream.Requests.Count(r => r.Body.Contains("\"tasks/", StringComparison.Ordinal));

    private static void AssertTaskNotFound(RawResponse response)
    {
        Assert.Equal(200, response.Status);
        (int code, _) = response.JsonRpcError();
        Assert.Equal(JsonRpcErrorCodes.InvalidParams, code);
        Assert.Contains("Task not found", response.Body, StringComparison.Ordinal);
    }

    private static string CreatedTaskId(RawResponse response, bool onEventStream)
    {
        Assert.Equal(200, response.Status);
        string json = onEventStream ? EventStreamText.EventData(response.Body).Single() : response.Body;
        using JsonDocument doc = JsonDocument.Parse(json);
        JsonElement result = doc.RootElement.GetProperty("result");
        return (result.TryGetProperty("task", out JsonElement task) ? task : result).GetProperty("taskId").GetString()!;
    }

    private static string[] ListedTaskIds(RawResponse response)
    {
        using JsonDocument doc = JsonDocument.Parse(response.Body);
        return [.. doc.RootElement.GetProperty("result").GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("taskId").GetString()!)];
    }

    [Fact]
    public async Task Stateless_another_callers_task_is_not_found_and_never_reaches_the_upstream()
    {
        await using var gw = await PolicyGateway.StartAsync(new TaskServer().Script, AllowAll);
        string alice = gw.Token("alice"), bob = gw.Token("bob");
        string task = CreatedTaskId(await gw.PostAsync(StatelessCall(1, "alice-data"), alice, StatelessHeaders("tools/call", "research")), onEventStream: false);

        foreach (string method in new[] { "tasks/get", "tasks/update", "tasks/cancel", "tasks/result" })
        {
            RawResponse refused = await gw.PostAsync(StatelessTasks(2, method, task), bob, StatelessHeaders(method));
            AssertTaskNotFound(refused);
            Assert.DoesNotContain("alice-data", refused.Body, StringComparison.Ordinal);
        }
        Assert.Equal(0, TasksRequests(gw.Upstream));

        RawResponse own = await gw.PostAsync(StatelessTasks(3, "tasks/get", task), alice, StatelessHeaders("tasks/get"));
        Assert.Equal(200, own.Status);
        Assert.Contains("alice-data", own.Body, StringComparison.Ordinal);
        Assert.Equal(1, TasksRequests(gw.Upstream));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task With_sessions_another_callers_task_is_refused_and_lists_show_only_the_callers_own(bool onEventStream)
    {
        await using var gw = await PolicyGateway.StartAsync(new TaskServer { CreateOnEventStream = onEventStream }.Script, AllowAll);
        string alice = gw.Token("alice"), bob = gw.Token("bob");
        string aliceSession = (await gw.PostAsync(Initialize, alice)).Header("Mcp-Session-Id")!;
        string bobSession = (await gw.PostAsync(Initialize, bob)).Header("Mcp-Session-Id")!;
        string task = CreatedTaskId(await gw.PostAsync(SessionCall(2, "alice-data"), alice, SessionHeader(aliceSession)), onEventStream);

        foreach (string method in new[] { "tasks/get", "tasks/result", "tasks/cancel" })
        {
            AssertTaskNotFound(await gw.PostAsync(SessionTasks(3, method, task), bob, SessionHeader(bobSession)));
        }
        Assert.Equal(0, TasksRequests(gw.Upstream));
        Assert.Empty(ListedTaskIds(await gw.PostAsync("""{"jsonrpc":"2.0","id":4,"method":"tasks/list"}""", bob, SessionHeader(bobSession))));

        RawResponse result = await gw.PostAsync(SessionTasks(5, "tasks/result", task), alice, SessionHeader(aliceSession));
        Assert.Equal(200, result.Status);
        Assert.Contains("alice-data", result.Body, StringComparison.Ordinal);
        Assert.Equal([task], ListedTaskIds(await gw.PostAsync("""{"jsonrpc":"2.0","id":6,"method":"tasks/list"}""", alice, SessionHeader(aliceSession))));
        Assert.Equal(200, (await gw.PostAsync(SessionTasks(7, "tasks/cancel", task), alice, SessionHeader(aliceSession))).Status);
    }

    [Fact]
    public async Task An_unknown_task_id_and_a_tasks_request_without_one_are_refused_without_forwarding()
    {
        await using var gw = await PolicyGateway.StartAsync(new TaskServer().Script, AllowAll);
        string alice = gw.Token("alice");
        AssertTaskNotFound(await gw.PostAsync(StatelessTasks(1, "tasks/get", "task-999"), alice, StatelessHeaders("tasks/get")));
        // An escaped method name is still a tasks method.
        AssertTaskNotFound(await gw.PostAsync(StatelessTasks(2, "tasks\\u002fget", "task-999"), alice, StatelessHeaders("tasks/get")));

        RawResponse missing = await gw.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tasks/get\",\"params\":{" + Meta + "}}", alice, StatelessHeaders("tasks/get"));
        Assert.Equal(JsonRpcErrorCodes.InvalidParams, missing.JsonRpcError().Code);
        RawResponse numeric = await gw.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tasks/get\",\"params\":{\"taskId\":1," + Meta + "}}", alice, StatelessHeaders("tasks/get"));
        Assert.Equal(JsonRpcErrorCodes.InvalidParams, numeric.JsonRpcError().Code);
        // A case variant a lenient upstream would read as taskId, beside the one checked here.
        RawResponse variant = await gw.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tasks/get\",\"params\":{\"taskId\":\"x\",\"TaskId\":\"task-1\"," + Meta + "}}",
            alice, StatelessHeaders("tasks/get"));
        Assert.Equal(400, variant.Status);
        Assert.Equal(0, TasksRequests(gw.Upstream));
    }

    [Fact]
    public async Task A_refused_tasks_request_is_a_denied_record_with_the_built_in_rule()
    {
        await using var gw = await PolicyGateway.StartAsync(new TaskServer().Script, AllowAll);
        string alice = gw.Token("alice"), bob = gw.Token("bob");
        string task = CreatedTaskId(await gw.PostAsync(StatelessCall(1, "alice-data"), alice, StatelessHeaders("tools/call", "research")), onEventStream: false);
        AssertTaskNotFound(await gw.PostAsync(StatelessTasks(2, "tasks/result", task), bob, StatelessHeaders("tasks/result")));

        string[] records = await gw.StopAndReadAuditAsync();
        JsonElement[] denied = [.. records.Select(r => JsonDocument.Parse(r).RootElement).Where(r => r.GetProperty("type").GetString() == "Denied")];
        JsonElement record = Assert.Single(denied);
        Assert.Equal("bob", record.GetProperty("user").GetProperty("subject").GetString());
        Assert.Equal("tasks/result", record.GetProperty("component").GetProperty("method").GetString());
        Assert.Equal("(task-not-yours)", record.GetProperty("rule").GetString());
        Assert.Contains("another caller", record.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_caller_past_tasks_maxPerCaller_loses_its_own_oldest_task()
    {
        await using var gw = await PolicyGateway.StartAsync(new TaskServer().Script, AllowAll, o => o.Tasks.MaxPerCaller = 2);
        string alice = gw.Token("alice"), bob = gw.Token("bob");
        string bobs = CreatedTaskId(await gw.PostAsync(StatelessCall(1, "bob-data"), bob, StatelessHeaders("tools/call", "research")), onEventStream: false);
        string[] alices = new string[3];
        for (int i = 0; i < alices.Length; i++)
            alices[i] = CreatedTaskId(await gw.PostAsync(StatelessCall(2 + i, "alice-data"), alice, StatelessHeaders("tools/call", "research")), onEventStream: false);

        AssertTaskNotFound(await gw.PostAsync(StatelessTasks(10, "tasks/get", alices[0]), alice, StatelessHeaders("tasks/get")));
        Assert.Equal(0, TasksRequests(gw.Upstream));
        Assert.DoesNotContain("\"error\"", (await gw.PostAsync(StatelessTasks(11, "tasks/get", alices[1]), alice, StatelessHeaders("tasks/get"))).Body, StringComparison.Ordinal);
        Assert.DoesNotContain("\"error\"", (await gw.PostAsync(StatelessTasks(12, "tasks/get", alices[2]), alice, StatelessHeaders("tasks/get"))).Body, StringComparison.Ordinal);
        // Alice's churn cost bob nothing.
        Assert.DoesNotContain("\"error\"", (await gw.PostAsync(StatelessTasks(13, "tasks/get", bobs), bob, StatelessHeaders("tasks/get"))).Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_batch_with_a_tasks_request_is_refused_whole_and_not_forwarded()
    {
        await using var gw = await PolicyGateway.StartAsync(new TaskServer().Script, AllowAll);
        string alice = gw.Token("alice");
        RawResponse refused = await gw.PostAsync("[" + SessionTasks(1, "tasks/get", "task-1") + ",{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tasks/list\"}]", alice);
        Assert.Contains("not accepted in a batch", refused.Body, StringComparison.Ordinal);
        Assert.Empty(gw.Upstream.Requests);
    }

    [Fact]
    public void Task_bounds_are_validated_naming_the_field()
    {
        var options = new Configuration.GatewayOptions();
        options.Tasks.MaxPerCaller = 0;
        Assert.Equal("tasks.maxPerCaller", Assert.Throws<Configuration.ConfigurationException>(() => Configuration.ConfigurationLoader.Validate(options)).Field);
        options.Tasks.MaxPerCaller = 1_000;
        options.Tasks.MaxPerUpstream = 10;
        Assert.Equal("tasks.maxPerUpstream", Assert.Throws<Configuration.ConfigurationException>(() => Configuration.ConfigurationLoader.Validate(options)).Field);
        options.Tasks.MaxPerUpstream = 100_000;
        Configuration.ConfigurationLoader.Validate(options);
        Assert.Equal(1_000, new Configuration.GatewayOptions().Tasks.MaxPerCaller);
        Assert.Equal(100_000, new Configuration.GatewayOptions().Tasks.MaxPerUpstream);
    }

    [Theory]
    [InlineData("[{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tasks\":[{\"taskId\":\"task-of-someone\"}]}}]")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tasks\":[{\"taskId\":\"task-of-someone\"}],\"Tasks\":[]}}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tasks\":{\"taskId\":\"task-of-someone\"}}}")]
    public async Task A_tasks_list_answer_that_cannot_be_filtered_is_withheld(string answer)
    {
        await using var gw = await PolicyGateway.StartAsync(x => x.RespondJsonAsync(answer), AllowAll);
        RawResponse response = await gw.PostAsync("""{"jsonrpc":"2.0","id":2,"method":"tasks/list"}""", gw.Token("bob"));
        Assert.DoesNotContain("task-of-someone", response.Body, StringComparison.Ordinal);
        Assert.Equal(JsonRpcErrorCodes.InternalError, response.JsonRpcError().Code);
    }

    [Fact]
    public async Task On_a_federated_path_tasks_requests_reach_no_member()
    {
        await using var member = new ScriptedUpstream(new TaskServer().Script);
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o =>
        {
            o.Upstreams["a"] = new Configuration.UpstreamOptions { Url = member.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new Configuration.RouteOptions { Path = "/mcp/all", Federate = ["a"] }];
        });
        string alice = gw.Token("alice");
        string session = (await gw.PostAsync(Initialize, alice, path: "/mcp/all")).Header("Mcp-Session-Id")!;
        foreach (string method in new[] { "tasks/get", "tasks/result", "tasks/cancel", "tasks/update" })
        {
            RawResponse refused = await gw.PostAsync(SessionTasks(2, method, "task-1"), alice, SessionHeader(session), "/mcp/all");
            Assert.Equal(JsonRpcErrorCodes.MethodNotFound, refused.JsonRpcError().Code);
        }
        Assert.Equal(JsonRpcErrorCodes.MethodNotFound,
            (await gw.PostAsync("""{"jsonrpc":"2.0","id":3,"method":"tasks/list"}""", alice, SessionHeader(session), "/mcp/all")).JsonRpcError().Code);
        Assert.Equal(0, TasksRequests(member));
    }
}
