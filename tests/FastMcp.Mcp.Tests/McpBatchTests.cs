using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

public class McpBatchTests
{
    private static (McpBatchError Error, string[] Members) Locate(string json, int capacity = McpBatch.MaxMembers)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        var ranges = new Range[capacity];
        McpBatchError error = McpBatch.LocateMembers(new ReadOnlySequence<byte>(bytes), ranges, out int count);
        return (error, [.. ranges.Take(count).Select(r => Encoding.UTF8.GetString(bytes[r]))]);
    }

    [Fact]
    public void Members_are_located_exactly_whatever_they_are()
    {
        (McpBatchError error, string[] members) = Locate(""" [ {"a":[1,{"b":2}]} , 7,"s" ,[] ,{}] """);
        Assert.Equal(McpBatchError.None, error);
        Assert.Equal(["""{"a":[1,{"b":2}]}""", "7", "\"s\"", "[]", "{}"], members);
    }

    [Fact]
    public void Members_are_located_in_a_body_split_into_many_segments()
    {
        byte[] bytes = Encoding.UTF8.GetBytes("""[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":"x","method":"tools/list"}]""");
        for (int split = 1; split < bytes.Length; split++)
        {
            ReadOnlySequence<byte> body = Segments.Split(bytes, split);
            var ranges = new Range[4];
            Assert.Equal(McpBatchError.None, McpBatch.LocateMembers(body, ranges, out int count));
            Assert.Equal(2, count);
            Assert.Equal(McpInspectError.None, McpInspector.Inspect(body.Slice(ranges[1].Start.Value, ranges[1].End.Value - ranges[1].Start.Value), out McpCall call));
            Assert.Equal(McpMethod.ToolsList, call.Method);
        }
    }

    [Theory]
    [InlineData("[]", McpBatchError.Empty)]
    [InlineData(" [ \n ] ", McpBatchError.Empty)]
    [InlineData("{}", McpBatchError.NotAnArray)]
    [InlineData("[1,]", McpBatchError.InvalidJson)]
    [InlineData("[1] [2]", McpBatchError.InvalidJson)]
    [InlineData("[1", McpBatchError.InvalidJson)]
    [InlineData("[\"\\ud800\"]", McpBatchError.InvalidJson)]
    public void Broken_or_empty_batches_are_named(string json, McpBatchError expected) => Assert.Equal(expected, Locate(json).Error);

    [Fact]
    public void Deep_nesting_inside_a_member_is_refused()
    {
        string deep = "[" + new string('[', McpInspector.MaxDepth + 1) + new string(']', McpInspector.MaxDepth + 1) + "]";
        Assert.Equal(McpBatchError.InvalidJson, Locate(deep).Error);
    }

    [Fact]
    public void More_members_than_the_limit_are_refused()
    {
        Assert.Equal(McpBatchError.None, Locate("[" + string.Join(",", Enumerable.Repeat("1", McpBatch.MaxMembers)) + "]").Error);
        Assert.Equal(McpBatchError.TooManyMembers, Locate("[" + string.Join(",", Enumerable.Repeat("1", McpBatch.MaxMembers + 1)) + "]").Error);
        Assert.Equal(McpBatchError.TooManyMembers, Locate("[1,2,3]", capacity: 2).Error);
    }

    [Theory]
    [InlineData("1", "1", true)]
    [InlineData("1", "1.0", true)]
    [InlineData("1", "1e0", true)]
    [InlineData("9007199254740993", "9007199254740992", true)] // one double for JavaScript
    [InlineData("1", "2", false)]
    [InlineData("\"a\"", "\"a\"", true)]
    [InlineData("\"a\"", "\"\\u0061\"", true)]
    [InlineData("\"\\u00e9\"", "\"é\"", true)]
    [InlineData("\"a\"", "\"b\"", false)]
    [InlineData("\"1\"", "1", false)]
    [InlineData("\"\\ud800\"", "\"\\ud800\"", false)] // cannot be decoded: never matched
    public void Ids_are_compared_as_a_javascript_peer_compares_them(string a, string b, bool same)
    {
        Assert.Equal(same, McpBatch.SameId(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b)));
        Assert.Equal(same, McpBatch.SameId(Encoding.UTF8.GetBytes(b), Encoding.UTF8.GetBytes(a)));
    }

    [Fact]
    public void Long_escaped_ids_are_compared_too()
    {
        string plain = "\"" + new string('a', 600) + "\"";
        string escaped = "\"" + string.Concat(Enumerable.Repeat("\\u0061", 600)) + "\"";
        Assert.True(McpBatch.SameId(Encoding.UTF8.GetBytes(plain), Encoding.UTF8.GetBytes(escaped)));
    }

    [Fact]
    public void Locating_and_comparing_allocate_nothing()
    {
        byte[] bytes = Encoding.UTF8.GetBytes("""[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":"\u0061","method":"tools/list"}]""");
        var body = new ReadOnlySequence<byte>(bytes);
        var ranges = new Range[McpBatch.MaxMembers];
        byte[] a = "\"\\u0061\""u8.ToArray(), b = "\"a\""u8.ToArray();
        for (int i = 0; i < 50; i++) McpBatch.LocateMembers(body, ranges, out _);
        for (int i = 0; i < 50; i++) McpBatch.SameId(a, b);
        Assert.Equal(0, ThreadAllocations.Measure(() =>
        {
            for (int i = 0; i < 2_000; i++)
            {
                McpBatch.LocateMembers(body, ranges, out _);
                McpBatch.SameId(a, b);
            }
        }));
    }
}
