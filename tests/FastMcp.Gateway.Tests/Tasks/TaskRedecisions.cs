using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>What the tests of a task's re-decision share: a policy reload on a running replica, and the refusal of a task whose creating call is no longer allowed.</summary>
internal static class TaskRedecisions
{
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
