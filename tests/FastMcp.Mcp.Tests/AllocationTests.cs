using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

/// <summary>The per-request path must not allocate once warm: measured with the thread's allocation counter.</summary>
public class AllocationTests
{
    private const int Iterations = 2_000;

    private static readonly byte[] ModernCall = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":"req-1","method":"tools\/call","params":{"name":"Gr\u00fc\u00dfe","arguments":{"city":"Oslo","deep":[[[{"a":1}]]]},"_meta":{"progressToken":9,"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"cli","version":"2"},"io.modelcontextprotocol/clientCapabilities":{}}}}""");

    private static long AllocatedBy(Action action)
    {
        for (int i = 0; i < 50; i++) action(); // warm: JIT tiers, static init, pools
        return ThreadAllocations.Measure(() => { for (int i = 0; i < Iterations; i++) action(); });
    }

    [Fact]
    public void Inspect_allocates_nothing_on_one_segment()
    {
        var body = new ReadOnlySequence<byte>(ModernCall);
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(body, out _));
        Assert.Equal(0, AllocatedBy(() => McpInspector.Inspect(body, out _)));
        Assert.Equal(0, AllocatedBy(() => McpInspector.Inspect(ModernCall.AsSpan(), out _)));
    }

    [Fact]
    public void The_duplicate_member_scan_of_arguments_allocates_nothing()
    {
        byte[] call = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"t","arguments":{"p\u0061th":"/tmp","mode":"r","opts":{"a":1,"b":[{"c":2,"d":3}]}}}}""");
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(call.AsSpan(), out _));
        Assert.Equal(0, AllocatedBy(() => McpInspector.Inspect(call.AsSpan(), out _)));
        ReadOnlySequence<byte> split = Segments.Split(call, 5, 60, 61, 70, 90);
        Assert.Equal(0, AllocatedBy(() => McpInspector.Inspect(split, out _)));
    }

    // Every name is folded before it is hashed (ASCII lowered on the stack, other characters rune by rune), and
    // names near the ones the gateway reads are folded to be compared: none of it allocates.
    [Fact]
    public void The_case_folding_scan_allocates_nothing()
    {
        byte[] call = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"t","Cursor":1,"n\u00e4me":2,"arguments":{"Path":"/tmp","ſtraße":"r","ΣΟΦΙΑ":{"Ⱥ":1,"K\u212A":[{"c":2,"d":3}]}}}}""");
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(call.AsSpan(), out _));
        Assert.Equal(0, AllocatedBy(() => McpInspector.Inspect(call.AsSpan(), out _)));
        ReadOnlySequence<byte> split = Segments.Split(call, 5, 60, 61, 70, 90, 120);
        Assert.Equal(0, AllocatedBy(() => McpInspector.Inspect(split, out _)));
        // A refusal is read twice (to name the clash) and allocates nothing either.
        byte[] refused = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"t","arguments":{"path":"/tmp","Path":"/etc"}}}""");
        Assert.Equal(McpInspectError.CaseVariantMember, McpInspector.Inspect(refused.AsSpan(), out _));
        Assert.Equal(0, AllocatedBy(() => McpInspector.Inspect(refused.AsSpan(), out _)));
    }

    [Fact]
    public void Inspect_allocates_nothing_on_many_segments()
    {
        ReadOnlySequence<byte> body = Segments.Split(ModernCall, 7, 50, 51, 90, 140, 141, 142, 200);
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(body, out _));
        Assert.Equal(0, AllocatedBy(() => McpInspector.Inspect(body, out _)));
    }

    [Fact]
    public void Check_allocates_nothing()
    {
        ReadOnlySequence<byte> body = Segments.Split(ModernCall, 30, 61, 62, 120);
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(body, out McpCall call));
        byte[] method = "tools/call"u8.ToArray();
        byte[] name = Encoding.ASCII.GetBytes("=?base64?" + Convert.ToBase64String(Encoding.UTF8.GetBytes("Grüße")) + "?=");
        byte[] version = "2026-07-28"u8.ToArray();
        Assert.Equal(McpHeaderMismatch.None, McpHeaderCheck.Check(body, call, method, name, version));
        Assert.Equal(0, AllocatedBy(() => McpHeaderCheck.Check(body, call, method, name, version)));
    }

    [Fact]
    public void Error_writing_and_unescaping_allocate_nothing()
    {
        var body = new ReadOnlySequence<byte>(ModernCall);
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(body, out McpCall call));
        var output = new ArrayBufferWriter<byte>(4096);
        byte[] scratch = new byte[64];
        Assert.Equal(0, AllocatedBy(() =>
        {
            output.ResetWrittenCount();
            JsonRpcErrorWriter.Write(output, body, call.IdRange, JsonRpcErrorCodes.Forbidden, "Tool \"x\" denied"u8);
            McpInspector.CopyUnescaped(body, call.NameRange, scratch);
        }));
    }

    // Upstream messages get the same name checks (variants of the names read, the whole-message scan): a server
    // request and a list with escaped and non-ASCII names, and a refused one, allocate nothing either.
    [Fact]
    public void Viewing_upstream_messages_with_the_name_checks_allocates_nothing()
    {
        byte[] request = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":"s1","m\u0065thod":"sampling/createMessage","params":{"messages":[{"role":"user","content":{"type":"text","text":"hi"}}],"Pr\u00f6gress":1,"maxTokens":5,"_meta":{"ſtraße":1}}}""");
        byte[] list = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":3,"result":{"tools":[{"n\u0061me":"t2","Beschreibung":"über","ΣΟΦΙΑ":1},{"name":"t3","inputSchema":{"properties":{"Name":{}}}}],"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"s","version":"1"}}}}""");
        byte[] refused = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"t2","N\u0041ME":"t1"}]}}""");
        Assert.True(McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(request), out McpResponseView view));
        Assert.Equal(McpMessageKind.Request, view.Kind);
        Assert.True(McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(list), out _));
        Assert.False(McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(refused), out _));
        ReadOnlySequence<byte> split = Segments.Split(request, 9, 30, 31, 33, 80, 120);
        Assert.Equal(0, AllocatedBy(() => McpResponseInspector.TryInspect(split, out _)));
        Assert.Equal(0, AllocatedBy(() => McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(list), out _)));
        Assert.Equal(0, AllocatedBy(() => McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(refused), out _)));

        var output = new ArrayBufferWriter<byte>(4096);
        var filter = new KeepEven();
        Assert.True(ListResultFilter.TryFilter(new ReadOnlySequence<byte>(list), McpMethod.ToolsList, ref filter, output, out int removed));
        Assert.Equal(1, removed);
        Assert.True(ListResultShape.TryFind(new ReadOnlySequence<byte>(list), out McpMethod found));
        Assert.Equal(McpMethod.ToolsList, found);
        Assert.Equal(0, AllocatedBy(() =>
        {
            output.ResetWrittenCount();
            var f = new KeepEven();
            ListResultFilter.TryFilter(new ReadOnlySequence<byte>(list), McpMethod.ToolsList, ref f, output, out _);
            ListResultFilter.TryFilter(new ReadOnlySequence<byte>(refused), McpMethod.ToolsList, ref f, output, out _);
            ListResultShape.TryFind(new ReadOnlySequence<byte>(list), out _);
        }));
    }

    // The name rule is checked in the readers' own walk: past 64 names open at once its hash list is rented from the
    // shared pool and given back, past 256 bytes a name is unescaped and folded in rented buffers; none of it
    // allocates once warm, whether the message passes or is refused (and then read a second time to name the clash).
    [Fact]
    public void The_name_check_in_the_walk_allocates_nothing_past_64_names()
    {
        string names = string.Join(",", Enumerable.Range(0, 100).Select(i => $"\"m{i}\":{{\"k\":{i}}}"))
            + ",\"" + new string('n', 300) + "\":1,\"\\u006d" + new string('n', 299) + "\":2";
        byte[] call = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"arguments\":{" + names + "}}}");
        byte[] refused = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"arguments\":{" + names + ",\"M99\":0}}}");
        byte[] answer = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"structuredContent\":{" + names + "}}}");
        byte[] list = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"tools\":[{\"name\":\"t2\",\"inputSchema\":{" + names + "}}]}}");
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(call.AsSpan(), out _));
        Assert.Equal(McpInspectError.CaseVariantMember, McpInspector.Inspect(refused.AsSpan(), out _));
        Assert.True(McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(answer), out _));
        var output = new ArrayBufferWriter<byte>(16 * 1024);
        var filter = new KeepEven();
        Assert.True(ListResultFilter.TryFilter(new ReadOnlySequence<byte>(list), McpMethod.ToolsList, ref filter, output, out int removed));
        Assert.Equal(0, removed);

        ReadOnlySequence<byte> split = Segments.Split(call, 100, 101, 700, 1400);
        Assert.Equal(0, AllocatedBy(() => McpInspector.Inspect(call.AsSpan(), out _)));
        Assert.Equal(0, AllocatedBy(() => McpInspector.Inspect(split, out _)));
        Assert.Equal(0, AllocatedBy(() => McpInspector.Inspect(refused.AsSpan(), out _)));
        Assert.Equal(0, AllocatedBy(() => McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(answer), out _)));
        Assert.Equal(0, AllocatedBy(() =>
        {
            output.ResetWrittenCount();
            var f = new KeepEven();
            ListResultFilter.TryFilter(new ReadOnlySequence<byte>(list), McpMethod.ToolsList, ref f, output, out _);
        }));
    }

    private readonly struct KeepEven : IListEntryFilter
    {
        public bool Keep(McpMethod listMethod, scoped ReadOnlySpan<byte> nameUtf8) => (nameUtf8[^1] & 1) == 0;
    }

    [Fact]
    public void List_filtering_allocates_nothing_with_a_struct_filter()
    {
        var json = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"t1"},{"name":"t\u0032","x":[1]},{"name":"t3"},{"name":"t4"}],"nextCursor":"n"}}"""));
        var output = new ArrayBufferWriter<byte>(4096);
        var filter = new KeepEven();
        Assert.True(ListResultFilter.TryFilter(json, McpMethod.ToolsList, ref filter, output, out int removed));
        Assert.Equal(2, removed);
        Assert.Equal(0, AllocatedBy(() =>
        {
            output.ResetWrittenCount();
            var f = new KeepEven();
            ListResultFilter.TryFilter(json, McpMethod.ToolsList, ref f, output, out _);
        }));
    }
}
