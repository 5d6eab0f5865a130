using System.Buffers;
using System.Text;
using System.Text.Json;

namespace FastMcp.Mcp.Tests;

/// <summary>
/// The member-name rule (no object repeats a name, exactly or apart from letter case) is checked inside the readers'
/// own walk of a message: every object the walk passes, whether it reads it or only steps over it (arguments, results,
/// error data, batch members), must be checked. Each object of realistic messages gets a repeat put first and last,
/// exactly, escape-encoded and in another letter case, and each reader must refuse every variant with the same
/// verdict, whatever the segmentation.
/// </summary>
public class MemberNameWalkTests
{
    private const string ToolsCall = """
        {"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Oslo","opts":{"units":"metric","days":[{"d":1,"h":[{"from":6,"to":9}]},{"d":2}]},"empty":{},"list":[[{"deep":{"deeper":{"x":1,"y":2}}}]]},"_meta":{"progressToken":"p-1","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"agent","version":"1.2"},"io.modelcontextprotocol/clientCapabilities":{"elicitation":{"form":{}}}}}}
        """;

    private const string Initialize = """
        {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"roots":{"listChanged":true}},"clientInfo":{"name":"c","version":"1"}}}
        """;

    private const string Completion = """
        {"jsonrpc":"2.0","id":3,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"},"argument":{"name":"a","value":"v"},"context":{"arguments":{"x":"1"}}}}
        """;

    private const string RequestBatch = """
        [{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"c"}},{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":2,"total":{"a":1,"b":2}}}]
        """;

    private const string CallResult = """
        {"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"Oslo: 4 degrees","annotations":{"audience":["user"],"priority":1}}],"structuredContent":{"temp":4,"wind":{"speed":3,"dir":"N"}},"isError":false,"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s","version":"1"},"trace":{"a":1}}}}
        """;

    private const string ErrorAnswer = """
        {"jsonrpc":"2.0","id":9,"error":{"code":-32602,"message":"bad","data":{"field":"path","details":[{"at":"/a","why":{"k":1,"v":2}}]}}}
        """;

    private const string InitializeResult = """
        {"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{"listChanged":true}},"serverInfo":{"name":"s","version":"1"},"instructions":"x"}}
        """;

    private const string ServerRequest = """
        {"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{"messages":[{"role":"user","content":{"type":"text","text":"hi"}}],"maxTokens":5,"_meta":{"progressToken":"t"}}}
        """;

    private const string ProgressEvent = """
        {"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"p-1","progress":1,"total":3,"message":"half"}}
        """;

    private const string AnswerBatch = """
        [{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"a"}]}},{"jsonrpc":"2.0","id":2,"error":{"code":1,"message":"m","data":{"a":1,"b":2}}}]
        """;

    private static string ToolsList(int tools)
    {
        var sb = new StringBuilder("""{"jsonrpc":"2.0","id":7,"result":{"tools":[""");
        for (int i = 0; i < tools; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append("{\"name\":\"tool_").Append(i).Append("\",\"description\":\"Does thing ").Append(i)
                .Append("\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\"},\"y\":{\"type\":\"number\"}},\"required\":[\"x\"]}}");
        }
        sb.Append("""],"nextCursor":"page-2","_meta":{"k":{"a":1,"b":2}}}}""");
        return sb.ToString();
    }

    /// <summary>One object of a message: where its first member starts, where it ends, and its first and last names.</summary>
    private readonly record struct ObjectSpot(int Open, int Close, string? First, string? Last);

