using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

/// <summary>
/// What the gateway reads of tasks: the task id a tasks request names (every tasks/ method but the list must name one),
/// the task id a success answer creates, and tasks/list entries by taskId.
/// </summary>
public sealed class TaskMessageTests
{
    private static (McpInspectError Error, McpCall Call, byte[] Body) Inspect(string json)
    {
        byte[] body = Encoding.UTF8.GetBytes(json);
        McpInspectError error = McpInspector.Inspect(new ReadOnlySequence<byte>(body), out McpCall call);
        return (error, call, body);
    }

    private static string Unescaped(byte[] body, Range token)
    {
        Span<byte> text = stackalloc byte[256];
        int n = McpInspector.CopyUnescaped(body, token, text);
        return n < 0 ? "(none)" : Encoding.UTF8.GetString(text[..n]);
    }

    [Theory]
    [InlineData("tasks/get")]
    [InlineData("tasks/result")]
    [InlineData("tasks/cancel")]
    [InlineData("tasks/update")]
    [InlineData("tasks/anything-later")]
    [InlineData("tasks\\u002fupdate")]
    public void A_tasks_request_names_its_task(string method)
    {
        var (error, call, body) = Inspect("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"" + method + "\",\"params\":{\"taskId\":\"t-\\u0031\"}}");
        Assert.Equal(McpInspectError.None, error);
        Assert.True(call.IsTasksMethod);
        Assert.True(call.HasTaskId);
        Assert.Equal("t-1", Unescaped(body, call.TaskIdRange));
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"taskId\":1}")]
    [InlineData("{\"taskId\":null}")]
    [InlineData("{\"taskId\":{\"id\":\"t-1\"}}")]
    public void A_tasks_request_without_a_string_task_id_is_invalid_params(string parameters)
    {
        Assert.Equal(McpInspectError.InvalidParams, Inspect("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/get\",\"params\":" + parameters + "}").Error);
        Assert.Equal(McpInspectError.InvalidParams, Inspect("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/update\"}").Error);
    }

    [Fact]
    public void A_case_variant_of_taskId_is_refused_and_tasks_list_needs_no_id()
    {
        Assert.Equal(McpInspectError.CaseVariantMember,
            Inspect("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/get\",\"params\":{\"taskId\":\"mine\",\"TaskID\":\"theirs\"}}").Error);
        Assert.Equal(McpInspectError.DuplicateMember,
            Inspect("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/get\",\"params\":{\"taskId\":\"mine\",\"taskId\":\"theirs\"}}").Error);
        var (error, call, _) = Inspect("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/list\",\"params\":{\"cursor\":\"c\"}}");
        Assert.Equal(McpInspectError.None, error);
        Assert.True(call.IsTasksMethod);
        Assert.False(call.HasTaskId);
        var (_, other, _) = Inspect("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"taskstatus/get\",\"params\":{}}");
        Assert.False(other.IsTasksMethod);
    }

    [Theory]
    [InlineData("{\"task\":{\"taskId\":\"t-1\",\"status\":\"working\"}}", "t-1")]                     // 2025-11-25
    [InlineData("{\"resultType\":\"task\",\"taskId\":\"t-2\",\"status\":\"working\"}", "t-2")]         // 2026-07-28
    [InlineData("{\"taskId\":\"t-\\u0033\",\"status\":\"working\",\"resultType\":\"task\"}", "t-3")]    // order and escapes
    [InlineData("{\"content\":[],\"taskId\":\"t-4\"}", "(none)")]                                      // no resultType: not a created task
    [InlineData("{\"resultType\":\"complete\",\"taskId\":\"t-5\"}", "(none)")]
    [InlineData("{\"task\":{\"taskId\":\"t-6\"},\"resultType\":\"task\",\"taskId\":\"t-7\"}", "(none)")] // both shapes: ambiguous
    [InlineData("{\"task\":{\"status\":\"working\"}}", "(none)")]
    [InlineData("{\"task\":{\"taskId\":7}}", "(none)")]
    public void A_created_task_is_found_in_either_eras_result(string result, string expected)
    {
        byte[] json = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":" + result + "}");
        string found = CreatedTaskReader.TryFind(json, out Range token) ? Unescaped(json, token) : "(none)";
        Assert.Equal(expected, found);
    }

    [Fact]
    public void An_error_or_a_request_creates_no_task()
    {
        Assert.False(CreatedTaskReader.TryFind("""{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"x","data":{"task":{"taskId":"t"}}}}"""u8, out _));
        Assert.False(CreatedTaskReader.TryFind("""{"jsonrpc":"2.0","id":1,"method":"m","params":{"task":{"taskId":"t"}}}"""u8, out _));
        Assert.False(CreatedTaskReader.TryFind("""{"jsonrpc":"2.0","id":1,"result":{"task":{"taskId":"t"}},"result":{}}"""u8, out _));
        Assert.False(CreatedTaskReader.TryFind("""{"jsonrpc":"2.0","id":1,"result":{"task":{"taskId":"t"}"""u8, out _));
    }

    [Fact]
    public void Reading_a_created_task_allocates_nothing()
    {
        byte[] json = """{"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":"786512e2","status":"working"}}"""u8.ToArray();
        CreatedTaskReader.TryFind(json, out _);
        Assert.Equal(0, ThreadAllocations.Measure(() => { for (int i = 0; i < 1_000; i++) CreatedTaskReader.TryFind(json, out _); }));
    }
}
