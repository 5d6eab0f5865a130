using System.Text;

namespace FastMcp.Mcp.Tests;

/// <summary>
/// Every place a message names a task id, in both task protocol versions (the ids the gateway seals for the caller), and
/// nothing else: a tool's output holding a taskId is not a task id.
/// </summary>
public sealed class TaskIdMembersTests
{
    private sealed class Collected
    {
        public readonly List<string> Tokens = [];
    }

    private readonly struct Collector(Collected into, byte[] json, string? refuse) : ITaskIdVisitor
    {
        public bool Visit(Range taskIdToken)
        {
            string token = Encoding.UTF8.GetString(json[taskIdToken]);
            into.Tokens.Add(token);
            return token != refuse;
        }
    }

    private static (bool Read, List<string> Tokens) Visit(string message, string? refuse = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(message);
        var into = new Collected();
        var collector = new Collector(into, json, refuse);
        bool read = TaskIdMembers.TryVisit(json, ref collector);
        return (read, into.Tokens);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"task":{"taskId":"a","status":"working"}}}""", "\"a\"")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"resultType":"task","taskId":"a"}}""", "\"a\"")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"taskId":"a","status":"completed"}}""", "\"a\"")]
    [InlineData("""{"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"taskId":"a","status":"working"}}""", "\"a\"")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"content":[],"_meta":{"io.modelcontextprotocol/related-task":{"taskId":"a"}}}}""", "\"a\"")]
    [InlineData("""{"jsonrpc":"2.0","id":0,"method":"elicitation/create","params":{"_meta":{"io.modelcontextprotocol/related-task":{"taskId":"a"}}}}""", "\"a\"")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tasks":[{"taskId":"a"},{"taskId":"b\u0031"}]}}""", "\"a\"|\"b\\u0031\"")]
    // Escaped member names are the same members; duplicates are each visited.
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"task\u0049d":"a","taskId":"b"}}""", "\"a\"|\"b\"")]
    public void Every_task_id_member_is_visited_in_document_order(string message, string expected)
    {
        (bool read, List<string> tokens) = Visit(message);
        Assert.True(read);
        Assert.Equal(expected.Split('|'), tokens);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"taskId":"a"},"content":[{"type":"text","text":"taskId"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"taskId":7,"task":"x","tasks":{"taskId":"a"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Task not found","data":{"taskId":"a"}}}""")]
    public void Other_members_and_non_string_ids_are_not_task_ids(string message)
    {
        (bool read, List<string> tokens) = Visit(message);
        Assert.True(read);
        Assert.Empty(tokens);
    }

    [Theory]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"result":{"taskId":"a"}}]""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"taskId":"a"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"taskId":"a"}} {}""")]
    [InlineData("not json taskId")]
    public void A_message_that_is_not_one_json_object_is_not_read(string message) => Assert.False(Visit(message).Read);

    [Fact]
    public void A_visitor_refusing_an_id_stops_the_walk()
    {
        (bool read, List<string> tokens) = Visit("""{"jsonrpc":"2.0","id":1,"result":{"tasks":[{"taskId":"a"},{"taskId":"b"},{"taskId":"c"}]}}""", refuse: "\"b\"");
        Assert.False(read);
        Assert.Equal(["\"a\"", "\"b\""], tokens);
    }
}
