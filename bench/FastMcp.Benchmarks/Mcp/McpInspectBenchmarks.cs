using System.Buffers;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using FastMcp.Mcp;

namespace FastMcp.Benchmarks.Mcp;

/// <summary>
/// The per-request MCP work of the gateway: inspecting a request body (one segment, split into pipe-sized
/// segments, and with a 16 KiB argument), the 2026-07-28 header check, and a JsonDocument parse of the same
/// body as the reference point of "what a DOM costs".
/// </summary>
[MemoryDiagnoser]
public class McpInspectBenchmarks
{
    private static readonly byte[] ToolsCall = Encoding.UTF8.GetBytes("""
        {"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Oslo","units":"metric","days":3},
        "_meta":{"progressToken":"p-42","io.modelcontextprotocol/protocolVersion":"2026-07-28",
        "io.modelcontextprotocol/clientInfo":{"name":"agent-cli","version":"1.4.2"},"io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}}}
        """);

    private static readonly byte[] LargeCall = Encoding.UTF8.GetBytes(
        "{\"jsonrpc\":\"2.0\",\"id\":\"big\",\"method\":\"tools/call\",\"params\":{\"name\":\"summarise\",\"arguments\":{\"text\":\""
        + new string('a', 16 * 1024) + "\"}}}");

    private ReadOnlySequence<byte> _single;
    private ReadOnlySequence<byte> _segmented;
    private ReadOnlySequence<byte> _large;
    private McpCall _call;

    [GlobalSetup]
    public void Setup()
    {
        _single = new ReadOnlySequence<byte>(ToolsCall);
        _segmented = Split(ToolsCall, 4);
        _large = new ReadOnlySequence<byte>(LargeCall);
        if (McpInspector.Inspect(_single, out _call) != McpInspectError.None
            || McpInspector.Inspect(_segmented, out _) != McpInspectError.None
            || McpInspector.Inspect(_large, out _) != McpInspectError.None)
        {
            throw new InvalidOperationException("benchmark bodies must inspect cleanly");
        }
    }

    [Benchmark(Baseline = true)]
    public McpInspectError Inspect_tools_call() => McpInspector.Inspect(_single, out _);

    [Benchmark]
    public McpInspectError Inspect_tools_call_4_segments() => McpInspector.Inspect(_segmented, out _);

    [Benchmark]
    public McpInspectError Inspect_tools_call_16KiB_argument() => McpInspector.Inspect(_large, out _);

    [Benchmark]
    public McpHeaderMismatch Header_check() =>
        McpHeaderCheck.Check(_single, _call, "tools/call"u8, "get_weather"u8, "2026-07-28"u8);

    [Benchmark]
    public int JsonDocument_parse_same_body()
    {
        // Reference point: a DOM parse plus the same three lookups.
        using JsonDocument doc = JsonDocument.Parse(ToolsCall);
        JsonElement root = doc.RootElement;
        return root.GetProperty("method").GetString()!.Length
            + root.GetProperty("params").GetProperty("name").GetString()!.Length
            + root.GetProperty("id").GetInt32();
    }

    private static ReadOnlySequence<byte> Split(byte[] bytes, int parts)
    {
        int size = (bytes.Length + parts - 1) / parts;
        var first = new Segment(bytes.AsMemory(0, Math.Min(size, bytes.Length)), 0);
        Segment last = first;
        for (int start = size; start < bytes.Length; start += size)
        {
            last = last.Append(bytes.AsMemory(start, Math.Min(size, bytes.Length - start)));
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
