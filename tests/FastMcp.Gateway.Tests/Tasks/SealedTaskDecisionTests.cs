using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Tasks.TaskRedecisions;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>
/// A sealed task id is decided the same way on every replica and after every reload (docs/mcp-handling.md, "Sealed ids
/// bound on presentation"): the id carries the creating call, so a replica that never saw that call decides it under its
/// own policy in force, masks the task's answers with the creating rule's profile, and refuses (fail closed) what it
/// cannot decide. Two in-process gateways sharing the seal key stand for two replicas (or one before and after a restart),
/// in front of one task store.
/// </summary>
public sealed class SealedTaskDecisionTests : IDisposable
{
    private const string Pan = "4111111111111111";

    private static readonly RuleOptions TasksRule = new() { Name = "tasks", Action = "allow", Methods = ["tasks/*"] };
    private static readonly RuleOptions Research = new() { Name = "research", Action = "allow", Methods = ["tools/call"], Names = ["research"] };
    private static readonly RuleOptions NoLargeResearch = new()
    {
        Name = "no-large-research", Action = "deny", Methods = ["tools/call"], Names = ["research"],
        Arguments = [new ArgumentConditionOptions { Pointer = "/amount", GreaterThan = 100 }],
    };

    private readonly SealedReplicas _replicas = new();

    public void Dispose() => _replicas.Dispose();

    private static string TasksRequest(string method, string task) =>
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"" + method + "\",\"params\":{\"taskId\":\"" + task + "\"}}";

    private static Task<RawResponse> TasksAsync(PolicyGateway gw, string token, string method, string task) => gw.PostAsync(TasksRequest(method, task), token);

    private static void AssertAdmitted(RawResponse answer)
    {
        Assert.Equal(200, answer.Status);
        Assert.DoesNotContain("\"error\"", answer.Body, StringComparison.Ordinal);
    }

    private static int TasksForwarded(PolicyGateway gw) => gw.Upstream.Requests.Count(r => r.Body.Contains("\"tasks/", StringComparison.Ordinal));

