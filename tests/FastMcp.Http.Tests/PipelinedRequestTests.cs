using System.Buffers;
using System.Text;

namespace FastMcp.Http.Tests;

/// <summary>Several requests back to back on one connection, read the way the gateway's loop reads them.</summary>
public class PipelinedRequestTests
{
    private const string Stream =
        "POST /mcp HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" +
        "POST /mcp HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n" +
        "GET /mcp?s=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

    private static List<string> ReadAll(ReadOnlySequence<byte> input)
    {
        var log = new List<string>();
        var limits = new HttpLimits();
        var head = new HttpRequestHead(limits);
        var framer = new HeadFramer();
        while (!input.IsEmpty)
        {
            framer.Reset();
            long headLength = framer.TryFindEnd(input, limits.MaxHeadBytes);
            Assert.True(headLength > 0);
            Assert.Equal(HttpRejectReason.None, head.Parse(input.Slice(0, headLength)));
            input = input.Slice(headLength);
            string body;
            if (head.Framing == BodyFraming.ContentLength)
            {
                body = Encoding.Latin1.GetString(input.Slice(0, head.ContentLength).ToArray());
                input = input.Slice(head.ContentLength);
            }
            else if (head.Framing == BodyFraming.Chunked)
            {
                var decoder = new ChunkedDecoder();
                var output = new ArrayBufferWriter<byte>();
                var reader = new SequenceReader<byte>(input);
                Assert.Equal(OperationStatus.Done, decoder.Decode(ref reader, output, limits, out _));
                body = Encoding.Latin1.GetString(output.WrittenSpan);
                input = input.Slice(reader.Position);
            }
            else body = "";
            log.Add($"{head.Method} {Encoding.Latin1.GetString(head.Target)} {head.Framing} [{body}] close={head.ConnectionClose}");
        }
        return log;
    }

    private static readonly string[] Expected =
    [
        "Post /mcp ContentLength [hello] close=False",
        "Post /mcp Chunked [abcde] close=False",
        "Get /mcp?s=1 None [] close=True",
    ];

    [Fact]
    public void ContiguousStream() =>
        Assert.Equal(Expected, ReadAll(new ReadOnlySequence<byte>(Segments.Ascii(Stream))));

    [Fact]
    public void SplitAtEveryPosition()
    {
        byte[] bytes = Segments.Ascii(Stream);
        for (int at = 0; at <= bytes.Length; at++)
            Assert.Equal(Expected, ReadAll(Segments.SplitAt(bytes, at)));
    }

    [Fact]
    public void OneByteSegmentsWithEmptySegmentsBetween()
    {
        byte[] bytes = Segments.Ascii(Stream);
        var pieces = new List<byte[]>();
        foreach (byte b in bytes)
        {
            pieces.Add([b]);
            pieces.Add([]);
        }
        Assert.Equal(Expected, ReadAll(Segments.Of([.. pieces])));
    }
}
