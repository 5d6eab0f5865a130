using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>
/// A task's answers are the created call's output: tasks/get and tasks/result are masked with the profile of the rule
/// that allowed the creating call, not with that of the rule allowing the tasks request (docs/mcp-handling.md, "Tasks").
/// Here the tool's rule keeps no digit and a tasks/* rule names no profile (the default keeps the first six and last four).
/// </summary>
public sealed class TaskMaskProfileTests : IDisposable
{
    private readonly ReplicaKeys _keys = new();

    public void Dispose() => _keys.Dispose();

    private const string Pan = "4111111111111111";

    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    private static readonly List<RuleOptions> Rules =
    [
        new RuleOptions { Name = "protocol", Action = "allow", Methods = ["initialize", "notifications/*"] },
        new RuleOptions { Name = "research", Action = "allow", Methods = ["tools/call"], Names = ["research"], MaskProfile = "nodigits" },
        new RuleOptions { Name = "tasks", Action = "allow", Methods = ["tasks/*"] },
    ];

    // The card number reaches the upstream (requests "forward") and so comes back in the task's output.
    private static void NoDigits(GatewayOptions o) =>
        o.Masking.Profiles["nodigits"] = new MaskingProfileOptions { KeepFirst = 0, KeepLast = 0, Requests = "forward" };

    private async Task<(PolicyGateway Gw, string Token, string Session, string Task)> CreateTaskAsync(bool sealedIds = false)
    {
        PolicyGateway gw = await PolicyGateway.StartAsync(new TaskServer().Script, Rules, configure: o =>
        {
            NoDigits(o);
            if (!sealedIds) return;
            o.Masking.FingerprintKeyFile = _keys.PanKeyFile;
            o.Tasks.Sealed = true;
        });
        string alice = gw.Token("alice");
        string session = (await gw.PostAsync(Initialize, alice)).Header("Mcp-Session-Id")!;
        RawResponse created = await gw.PostAsync(
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"research\",\"arguments\":{\"q\":\"" + Pan + "\"},\"task\":{\"ttl\":60000}}}",
            alice, $"Mcp-Session-Id: {session}\r\n");
        using var doc = System.Text.Json.JsonDocument.Parse(created.Body);
        return (gw, alice, session, doc.RootElement.GetProperty("result").GetProperty("task").GetProperty("taskId").GetString()!);
    }

    private static string TasksRequest(string method, string task) =>
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"" + method + "\",\"params\":{\"taskId\":\"" + task + "\"}}";

    [Theory]
    [InlineData("tasks/get", false)]
    [InlineData("tasks/result", false)]
    [InlineData("tasks/get", true)]
    [InlineData("tasks/result", true)]
    public async Task A_tasks_answer_is_masked_with_the_profile_of_the_rule_that_allowed_the_creating_call(string method, bool sealedIds)
    {
        (PolicyGateway gw, string alice, string session, string task) = await CreateTaskAsync(sealedIds);
        await using (gw)
        {
            RawResponse answer = await gw.PostAsync(TasksRequest(method, task), alice, $"Mcp-Session-Id: {session}\r\n");

            Assert.Equal(200, answer.Status);
            Assert.Contains("****************", answer.Body, StringComparison.Ordinal);
            Assert.DoesNotContain("411111", answer.Body, StringComparison.Ordinal);
            string[] records = await gw.StopAndReadAuditAsync();
            Assert.DoesNotContain(records, r => r.Contains("411111", StringComparison.Ordinal) && r.Contains(method, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_task_whose_profile_a_reload_removed_is_refused_not_masked_with_the_default()
    {
        (PolicyGateway gw, string alice, string session, string task) = await CreateTaskAsync();
        await using (gw)
        {
            int forwarded = gw.Upstream.Requests.Count;
            gw.Gateway.Stages.Masking!.TakeSettingsOf(GatewayStages.CreateMasking(new MaskingOptions(), gw.Gateway.Stages.Masking.FingerprintKey)!);

            RawResponse answer = await gw.PostAsync(TasksRequest("tasks/result", task), alice, $"Mcp-Session-Id: {session}\r\n");

            Assert.Equal(200, answer.Status);
            Assert.Contains("Task not found", answer.Body, StringComparison.Ordinal);
            Assert.DoesNotContain("411111", answer.Body, StringComparison.Ordinal);
            Assert.Equal(forwarded, gw.Upstream.Requests.Count);
        }
    }
}