    private static List<ObjectSpot> ObjectsOf(string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        Assert.Equal(bytes.Length, json.Length); // templates are ASCII: byte offsets are char offsets
        var reader = new Utf8JsonReader(bytes);
        var open = new Stack<(int Open, int Depth, string? First, string? Last)>();
        var spots = new List<ObjectSpot>();
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    open.Push(((int)reader.TokenStartIndex + 1, reader.CurrentDepth, null, null));
                    break;
                case JsonTokenType.PropertyName when reader.CurrentDepth == open.Peek().Depth + 1:
                    var (o, depth, first, _) = open.Pop();
                    string name = reader.GetString()!;
                    open.Push((o, depth, first ?? name, name));
                    break;
                case JsonTokenType.EndObject:
                    var top = open.Pop();
                    spots.Add(new ObjectSpot(top.Open, (int)reader.TokenStartIndex, top.First, top.Last));
                    break;
            }
        }
        return spots;
    }

    private static string Escaped(string name) => string.Concat(name.Select(c => $"\\u{(int)c:x4}"));

    /// <summary>
    /// Every variant of <paramref name="json"/> with one object given one repeated name, and the verdict it must get:
    /// an exact repeat (plain or escape-encoded) is a duplicate, a repeat in another letter case a case variant.
    /// </summary>
    private static IEnumerable<(string Json, McpInspectError Expected, string Where)> Variants(string json)
    {
        foreach (ObjectSpot spot in ObjectsOf(json))
        {
            string where = $"object at {spot.Open}";
            string Insert(int at, string text) => json[..at] + text + json[at..];
            if (spot.First is null)
            {
                yield return (Insert(spot.Open, "\"z\":1,\"z\":2"), McpInspectError.DuplicateMember, where + " (empty)");
                yield return (Insert(spot.Open, "\"z\":1,\"Z\":2"), McpInspectError.CaseVariantMember, where + " (empty)");
                continue;
            }
            // The last name again, first; the first name again, last; each also escape-encoded.
            yield return (Insert(spot.Open, $"\"{spot.Last}\":0,"), McpInspectError.DuplicateMember, where + " first");
            yield return (Insert(spot.Close, $",\"{spot.First}\":0"), McpInspectError.DuplicateMember, where + " last");
            yield return (Insert(spot.Open, $"\"{Escaped(spot.Last!)}\":0,"), McpInspectError.DuplicateMember, where + " first, escaped");
            yield return (Insert(spot.Close, $",\"{Escaped(spot.First)}\":0"), McpInspectError.DuplicateMember, where + " last, escaped");
            string upper = spot.First.ToUpperInvariant();
            if (upper != spot.First)
            {
                yield return (Insert(spot.Close, $",\"{upper}\":0"), McpInspectError.CaseVariantMember, where + " last, upper case");
                yield return (Insert(spot.Open, $"\"{Escaped(upper)}\":0,"), McpInspectError.CaseVariantMember, where + " first, upper case escaped");
            }
            // A name longer than the stack buffers (256 bytes), twice.
            string longName = new('n', 300);
            yield return (Insert(spot.Close, $",\"{longName}\":1,\"{Escaped(longName[..150])}{longName[150..]}\":2"), McpInspectError.DuplicateMember, where + " long name");
        }
    }

    private static McpInspectError InspectEveryWay(string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        McpInspectError error = McpInspector.Inspect(bytes.AsSpan(), out McpCall call);
        Assert.Equal(error, McpInspector.Inspect(new ReadOnlySequence<byte>(bytes), out _));
        Assert.Equal(error, McpInspector.Inspect(Segments.Split(bytes, bytes.Length / 3, bytes.Length / 3 + 1, 2 * bytes.Length / 3), out _));
        if (error != McpInspectError.None) Assert.Equal(default, call);
        return error;
    }

    private static bool ViewEveryWay(string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        bool ok = McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(bytes), out McpResponseView view);
        if (!ok) Assert.Equal(default, view);
        Assert.Equal(ok, McpResponseInspector.TryInspectValidUtf8(new ReadOnlySequence<byte>(bytes), out _));
        Assert.Equal(ok, McpResponseInspector.TryInspect(Segments.Split(bytes, bytes.Length / 3, bytes.Length / 3 + 1, 2 * bytes.Length / 3), out _));
        return ok;
    }

    private readonly struct KeepAll : IListEntryFilter
    {
        public bool Keep(McpMethod listMethod, scoped ReadOnlySpan<byte> nameUtf8) => true;
    }

    private static bool FilterEveryWay(string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        var filter = new KeepAll();
        var output = new ArrayBufferWriter<byte>();
        bool ok = ListResultFilter.TryFilter(new ReadOnlySequence<byte>(bytes), McpMethod.ToolsList, ref filter, output, out _);
        if (!ok) Assert.Equal(0, output.WrittenCount);
        var split = new ArrayBufferWriter<byte>();
        Assert.Equal(ok, ListResultFilter.TryFilter(Segments.Split(bytes, bytes.Length / 2), McpMethod.ToolsList, ref filter, split, out _));
        return ok;
    }

    public static TheoryData<string> Requests() => new() { ToolsCall, Initialize, Completion, RequestBatch };

    public static TheoryData<string> Answers() => new() { CallResult, ErrorAnswer, InitializeResult, ServerRequest, ProgressEvent, AnswerBatch, ToolsList(3) };

    [Theory]
    [MemberData(nameof(Requests))]
    public void A_request_repeating_a_name_in_any_object_at_any_position_is_refused_with_its_verdict(string json)
    {
        Assert.Equal(McpInspectError.None, InspectEveryWay(json));
        int count = 0;
        foreach (var (variant, expected, where) in Variants(json))
        {
            McpInspectError error = InspectEveryWay(variant);
            Assert.True(expected == error, $"{where}: expected {expected}, got {error}: {variant}");
            count++;
        }
        Assert.True(count >= 12, $"only {count} variants");
    }

    [Theory]
    [MemberData(nameof(Answers))]
    public void An_answer_or_event_repeating_a_name_in_any_object_at_any_position_is_not_viewed(string json)
    {
        Assert.True(ViewEveryWay(json));
        int count = 0;
        foreach (var (variant, _, where) in Variants(json))
        {
            Assert.False(ViewEveryWay(variant), $"{where}: viewed {variant}");
            count++;
        }
        Assert.True(count >= 12, $"only {count} variants");
    }

    [Fact]
    public void A_list_answer_repeating_a_name_in_any_object_at_any_position_is_not_filtered()
    {
        string json = ToolsList(3);
        Assert.True(FilterEveryWay(json));
        foreach (var (variant, _, where) in Variants(json))
        {
            Assert.False(FilterEveryWay(variant), $"{where}: filtered {variant}");
        }
    }

    // The verdict of the name rule is only given to a message that nothing else refuses: whatever the inspector
    // finds on its own (broken JSON, depth, a missing or malformed part) is reported instead, wherever it lies.
    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"x":1,"x":2}}} x""", McpInspectError.InvalidJson)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"x":1,"x":2,"s":"\ud800"}}}""", McpInspectError.InvalidJson)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"x":1,"X":2}},"jsonrpc":"2.0"}""", McpInspectError.DuplicateMember)]
    [InlineData("""{"id":1,"method":"tools/call","params":{"name":"t","arguments":{"x":1,"x":2}}}""", McpInspectError.MissingJsonRpcVersion)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"params":{"name":"t","arguments":{"x":1,"x":2}}}""", McpInspectError.MissingMethod)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{"x":1,"x":2}}}""", McpInspectError.InvalidParams)]
    [InlineData("""{"jsonrpc":"2.0","id":[1],"method":"tools/call","params":{"name":"t","arguments":{"x":1,"x":2}}}""", McpInspectError.InvalidId)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"x":1,"x":2},"error":{"code":1,"message":"m"}}""", McpInspectError.AmbiguousMessage)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"notifications/cancelled","params":{"reason":{"a":1,"A":2}}}""", McpInspectError.InvalidCancelledRequestId)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"x":1,"X":2},"Name":"u"}}""", McpInspectError.CaseVariantMember)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"x":1,"x":2},"Name":"u"}}""", McpInspectError.CaseVariantMember)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"X":1,"x":2}}}""", McpInspectError.CaseVariantMember)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"X":1,"x":2},"extra":{"e":1,"e":2}}}""", McpInspectError.DuplicateMember)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"x\u0001":1}}}""", McpInspectError.CaseVariantMember)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"x\u0001":1,"y":{"z":1,"z":2}}}}""", McpInspectError.DuplicateMember)]
    public void Which_refusal_wins_stays_as_it_was(string json, McpInspectError expected)
    {
        Assert.Equal(expected, InspectEveryWay(json));
    }

    /// <summary>
    /// A tools/call whose arguments hold <paramref name="levels"/> nested objects (arguments itself the first, each
    /// holding the next as "a"), the innermost being <paramref name="innermost"/>; <paramref name="after"/> goes last
    /// into the arguments object.
    /// </summary>
    private static string Nested(int levels, string innermost, string after = "") =>
        """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":"""
        + string.Concat(Enumerable.Repeat("{\"a\":", levels - 1)) + innermost + new string('}', levels - 2) + after + "}}}";

    // The message object is at depth 0, params 1, arguments 2: 62 objects from arguments down reach the deepest
    // object accepted (depth 63); one more is too deep, and that is what is reported, whatever repeats.
    [Fact]
    public void Objects_nested_to_the_depth_limit_are_checked_and_one_deeper_is_too_deep()
    {
        Assert.Equal(McpInspectError.None, InspectEveryWay(Nested(62, """{"x":1,"y":2}""")));
        Assert.Equal(McpInspectError.DuplicateMember, InspectEveryWay(Nested(62, """{"x":1,"x":2}""")));
        Assert.Equal(McpInspectError.CaseVariantMember, InspectEveryWay(Nested(62, """{"x":1,"X":2}""")));
        Assert.Equal(McpInspectError.TooDeep, InspectEveryWay(Nested(63, """{"x":1,"y":2}""")));
        Assert.Equal(McpInspectError.TooDeep, InspectEveryWay(Nested(63, """{"x":1,"x":2}""")));
        // The repeat after the deep subtree closed, in the arguments object itself.
        Assert.Equal(McpInspectError.DuplicateMember, InspectEveryWay(Nested(62, """{"x":1,"y":2}""", ",\"a\":0")));
        // Arrays count towards the depth too; the objects inside them are still checked.
        string arrays = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"l":"""
            + new string('[', 59) + "{\"k\":1,\"K\":2}" + new string(']', 59) + "}}}";
        Assert.Equal(McpInspectError.CaseVariantMember, InspectEveryWay(arrays));

        string answer = """{"jsonrpc":"2.0","id":1,"result":""" + string.Concat(Enumerable.Repeat("{\"a\":", 62)) + "{\"x\":1,\"x\":2}" + new string('}', 62) + "}";
        Assert.False(ViewEveryWay(answer));
        Assert.True(ViewEveryWay(answer.Replace("\"x\":2", "\"y\":2", StringComparison.Ordinal)));
    }

    // More than 64 names in all (the hash list leaves the stack) spread over objects open at once, with the repeat in
    // an outer object after an inner one closed.
    [Theory]
    [InlineData(70)]
    [InlineData(300)]
    public void Many_names_over_open_objects_are_checked(int names)
    {
        string Members(string prefix, int n) => string.Join(",", Enumerable.Range(0, n).Select(i => $"\"{prefix}{i}\":{i}"));
        string args = "{" + Members("o", names / 2) + ",\"inner\":{" + Members("i", names / 2) + "}," + "\"tail\":1}";
        Assert.Equal(McpInspectError.None, InspectEveryWay(Call(args)));
        Assert.Equal(McpInspectError.DuplicateMember, InspectEveryWay(Call(args.Replace("\"tail\"", "\"o0\"", StringComparison.Ordinal))));
        Assert.Equal(McpInspectError.CaseVariantMember, InspectEveryWay(Call(args.Replace("\"tail\"", "\"O1\"", StringComparison.Ordinal))));
        // The inner object's names are not the outer one's.
        Assert.Equal(McpInspectError.None, InspectEveryWay(Call(args.Replace("\"tail\"", "\"i0\"", StringComparison.Ordinal))));

        string result = """{"jsonrpc":"2.0","id":1,"result":""" + args + "}";
        Assert.True(ViewEveryWay(result));
        Assert.False(ViewEveryWay(result.Replace("\"tail\"", "\"o0\"", StringComparison.Ordinal)));
    }

    private static string Call(string arguments) =>
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"arguments\":" + arguments + "}}";
}
