using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>
/// What the tests of a task's re-decision share: the rules and messages of a session-era task of 'research', a policy reload on a
/// running replica, and the refusal of a task whose creating call is no longer allowed.
/// </summary>
internal static class TaskRedecisions
{
    public const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    public static readonly RuleOptions Protocol = new() { Name = "protocol", Action = "allow", Methods = ["initialize", "notifications/*"] };
    public static readonly RuleOptions TasksRule = new() { Name = "tasks", Action = "allow", Methods = ["tasks/*"] };
    public static readonly RuleOptions Research = new() { Name = "research", Action = "allow", Methods = ["tools/call"], Names = ["research"] };

    public static readonly List<RuleOptions> Rules = [Protocol, Research, TasksRule];

    public static string Call(string arguments) =>
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"research\",\"arguments\":" + arguments + ",\"task\":{\"ttl\":60000}}}";

    public static string TasksRequest(string method, string task) =>
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"" + method + "\",\"params\":{\"taskId\":\"" + task + "\"}}";

    public static async Task<(string Session, string Task)> CreateTaskAsync(PolicyGateway gw, string token, string arguments = """{"q":"rates"}""")
    {
        string session = (await gw.PostAsync(Initialize, token)).Header("Mcp-Session-Id")!;
        RawResponse created = await gw.PostAsync(Call(arguments), token, $"Mcp-Session-Id: {session}\r\n");
        Assert.Equal(200, created.Status);
        using var doc = JsonDocument.Parse(created.Body);
        return (session, doc.RootElement.GetProperty("result").GetProperty("task").GetProperty("taskId").GetString()!);
    }

    public static void Reload(PolicyGateway gw, params RuleOptions[] rules) =>
        gw.Gateway.Stages.Authorization!.Swap(GatewayStages.CompilePolicy(new PolicyOptions { Rules = [.. rules] }));

    /// <summary>Asserts the JSON-RPC refusal (-32001, HTTP 200) whose message says why, naming <paramref name="because"/>; returns the answer.</summary>
    public static JsonElement AssertRefused(RawResponse answer, string because)
    {
        Assert.Equal(200, answer.Status);
        using var doc = JsonDocument.Parse(answer.Body);
        JsonElement error = doc.RootElement.GetProperty("error");
        Assert.Equal(-32001, error.GetProperty("code").GetInt32());
        string message = error.GetProperty("message").GetString()!;
        Assert.Contains("the call that created this task is no longer allowed", message, StringComparison.Ordinal);
        Assert.Contains(because, message, StringComparison.Ordinal);
        return doc.RootElement.Clone();
    }
}
