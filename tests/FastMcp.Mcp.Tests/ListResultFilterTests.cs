using System.Buffers;
using System.Text;
using System.Text.Json;

namespace FastMcp.Mcp.Tests;

public class ListResultFilterTests
{
    /// <summary>A class filter, as policy code would write it (no scoped on the implementation).</summary>
    private sealed class DenySet(params string[] denied) : IListEntryFilter
    {
        public readonly List<string> Seen = [];

        public bool Keep(McpMethod listMethod, ReadOnlySpan<byte> nameUtf8)
        {
            string name = Encoding.UTF8.GetString(nameUtf8);
            Seen.Add(name);
            return Array.IndexOf(denied, name) < 0;
        }
    }

    /// <summary>A ref struct filter over a span of allowed prefixes (the shape the gateway can use on its stack).</summary>
    private ref struct AllowPrefix : IListEntryFilter
    {
        public ReadOnlySpan<byte> Prefix;
        public int Calls;

        public bool Keep(McpMethod listMethod, scoped ReadOnlySpan<byte> nameUtf8)
        {
            Calls++;
            return nameUtf8.StartsWith(Prefix);
        }
    }

    private static (bool Ok, string Output, int Removed) Filter(string json, McpMethod method, IListEntryFilter filter, int[]? cuts = null)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        ReadOnlySequence<byte> body = cuts is null ? new ReadOnlySequence<byte>(bytes) : Segments.Split(bytes, cuts);
        var output = new ArrayBufferWriter<byte>();
        bool ok = ListResultFilter.TryFilter(body, method, ref filter, output, out int removed);
        if (!ok) Assert.Equal(0, output.WrittenCount);
        return (ok, Encoding.UTF8.GetString(output.WrittenSpan), removed);
    }

    private static string[] Names(string output, string arrayKey, string entryKey)
    {
        using JsonDocument doc = JsonDocument.Parse(output); // output is valid JSON or this throws
        return doc.RootElement.GetProperty("result").GetProperty(arrayKey).EnumerateArray()
            .Select(e => e.GetProperty(entryKey).GetString()!).ToArray();
    }

    [Theory]
    [InlineData(McpMethod.ToolsList, "tools", "name")]
    [InlineData(McpMethod.PromptsList, "prompts", "name")]
    [InlineData(McpMethod.ResourcesList, "resources", "uri")]
    [InlineData(McpMethod.ResourcesTemplatesList, "resourceTemplates", "uriTemplate")]
    [InlineData(McpMethod.TasksList, "tasks", "taskId")]
    public void Each_list_method_keeps_allowed_entries_and_preserves_the_rest(McpMethod method, string arrayKey, string entryKey)
    {
        string json = $$$"""
            {"jsonrpc":"2.0","id":"list-1","result":{"_meta":{"k":[1,2]},"{{{arrayKey}}}":[
              {"{{{entryKey}}}":"keep-a","description":"first","{{{(entryKey == "name" ? "title" : "name")}}}":"secret"},
              {"{{{entryKey}}}":"secret","inputSchema":{"type":"object","required":["secret"]}},
              {"annotations":{"{{{entryKey}}}":"nested does not count"},"{{{entryKey}}}":"keep-b"}
            ],"nextCursor":"c\u00fcrsor-2"}}
            """;
        var filter = new DenySet("secret");
        var (ok, output, removed) = Filter(json, method, filter);
        Assert.True(ok);
        Assert.Equal(1, removed);
        Assert.Equal(["keep-a", "secret", "keep-b"], filter.Seen);
        Assert.Equal(["keep-a", "keep-b"], Names(output, arrayKey, entryKey));
        using JsonDocument doc = JsonDocument.Parse(output);
        JsonElement result = doc.RootElement.GetProperty("result");
        Assert.Equal("cürsor-2", result.GetProperty("nextCursor").GetString());
        Assert.Equal("\"list-1\"", doc.RootElement.GetProperty("id").GetRawText());
        // Everything outside the array is byte for byte, including the escaped cursor and the _meta.
        Assert.StartsWith(json[..(json.IndexOf('[', json.IndexOf(arrayKey)) + 1)], output);
        Assert.EndsWith("""],"nextCursor":"c\u00fcrsor-2"}}""" + json[(json.LastIndexOf("}}") + 2)..], output);
        // Kept entries are copied exactly.
        Assert.Contains($$"""{"{{entryKey}}":"keep-a","description":"first",""", output);
    }

    [Fact]
    public void Nothing_removed_still_writes_an_equivalent_message()
    {
        const string json = """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"},{"name":"b"}]}}""";
        var (ok, output, removed) = Filter(json, McpMethod.ToolsList, new DenySet());
        Assert.True(ok);
        Assert.Equal(0, removed);
        Assert.Equal(json, output);
    }

    [Fact]
    public void Everything_removed_leaves_an_empty_array()
    {
        const string json = """{"jsonrpc":"2.0","id":1,"result":{"tools":[ {"name":"a"} , {"name":"b"} ],"nextCursor":"n"}}""";
        var (ok, output, removed) = Filter(json, McpMethod.ToolsList, new DenySet("a", "b"));
        Assert.True(ok);
        Assert.Equal(2, removed);
        Assert.Equal("""{"jsonrpc":"2.0","id":1,"result":{"tools":[],"nextCursor":"n"}}""", output);
    }

    [Fact]
    public void Entries_without_a_string_name_are_removed()
    {
        const string json = """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok"},{"title":"no name"},{"name":7},"str",[1],{"name":"ok2"}]}}""";
        var filter = new DenySet();
        var (ok, output, removed) = Filter(json, McpMethod.ToolsList, filter);
        Assert.True(ok);
        Assert.Equal(4, removed);
        Assert.Equal(["ok", "ok2"], Names(output, "tools", "name"));
    }

    [Fact]
    public void An_entry_naming_itself_twice_refuses_the_whole_answer()
    {
        // Which name a client shows cannot be told (the last, for most parsers): nothing of the list is passed on.
        const string json = """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"ok"},{"name":"x","name":"ok"},{"name":"ok2"}]}}""";
        Assert.False(Filter(json, McpMethod.ToolsList, new DenySet()).Ok);
    }

    [Fact]
    public void Escaped_names_reach_the_filter_decoded()
    {
        const string json = """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"rm\u0020-rf"},{"name":"ls"}]}}""";
        var filter = new DenySet("rm -rf");
        var (ok, output, removed) = Filter(json, McpMethod.ToolsList, filter);
        Assert.True(ok);
        Assert.Equal(1, removed);
        Assert.Equal(["ls"], Names(output, "tools", "name"));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}""")]
    [InlineData("""{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"prompts":[]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":{}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[],"tools":[{"name":"x"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[]},"result":{"tools":[]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}]}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}]}} trailing""")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}]""")]
    public void Input_that_is_not_one_list_result_is_refused_without_output(string json)
    {
        Assert.False(Filter(json, McpMethod.ToolsList, new DenySet()).Ok);
    }

    /// <summary>What the filter cannot inspect is refused whole, for every list method, and says why.</summary>
    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"LIST":[{"KEY":"a"}]""", ListFilterRefusal.InvalidJson)]                       // truncated
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"LIST":[{"KEY":"a"}]}} {}""", ListFilterRefusal.InvalidJson)]                // a second value
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"LIST":[{"KEY":"a","x":"\ud800"}]}}""", ListFilterRefusal.InvalidJson)]      // a lone surrogate escape
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"LIST":[{"KEY":"a"}],"LIST":[{"KEY":"b"}]}}""", ListFilterRefusal.DuplicateMember)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"LIST":[]},"result":{"LIST":[]}}""", ListFilterRefusal.DuplicateMember)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"LIST":[{"KEY":"a","x":{"p":1,"p":2}}]}}""", ListFilterRefusal.DuplicateMember)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"LIST":[{"KEY":"a","x":{"p":1,"P":2}}]}}""", ListFilterRefusal.CaseVariantMember)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"RESULT":{"LIST":[]},"result":{"LIST":[]}}""", ListFilterRefusal.CaseVariantMember)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"LIST":[{"KEY":"a","x":{"a\tb":1}}]}}""", ListFilterRefusal.ControlCharacterInMemberName)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"LIST":[{"KEY":"a","x":{"a\u007fb":1}}]}}""", ListFilterRefusal.ControlCharacterInMemberName)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result\u0000":{"LIST":[]},"result":{"LIST":[]}}""", ListFilterRefusal.ControlCharacterInMemberName)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"LIST":{}}}""", ListFilterRefusal.NotAListResult)]
    [InlineData("""{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}""", ListFilterRefusal.NotAListResult)]
    public void What_cannot_be_inspected_is_refused_with_its_reason(string template, ListFilterRefusal expected)
    {
        foreach ((McpMethod method, string list, string key) in new[]
        {
            (McpMethod.ToolsList, "tools", "name"), (McpMethod.PromptsList, "prompts", "name"), (McpMethod.ResourcesList, "resources", "uri"),
            (McpMethod.ResourcesTemplatesList, "resourceTemplates", "uriTemplate"), (McpMethod.TasksList, "tasks", "taskId"),
        })
        {
            byte[] json = Encoding.UTF8.GetBytes(template.Replace("LIST", list, StringComparison.Ordinal).Replace("KEY", key, StringComparison.Ordinal));
            IListEntryFilter filter = new DenySet();
            var output = new ArrayBufferWriter<byte>();
            Assert.False(ListResultFilter.TryFilter(new ReadOnlySequence<byte>(json), method, ref filter, output, out _, out ListFilterRefusal refusal));
            Assert.Equal(expected, refusal);
            Assert.Equal(0, output.WrittenCount);
        }
    }

    [Fact]
    public void Invalid_utf8_and_nesting_past_the_limit_are_refused_and_nesting_at_the_limit_is_not()
    {
        IListEntryFilter filter = new DenySet();
        var output = new ArrayBufferWriter<byte>();
        byte[] invalid = [.. "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"a\",\"d\":\""u8, 0xC3, 0x28, .. "\"}]}}"u8];
        Assert.False(ListResultFilter.TryFilter(new ReadOnlySequence<byte>(invalid), McpMethod.ToolsList, ref filter, output, out _, out ListFilterRefusal notUtf8));
        Assert.Equal(ListFilterRefusal.NotUtf8, notUtf8);

        // The envelope, result, the array and the entry are four levels of McpInspector.MaxDepth.
        static byte[] Nested(int levels) => Encoding.UTF8.GetBytes(
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"a\",\"x\":" + new string('[', levels) + new string(']', levels) + "}]}}");
        Assert.True(ListResultFilter.TryFilter(new ReadOnlySequence<byte>(Nested(McpInspector.MaxDepth - 4)), McpMethod.ToolsList, ref filter, output, out _, out _));
        output.Clear();
        Assert.False(ListResultFilter.TryFilter(new ReadOnlySequence<byte>(Nested(McpInspector.MaxDepth - 3)), McpMethod.ToolsList, ref filter, output, out _, out ListFilterRefusal deep));
        Assert.Equal(ListFilterRefusal.TooDeep, deep);
        Assert.Equal(0, output.WrittenCount);
    }

    [Fact]
    public void Non_list_methods_are_refused()
    {
        Assert.False(Filter("""{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}""", McpMethod.ToolsCall, new DenySet()).Ok);
    }

    [Fact]
    public void Split_bodies_filter_identically()
    {
        const string json = """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"alpha","x":"\u00e9"},{"name":"be\u0074a"},{"name":"gamma"}],"nextCursor":"z"}}""";
        var (_, expected, expectedRemoved) = Filter(json, McpMethod.ToolsList, new DenySet("beta"));
        Assert.Equal(1, expectedRemoved);
        int length = Encoding.UTF8.GetByteCount(json);
        for (int cut = 1; cut < length; cut++)
        {
            var (ok, output, removed) = Filter(json, McpMethod.ToolsList, new DenySet("beta"), [cut]);
            Assert.True(ok);
            Assert.Equal(expectedRemoved, removed);
            Assert.Equal(expected, output);
        }
    }

    [Fact]
    public void Ref_struct_filters_are_supported()
    {
        byte[] json = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"fs_read"},{"name":"net_get"},{"name":"fs_list"}]}}""");
        var filter = new AllowPrefix { Prefix = "fs_"u8 };
        var output = new ArrayBufferWriter<byte>();
        Assert.True(ListResultFilter.TryFilter(new ReadOnlySequence<byte>(json), McpMethod.ToolsList, ref filter, output, out int removed));
        Assert.Equal(1, removed);
        Assert.Equal(3, filter.Calls);
        Assert.Equal(["fs_read", "fs_list"], Names(Encoding.UTF8.GetString(output.WrittenSpan), "tools", "name"));
    }
}
