using System.Buffers;

namespace FastMcp.Http.Tests;

public class AllocationTests
{
    private static readonly byte[] McpPost = Segments.Ascii(
        "POST /mcp HTTP/1.1\r\n" +
        "Host: 127.0.0.1:8080\r\n" +
        "User-Agent: node\r\n" +
        "Accept: application/json, text/event-stream\r\n" +
        "Content-Type: application/json\r\n" +
        "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln\r\n" +
        "Mcp-Session-Id: 6f1c0f7e-9a53-4c33-a0e8-1b4d2a1f2b3c\r\n" +
        "MCP-Protocol-Version: 2025-06-18\r\n" +
        "Mcp-Method: tools/call\r\n" +
        "Mcp-Name: echo\r\n" +
        "Content-Length: 120\r\n" +
        "Connection: keep-alive\r\n" +
        "\r\n");

    [Fact]
    public void RequestHeadParseAllocatesNothing()
    {
        var head = new HttpRequestHead(new HttpLimits());
        var single = new ReadOnlySequence<byte>(McpPost);
        ReadOnlySequence<byte> split = Segments.SplitAt(McpPost, McpPost.Length / 2);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(HttpRejectReason.None, head.Parse(single));
            Assert.Equal(HttpRejectReason.None, head.Parse(split));
            Assert.Equal(HttpRejectReason.None, head.Parse(McpPost.AsSpan()));
        }

        HttpRejectReason r = HttpRejectReason.None;
        long allocated = ThreadAllocations.Measure(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                r |= head.Parse(single);
                r |= head.Parse(split);
                r |= head.Parse(McpPost.AsSpan());
            }
        });
        Assert.Equal(HttpRejectReason.None, r);
        Assert.Equal(0, allocated);
        Assert.Equal(120, head.ContentLength);
        Assert.Equal(11, head.Headers.Count);
    }

    [Fact]
    public void FramerAndResponseParseAllocateNothing()
    {
        byte[] response = Segments.Ascii("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nMcp-Session-Id: s\r\nTransfer-Encoding: chunked\r\n\r\n");
        var responseHead = new HttpResponseHead(new HttpLimits());
        var responseSeq = new ReadOnlySequence<byte>(response);
        ReadOnlySequence<byte> requestSeq = Segments.SplitAt(McpPost, 7);
        long found = 0;
        HttpRejectReason r = HttpRejectReason.None;
        bool sse = true;
        for (int i = 0; i < 100; i++) Run();

        // No asserts inside the measured loop: xunit's Assert.Equal allocates.
        long allocated = ThreadAllocations.Measure(() => { for (int i = 0; i < 1000; i++) Run(); });
        Assert.Equal(0, allocated);
        Assert.Equal(McpPost.Length, found);
        Assert.Equal(HttpRejectReason.None, r);
        Assert.True(sse);

        void Run()
        {
            var framer = new HeadFramer();
            found = framer.TryFindEnd(requestSeq, 16 * 1024);
            r |= responseHead.Parse(responseSeq, false);
            sse &= responseHead.IsEventStream;
        }
    }

    [Fact]
    public void ChunkedDecodeAndSseSplitAllocateNothingInSteadyState()
    {
        byte[] body = Segments.Ascii("5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nT: 1\r\n\r\n");
        byte[] sse = Segments.Ascii("event: message\r\ndata: {\"jsonrpc\":\"2.0\"}\r\n\r\n");
        var output = new ArrayBufferWriter<byte>(4096);
        var limits = new HttpLimits();
        var seq = Segments.SplitAt(body, 9);
        bool ok = true;
        for (int i = 0; i < 100; i++) Run();

        // No asserts inside the measured loop: xunit's Assert.Equal allocates.
        long allocated = ThreadAllocations.Measure(() => { for (int i = 0; i < 1000; i++) Run(); });
        Assert.Equal(0, allocated);
        Assert.True(ok);
        Assert.Equal("hello world", System.Text.Encoding.Latin1.GetString(output.WrittenSpan));

        void Run()
        {
            output.ResetWrittenCount();
            var decoder = new ChunkedDecoder();
            var reader = new SequenceReader<byte>(seq);
            ok &= decoder.Decode(ref reader, output, limits, out _) == OperationStatus.Done;
            var splitter = new SseEventSplitter();
            ok &= splitter.TryFindEventEnd(sse) == sse.Length;
            ok &= SseEvent.TryGetSingleData(sse, out _);
        }
    }
}
