using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using FastMcp.Mcp;

namespace FastMcp.Benchmarks.Mcp;

/// <summary>
/// One walk against two: the readers now check the member-name rule (no object repeats a name, exactly or apart from
/// letter case) in their own walk of a message; before, the standalone DuplicateMemberScan walked it a second time.
/// Both are measured on a typical tools/call request, a typical tools/call answer and a tools/list answer of 20 tools.
/// "Two walks" is <c>McpInspector.InspectInTwoWalks</c> / <c>McpResponseInspector.TryInspectInTwoWalks</c>: the same
/// reader code with an idle tally (one not-taken branch per token, which it did not have before, so it is a hair
/// slower than the code it stands for) followed by the standalone scan, exactly as the gateway read a message before.
/// The tests hold both to the same verdicts.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class MemberNameWalkBenchmarks
{
    private static readonly byte[] ToolsCall = Encoding.UTF8.GetBytes("""
        {"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Oslo","units":"metric","days":3},
        "_meta":{"progressToken":"p-42","io.modelcontextprotocol/protocolVersion":"2026-07-28",
        "io.modelcontextprotocol/clientInfo":{"name":"agent-cli","version":"1.4.2"},"io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}}}
        """);

    private static readonly byte[] CallResult = Encoding.UTF8.GetBytes(
        """{"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"Oslo: 4 degrees, light rain"}],"structuredContent":{"temperature":4,"conditions":"light rain"},"isError":false}}""");

    private ReadOnlySequence<byte> _request;
    private ReadOnlySequence<byte> _answer;
    private ReadOnlySequence<byte> _toolsList;

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
        _request = new ReadOnlySequence<byte>(ToolsCall);
        _answer = new ReadOnlySequence<byte>(CallResult);
        _toolsList = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(sb.ToString()));
        if (McpInspector.Inspect(_request, out _) != McpInspectError.None || McpInspector.InspectInTwoWalks(_request, out _) != McpInspectError.None
            || !McpResponseInspector.TryInspect(_answer, out _) || !McpResponseInspector.TryInspectInTwoWalks(_answer, out _)
            || !McpResponseInspector.TryInspect(_toolsList, out _) || !McpResponseInspector.TryInspectInTwoWalks(_toolsList, out _))
        {
            throw new InvalidOperationException("benchmark messages must be read cleanly both ways");
        }
    }

    [Benchmark(Baseline = true), BenchmarkCategory("tools/call request")]
    public McpInspectError Request_two_walks() => McpInspector.InspectInTwoWalks(_request, out _);

    [Benchmark, BenchmarkCategory("tools/call request")]
    public McpInspectError Request_one_walk() => McpInspector.Inspect(_request, out _);

    [Benchmark(Baseline = true), BenchmarkCategory("tools/call answer")]
    public bool Answer_two_walks() => McpResponseInspector.TryInspectInTwoWalks(_answer, out _);

    [Benchmark, BenchmarkCategory("tools/call answer")]
    public bool Answer_one_walk() => McpResponseInspector.TryInspect(_answer, out _);

    [Benchmark(Baseline = true), BenchmarkCategory("tools/list answer, 20 tools")]
    public bool Tools_list_two_walks() => McpResponseInspector.TryInspectInTwoWalks(_toolsList, out _);

    [Benchmark, BenchmarkCategory("tools/list answer, 20 tools")]
    public bool Tools_list_one_walk() => McpResponseInspector.TryInspect(_toolsList, out _);
}
