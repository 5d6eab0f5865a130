using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

/// <summary>
/// Messages from upstreams under the request direction's member-name rule: what the gateway reads of an answer or a
/// server request (its kind, id, list, entries) must be what a lenient client reads. A case-insensitive client (Go's
/// encoding/json: last match wins, U+017F folds to s) or one that drops control characters in names would read
/// <c>"NAME"</c>, <c>"RESULT"</c>, <c>"method\u0000"</c> where the gateway read the exact name, so such messages are
/// unreadable: the list filter refuses them, the response view does not view them.
/// </summary>
public class ResponseMemberNameTests
{
    private static bool View(string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        bool ok = McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(bytes), out McpResponseView view);
        if (!ok) Assert.Equal(default, view);
        // Segment boundaries inside names (and inside multi-byte characters) change nothing.
        for (int cut = 1; cut < bytes.Length; cut += 5)
        {
            Assert.Equal(ok, McpResponseInspector.TryInspect(Segments.Split(bytes, cut, Math.Min(cut + 1, bytes.Length - 1)), out _));
        }
        return ok;
    }

    private readonly struct AllowPrefixA : IListEntryFilter
    {
        public bool Keep(McpMethod listMethod, scoped ReadOnlySpan<byte> nameUtf8) => nameUtf8.StartsWith("a"u8) || nameUtf8.StartsWith("file:///a"u8);
    }

    private static (bool Ok, string Output) Filter(string json, McpMethod method)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        var output = new ArrayBufferWriter<byte>();
        var filter = new AllowPrefixA();
        bool ok = ListResultFilter.TryFilter(new ReadOnlySequence<byte>(bytes), method, ref filter, output, out _);
        if (!ok) Assert.Equal(0, output.WrittenCount);
        for (int cut = 1; cut < bytes.Length; cut += 5)
        {
            var split = new ArrayBufferWriter<byte>();
            var f = new AllowPrefixA();
            Assert.Equal(ok, ListResultFilter.TryFilter(Segments.Split(bytes, cut, Math.Min(cut + 1, bytes.Length - 1)), method, ref f, split, out _));
            Assert.Equal(Encoding.UTF8.GetString(output.WrittenSpan), Encoding.UTF8.GetString(split.WrittenSpan));
        }
        return (ok, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    private static (bool Ok, McpMethod List) Shape(string json)
    {
        bool ok = ListResultShape.TryFind(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(json)), out McpMethod list);
        return (ok, list);
    }

    [Theory]
    // A server request a Go client runs while the gateway records (or masks by) another reading.
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","METHOD":"sampling/createMessage","params":{"messages":[],"maxTokens":5}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{},"Method":"sampling/createMessage","params":{"messages":[]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{},"method\u0000":"elicitation/create"}""")]
    [InlineData("""{"jsonrpc":"2.0","ID":1,"method":"sampling/createMessage","params":{"messages":[]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"elicitation/create","paramſ":{"message":"x"}}""")]
    // Answers: which result, which id, error or result.
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[]},"RESULT":{"tools":[{"name":"hidden"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result\u0000":{"tools":[{"name":"hidden"}]},"result":{"tools":[]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{},"reſult":{"tools":[{"name":"hidden"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":4111111111111111,"ID":1,"result":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{},"Error":{"code":-32603,"message":"x"}}""")]
    [InlineData("""{"JSONRPC":"1.0","jsonrpc":"2.0","id":1,"result":{}}""")]
    // What the gateway reads inside result, error and params.
    [InlineData("""{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18","ProtocolVersion":"2026-07-28"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":0,"result":{"PROTOCOLVERSION":"2026-07-28"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":0,"result":{"resultType":"complete","ResultType":"input_required"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":0,"result":{"ServerInfo":{"name":"s","version":"1"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":0,"result":{"serverInfo":{"name":"s","NAME":"t","version":"1"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":0,"result":{"serverInfo":{"Version":"1"}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":0,"result":{"_META":{}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":0,"result":{"_meta":{"io.modelcontextprotocol/serverinfo":{"name":"x"}}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"Code":0,"message":"x"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"error":{"code":1,"MESSAGE":"x"}}""")]
    [InlineData("""{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"ProgressToken":2,"progress":1}}""")]
    [InlineData("""{"jsonrpc":"2.0","method":"notifications/progress","params":{"PROGRESSTOKEN":2,"progress":1}}""")]
    public void A_variant_of_a_name_the_gateway_reads_makes_a_message_unreadable(string json)
    {
        Assert.False(View(json));
    }

    [Theory]
    // Anywhere else in the message: a pair that folds alike, an exact duplicate, a control character. What a server
    // request asks (recorded in the audit log) and what an answer holds are one thing to every reader.
    [InlineData("""{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{"messages":[],"Messages":[{"role":"user"}],"maxTokens":5}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":"s1","method":"elicitation/create","params":{"message":"a","message":"b"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"a","TEXT":"b"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","t\u0065xt":"a","text":"b"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"content":[{"type\u001f":"x"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read","NAME":"hidden"}]}}""")]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read","Name":"hidden"}]}}]""")]
    public void A_clashing_member_name_anywhere_makes_a_message_unreadable(string json)
    {
        Assert.False(View(json));
    }

    [Theory]
    // Names that fold to a name read at another level, or to none, are data: the message is read.
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"Id":1,"Result":2,"METHOD":"x"},"Tools":[]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"a\u0000b"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{"messages":[{"role":"user","content":{"type":"text","text":"hi"}}],"maxTokens":5}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"Σ":1,"ΣΣ":2,"straße":3,"strasse":4}}""")]
    public void Other_names_are_read(string json)
    {
        Assert.True(View(json));
    }

    [Theory]
    [InlineData(McpMethod.ToolsList, """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read","NAME":"hidden"}]}}""")]
    [InlineData(McpMethod.ToolsList, """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"NAME":"a_read","name":"hidden"}]}}""")]
    [InlineData(McpMethod.ToolsList, """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read","nameſ":1,"Name":"hidden"}]}}""")]
    [InlineData(McpMethod.ToolsList, """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"Name":"hidden"}]}}""")]
    [InlineData(McpMethod.ToolsList, """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name\u0000":"hidden","name":"a_read"}]}}""")]
    [InlineData(McpMethod.ToolsList, """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read"}],"TOOLS":[{"name":"hidden"}]}}""")]
    [InlineData(McpMethod.ToolsList, """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read"}],"toolſ":[{"name":"hidden"}]}}""")]
    [InlineData(McpMethod.ToolsList, """{"jsonrpc":"2.0","id":1,"result":{"Tools":[{"name":"hidden"}]}}""")]
    [InlineData(McpMethod.ToolsList, """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read"}]},"RESULT":{"tools":[{"name":"hidden"}]}}""")]
    [InlineData(McpMethod.ToolsList, """{"jsonrpc":"2.0","id":1,"result\u0000":{"tools":[{"name":"hidden"}]},"result":{"tools":[]}}""")]
    [InlineData(McpMethod.ToolsList, """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read"}]},"Method":"sampling/createMessage"}""")]
    // A clash anywhere in a list answer: the whole answer is refused, not just the entry.
    [InlineData(McpMethod.ToolsList, """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read","description":"x","Description":"y"}]}}""")]
    [InlineData(McpMethod.ToolsList, """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read","inputSchema":{"type":"object","type":"string"}}]}}""")]
    [InlineData(McpMethod.PromptsList, """{"jsonrpc":"2.0","id":1,"result":{"prompts":[{"name":"a_p","nAme":"hidden"}]}}""")]
    [InlineData(McpMethod.ResourcesList, """{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"file:///a","URI":"file:///secret","name":"a"}]}}""")]
    [InlineData(McpMethod.ResourcesList, """{"jsonrpc":"2.0","id":1,"result":{"resources":[{"Uri":"file:///secret","name":"a"}]}}""")]
    [InlineData(McpMethod.ResourcesTemplatesList, """{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[{"uriTemplate":"file:///a/{x}","UriTemplate":"file:///secret/{x}"}]}}""")]
    [InlineData(McpMethod.ResourcesTemplatesList, """{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[],"reſourceTemplates":[{"uriTemplate":"file:///secret/{x}"}]}}""")]
    [InlineData(McpMethod.ResourcesTemplatesList, """{"jsonrpc":"2.0","id":1,"result":{"resourceTemplates":[],"ResourceTemplates":[{"uriTemplate":"file:///secret/{x}"}]}}""")]
    public void A_list_answer_with_a_variant_or_clashing_name_is_refused(McpMethod method, string json)
    {
        Assert.False(Filter(json, method).Ok);
    }

    [Theory]
    // Names that fold to an entry key but sit deeper, and list keys of other lists, are data.
    [InlineData(McpMethod.ToolsList, """{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a_read","inputSchema":{"properties":{"Name":{"type":"string"}}}},{"name":"hidden"}],"Prompts":1}}""")]
    [InlineData(McpMethod.ResourcesList, """{"jsonrpc":"2.0","id":1,"result":{"resources":[{"uri":"file:///a","name":"A","Name2":"x"},{"uri":"file:///secret"}]}}""")]
    public void A_clean_list_answer_is_still_filtered(McpMethod method, string json)
    {
        (bool ok, string output) = Filter(json, method);
        Assert.True(ok);
        Assert.DoesNotContain("hidden", output);
        Assert.DoesNotContain("secret", output);
    }

    [Theory]
    // Answers no call identifies (replayed on a GET stream): which list they hold must be what a client reads.
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"Tools":[{"name":"hidden"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"PROMPTS":[]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"resourceTemplateſ":[]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"tools\u0000":[]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"RESULT":{"tools":[{"name":"hidden"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"content":[]},"Result":{"tools":[{"name":"hidden"}]}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"content":[]},"result":{"tools":[{"name":"hidden"}]}}""")]
    public void A_result_whose_list_a_lenient_client_reads_otherwise_cannot_be_told(string json)
    {
        Assert.False(Shape(json).Ok);
    }

    [Fact]
    public void A_result_with_lists_only_deeper_is_still_no_list()
    {
        Assert.Equal((true, McpMethod.Unknown), Shape("""{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"Tools":[],"tools":1}}}"""));
        Assert.Equal((true, McpMethod.ToolsList), Shape("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"Name":"x"}],"nextCursor":"c"}}"""));
    }
}
