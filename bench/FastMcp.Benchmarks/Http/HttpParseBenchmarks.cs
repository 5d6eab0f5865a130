using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastMcp.Http;

namespace FastMcp.Benchmarks.Http;

/// <summary>Framing and parsing one typical MCP POST head, whole and split across pipe segments.</summary>
[MemoryDiagnoser]
public class HttpParseBenchmarks
{
    private static readonly byte[] Head = Encoding.ASCII.GetBytes(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: node\r\nAccept: application/json, text/event-stream\r\n" +
        "Content-Type: application/json\r\nAuthorization: Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl\r\n" +
        "Mcp-Session-Id: 3f86e1ad9b9b36d6e0d6471554dc0fb5\r\nMCP-Protocol-Version: 2025-11-25\r\nContent-Length: 120\r\n\r\n");

    private readonly HttpRequestHead _request = new(new HttpLimits());
    private ReadOnlySequence<byte> _whole;
    private ReadOnlySequence<byte> _split;

    [GlobalSetup]
    public void Setup()
    {
        _whole = new ReadOnlySequence<byte>(Head);
        var first = new Segment(Head.AsMemory(0, 60));
        Segment last = first.Append(Head.AsMemory(60, 100)).Append(Head.AsMemory(160));
        _split = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    [Benchmark(Baseline = true)]
    public HttpRejectReason FrameAndParse() => Run(_whole);

    [Benchmark]
    public HttpRejectReason FrameAndParseThreeSegments() => Run(_split);

    private HttpRejectReason Run(in ReadOnlySequence<byte> buffer)
    {
        var framer = new HeadFramer();
        long length = framer.TryFindEnd(buffer, 16 * 1024);
        return _request.Parse(buffer.Slice(0, length));
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