    [Fact]
    public async Task Another_replica_admits_a_task_only_while_its_policy_allows_the_creating_call()
    {
        var upstream = new TaskServer();
        string alice = _replicas.Token("alice");
        await using PolicyGateway a = await _replicas.StartAsync(upstream.Script, [Research, TasksRule]);
        // B allows tasks/* but not the tool: A's task must not flow through B on the tasks rule alone.
        await using PolicyGateway b = await _replicas.StartAsync(upstream.Script, [TasksRule]);
        await using PolicyGateway c = await _replicas.StartAsync(upstream.Script, [Research, TasksRule]);
        string task = await SealedReplicas.CreateTaskAsync(a, alice);

        AssertRefused(await TasksAsync(b, alice, "tasks/result", task), "the tools/call 'research' that created the task: denied by the default");
        Assert.Equal(0, TasksForwarded(b));
        AssertAdmitted(await TasksAsync(c, alice, "tasks/result", task));
        Assert.Equal(1, TasksForwarded(c));

        // B's reload that allows the tool admits the task there too: it is decided, not remembered as refused.
        Reload(b, Research, TasksRule);
        AssertAdmitted(await TasksAsync(b, alice, "tasks/get", task));
        string[] records = await b.StopAndReadAuditAsync();
        string refusal = Assert.Single(records, r => r.Contains("\"type\":\"Denied\"", StringComparison.Ordinal) && r.Contains("tasks/result", StringComparison.Ordinal));
        Assert.Contains("(task-call-not-allowed)", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reload_denying_the_tool_refuses_the_task_on_a_replica_that_first_sees_its_id_after_the_reload()
    {
        var upstream = new TaskServer();
        string alice = _replicas.Token("alice");
        await using PolicyGateway a = await _replicas.StartAsync(upstream.Script, [Research, TasksRule]);
        await using PolicyGateway b = await _replicas.StartAsync(upstream.Script, [Research, TasksRule]);
        string task = await SealedReplicas.CreateTaskAsync(a, alice);

        foreach (PolicyGateway replica in new[] { a, b }) Reload(replica, TasksRule);

        AssertRefused(await TasksAsync(b, alice, "tasks/result", task), "denied by the default");
        AssertRefused(await TasksAsync(a, alice, "tasks/result", task), "denied by the default");
        Assert.Equal(0, TasksForwarded(b));
    }

    [Fact]
    public async Task A_replica_restarted_under_a_policy_that_denies_the_tool_refuses_the_task()
    {
        var upstream = new TaskServer();
        string alice = _replicas.Token("alice");
        string task;
        await using (PolicyGateway before = await _replicas.StartAsync(upstream.Script, [Research, TasksRule]))
        {
            task = await SealedReplicas.CreateTaskAsync(before, alice);
            AssertAdmitted(await TasksAsync(before, alice, "tasks/get", task));
        }

        await using PolicyGateway after = await _replicas.StartAsync(upstream.Script,
            [new RuleOptions { Name = "no-research", Action = "deny", Methods = ["tools/call"], Names = ["research"] }, TasksRule]);
        AssertRefused(await TasksAsync(after, alice, "tasks/get", task), "denied by rule 'no-research'");
        Assert.Equal(0, TasksForwarded(after));
    }

    [Fact]
    public async Task Another_replica_decides_argument_conditions_on_the_arguments_the_task_was_created_with()
    {
        var upstream = new TaskServer();
        string alice = _replicas.Token("alice");
        await using PolicyGateway a = await _replicas.StartAsync(upstream.Script, [Research, TasksRule]);
        await using PolicyGateway b = await _replicas.StartAsync(upstream.Script, [NoLargeResearch, Research, TasksRule]);
        string small = await SealedReplicas.CreateTaskAsync(a, alice, """{"amount":5}""");
        string large = await SealedReplicas.CreateTaskAsync(a, alice, """{"amount":5000}""");

        AssertAdmitted(await TasksAsync(b, alice, "tasks/result", small));
        AssertRefused(await TasksAsync(b, alice, "tasks/result", large), "denied by rule 'no-large-research'");
    }

    [Fact]
    public async Task Withheld_arguments_are_refused_as_not_kept_where_a_rule_reads_them_and_never_travel_in_the_id()
    {
        var upstream = new TaskServer();
        string alice = _replicas.Token("alice");
        await using PolicyGateway a = await _replicas.StartAsync(upstream.Script, [Research, TasksRule]);
        await using PolicyGateway b = await _replicas.StartAsync(upstream.Script, [NoLargeResearch, Research, TasksRule]);
        await using PolicyGateway c = await _replicas.StartAsync(upstream.Script, [Research, TasksRule]);
        string withCard = await SealedReplicas.CreateTaskAsync(a, alice, "{\"card\":\"" + Pan + "\",\"amount\":5}");

        AssertRefused(await TasksAsync(b, alice, "tasks/get", withCard), "denied by rule '(arguments-not-kept)'");
        // A policy that reads no arguments on the call's path decides it without them.
        AssertAdmitted(await TasksAsync(c, alice, "tasks/get", withCard));
        Assert.DoesNotContain(Pan, Opened(withCard), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Arguments_travel_encrypted_in_the_sealed_id()
    {
        var upstream = new TaskServer();
        string alice = _replicas.Token("alice");
        await using PolicyGateway a = await _replicas.StartAsync(upstream.Script, [Research, TasksRule]);
        string task = await SealedReplicas.CreateTaskAsync(a, alice, """{"q":"confidential-merger-target"}""");

        Assert.DoesNotContain("confidential-merger-target", Opened(task), StringComparison.Ordinal);
        Assert.DoesNotContain("research", Opened(task), StringComparison.Ordinal);
        // The upstream's id stays readable (auditors correlate it with the upstream's logs), as in fmt1.
        Assert.Contains("task-1", Opened(task), StringComparison.Ordinal);
        // The same task is shown the same id every time (clients match status notifications and lists by it).
        Assert.Equal(task, ResultTaskId((await TasksAsync(a, alice, "tasks/get", task)).Body));
    }

    [Fact]
    public async Task Another_replica_masks_the_tasks_answers_with_the_creating_rules_profile()
    {
        var upstream = new TaskServer();
        string alice = _replicas.Token("alice");
        var nodigits = new RuleOptions { Name = "research", Action = "allow", Methods = ["tools/call"], Names = ["research"], MaskProfile = "nodigits" };
        static void NoDigits(GatewayOptions o) => o.Masking.Profiles["nodigits"] = new MaskingProfileOptions { KeepFirst = 0, KeepLast = 0, Requests = "forward" };
        await using PolicyGateway a = await _replicas.StartAsync(upstream.Script, [nodigits, TasksRule], NoDigits);
        await using PolicyGateway b = await _replicas.StartAsync(upstream.Script, [nodigits, TasksRule], NoDigits);
        string task = await SealedReplicas.CreateTaskAsync(a, alice, "{\"q\":\"" + Pan + "\"}");

        RawResponse answer = await TasksAsync(b, alice, "tasks/result", task);
        AssertAdmitted(answer);
        Assert.Contains("****************", answer.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("411111", answer.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_replica_admits_an_approved_calls_task_only_while_the_same_rule_asks_for_approval()
    {
        RuleOptions Grant(string name) => new()
        {
            Name = name, Action = "require_approval", Methods = ["tools/call"], Names = ["research"], Approvers = ["release"], ApprovalMode = "grant",
            GrantWindowSeconds = 3600,
        };
        var upstream = new TaskServer();
        string alice = _replicas.Token("alice"), bob = _replicas.Token("bob", "release");
        // A and B are each other's peers: B asks A, which holds the approval, whether it still stands.
        int[] admin = [UnusedPort.Pick(), UnusedPort.Pick()];
        Action<GatewayOptions> Peer(int index) => o =>
        {
            o.Admin.Listen = $"127.0.0.1:{admin[index]}";
            o.Approvals.Peers.Urls = [$"http://127.0.0.1:{admin[0]}", $"http://127.0.0.1:{admin[1]}"];
        };
        await using PolicyGateway a = await _replicas.StartAsync(upstream.Script, [Grant("research-grant"), TasksRule], Peer(0));
        await using PolicyGateway b = await _replicas.StartAsync(upstream.Script, [Grant("research-grant"), TasksRule], Peer(1));
        await using PolicyGateway c = await _replicas.StartAsync(upstream.Script, [Grant("research-review"), TasksRule]);
        RawResponse pending = await SealedReplicas.CallAsync(a, alice);
        string approval;
        using (var doc = JsonDocument.Parse(pending.Body)) approval = doc.RootElement.GetProperty("error").GetProperty("data").GetProperty("approvalId").GetString()!;
        Assert.Equal(System.Net.HttpStatusCode.OK, (await AdminRequests.AdminAsync(a, HttpMethod.Post, $"/approvals/{approval}/approve", "{}", bob)).Status);
        string task = await SealedReplicas.CreateTaskAsync(a, alice);

        // B holds no approval, but the id attests that approval admitted the call under the rule B would ask it of, and A vouches for it.
        AssertAdmitted(await TasksAsync(b, alice, "tasks/result", task));
        AssertRefused(await TasksAsync(c, alice, "tasks/result", task), "now needs approval by rule 'research-review'");
        Assert.Equal(0, TasksForwarded(c));
    }

    [Theory]
    [InlineData("flip")]
    [InlineData("truncate")]
    [InlineData("extend")]
    public async Task A_tampered_or_truncated_sealed_id_is_not_found_and_never_forwarded(string how)
    {
        var upstream = new TaskServer();
        string alice = _replicas.Token("alice");
        await using PolicyGateway a = await _replicas.StartAsync(upstream.Script, [Research, TasksRule]);
        await using PolicyGateway b = await _replicas.StartAsync(upstream.Script, [Research, TasksRule]);
        string task = await SealedReplicas.CreateTaskAsync(a, alice);
        int middle = task.Length / 2;
        string bad = how switch
        {
            "flip" => task[..middle] + (task[middle] == 'A' ? 'B' : 'A') + task[(middle + 1)..],
            "truncate" => task[..^3],
            _ => task + "AAAA",
        };

        foreach (PolicyGateway replica in new[] { a, b })
        {
            RawResponse answer = await TasksAsync(replica, alice, "tasks/get", bad);
            Assert.Equal(200, answer.Status);
            Assert.Equal(JsonRpcErrorCodes.InvalidParams, answer.JsonRpcError().Code);
            Assert.Contains("Task not found", answer.Body, StringComparison.Ordinal);
        }
        Assert.Equal(0, TasksForwarded(b));
    }

    [Fact]
    public async Task An_old_format_sealed_id_naming_a_task_this_replica_did_not_create_is_refused_as_undecidable()
    {
        var upstream = new TaskServer();
        string alice = _replicas.Token("alice");
        await using PolicyGateway a = await _replicas.StartAsync(upstream.Script, [Research, TasksRule]);
        await using PolicyGateway b = await _replicas.StartAsync(upstream.Script, [Research, TasksRule]);
        await SealedReplicas.CreateTaskAsync(a, alice);
        // What a replica of the previous version gave the client for the upstream's "task-1" (fmt1.: tag and id, no call).
        var v1 = FastMcp.Gateway.Sessions.IdSeal.ForTasks(Convert.FromHexString(File.ReadAllText(_replicas.PanKeyFile)));
        var caller = new Principal("alice", [], [], null, DevKeys.Issuer, DateTimeOffset.MaxValue);
        byte[] old = new byte[v1.SealedLength(6)];
        v1.Seal("task-1"u8, caller, "default", old);

        AssertRefused(await TasksAsync(b, alice, "tasks/get", System.Text.Encoding.ASCII.GetString(old)), "fmt1.");
        Assert.Equal(0, TasksForwarded(b));
    }

    /// <summary>What the sealed id's bytes show to anyone holding it: its base64url part decoded.</summary>
    private static string Opened(string sealedId)
    {
        string encoded = sealedId[(sealedId.IndexOf('.') + 1)..];
        byte[] raw = System.Buffers.Text.Base64Url.DecodeFromChars(encoded);
        return System.Text.Encoding.Latin1.GetString(raw);
    }

    private static string ResultTaskId(string json)
    {
        using JsonDocument doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("result").GetProperty("taskId").GetString()!;
    }
}
