using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastMcp.Mcp;

namespace FastMcp.Benchmarks.Mcp;

/// <summary>
/// Response-side MCP work: viewing an upstream answer (a tools/call result, a 20-tool list, a result with an 8 KiB
/// text), filtering a 20-tool list, writing an error. The standalone member-name scan (every object's names folded and
/// compared in a walk of its own, as <c>fastmcp policy test</c> runs it) is measured on the same answers; a view checks
/// the same rule inside its own walk (<see cref="MemberNameWalkBenchmarks"/> weighs the two).
/// </summary>
[MemoryDiagnoser]
public class McpResponseBenchmarks
{
    private ReadOnlySequence<byte> _toolsList;
    private ReadOnlySequence<byte> _callResult;
    private ReadOnlySequence<byte> _largeResult;
    private byte[] _toolsListBytes = [];
    private byte[] _callResultBytes = [];
    private byte[] _largeResultBytes = [];
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);

    private readonly struct DenyOddTools : IListEntryFilter
    {
        public bool Keep(McpMethod listMethod, scoped ReadOnlySpan<byte> nameUtf8) => (nameUtf8[^1] & 1) == 0;
    }

    [GlobalSetup]
    public void Setup()
    {
        var sb = new StringBuilder("""{"jsonrpc":"2.0","id":7,"result":{"tools":[""");
        for (int i = 0; i < 20; i++)
        {
            if (i > 0) sb.Append(',');
            sb.Append("{\"name\":\"tool_").Append(i).Append("\",\"description\":\"Does thing number ").Append(i)
                .Append(" for the caller\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"string\"}},\"required\":[\"x\"]}}");
        }
        sb.Append("""],"nextCursor":"page-2"}}""");
        _toolsListBytes = Encoding.UTF8.GetBytes(sb.ToString());
        _callResultBytes = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"Oslo: 4 degrees, light rain"}],"isError":false,"resultType":"complete"}}""");
        _largeResultBytes = Encoding.UTF8.GetBytes("{\"jsonrpc\":\"2.0\",\"id\":43,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\""
            + new string('w', 8 * 1024) + "\"}],\"isError\":false}}");
        _toolsList = new ReadOnlySequence<byte>(_toolsListBytes);
        _callResult = new ReadOnlySequence<byte>(_callResultBytes);
        _largeResult = new ReadOnlySequence<byte>(_largeResultBytes);
        if (!McpResponseInspector.TryInspect(_toolsList, out _) || !McpResponseInspector.TryInspect(_callResult, out _)
            || !McpResponseInspector.TryInspect(_largeResult, out _))
        {
            throw new InvalidOperationException("benchmark answers must be readable");
        }
    }

    [Benchmark]
    public bool Response_view_tools_call_result() => McpResponseInspector.TryInspect(_callResult, out _);

    [Benchmark]
    public bool Response_view_tools_call_result_utf8_checked_by_caller() => McpResponseInspector.TryInspectValidUtf8(_callResult, out _);

    [Benchmark]
    public bool Response_view_tools_list_20_entries() => McpResponseInspector.TryInspect(_toolsList, out _);

    [Benchmark]
    public bool Response_view_8_KiB_text_result() => McpResponseInspector.TryInspect(_largeResult, out _);

    [Benchmark]
    public McpInspectError Member_name_scan_tools_call_result() => McpInspector.FindClashingMemberNames(_callResultBytes);

    [Benchmark]
    public McpInspectError Member_name_scan_tools_list_20_entries() => McpInspector.FindClashingMemberNames(_toolsListBytes);

    [Benchmark]
    public McpInspectError Member_name_scan_8_KiB_text_result() => McpInspector.FindClashingMemberNames(_largeResultBytes);

    [Benchmark]
    public int Filter_tools_list_20_entries()
    {
        _output.ResetWrittenCount();
        var filter = new DenyOddTools();
        ListResultFilter.TryFilter(_toolsList, McpMethod.ToolsList, ref filter, _output, out int removed);
        return removed;
    }

    [Benchmark]
    public int Write_json_rpc_error()
    {
        _output.ResetWrittenCount();
        JsonRpcErrorWriter.Write(_output, "42"u8, JsonRpcErrorCodes.Forbidden, "Tool \"delete_all\" is not allowed for this identity"u8);
        return _output.WrittenCount;
    }
}
