using System.Buffers;

namespace FastMcp.Http.Tests;

public class HeadFramerTests
{
    private const string Head =
        "POST /mcp?session=abc&x=1 HTTP/1.1\r\n" +
        "Host: gateway.example:8443\r\n" +
        "Content-Type: application/json\r\n" +
        "Accept: application/json, text/event-stream\r\n" +
        "Mcp-Session-Id: 4f9c2d\r\n" +
        "X-Custom:   padded value \t\r\n" +
        "Content-Length: 42\r\n" +
        "Expect: 100-continue\r\n" +
        "Connection: keep-alive, close\r\n" +
        "\r\n";

    // A pipelined body and next request follow the head: the framer must stop at the empty line.
    private const string Trailing = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r\nGET / HTTP/1.1\r\n\r\n";

    private static readonly byte[] Bytes = Segments.Ascii(Head + Trailing);
    private static readonly HttpLimits Limits = new();

    private static RequestSnapshot Expected()
    {
        var head = new HttpRequestHead(Limits);
        return RequestSnapshot.Of(head, head.Parse(Segments.Ascii(Head)));
    }

    private static RequestSnapshot FrameAndParse(ReadOnlySequence<byte> buffer)
    {
        var framer = new HeadFramer();
        long length = framer.TryFindEnd(buffer, Limits.MaxHeadBytes);
        Assert.Equal(Head.Length, length);
        var head = new HttpRequestHead(Limits);
        return RequestSnapshot.Of(head, head.Parse(buffer.Slice(0, length)));
    }

    [Fact]
    public void ReferenceParseHasEveryField()
    {
        RequestSnapshot s = Expected();
        Assert.Equal(HttpRejectReason.None, s.Result);
        Assert.Equal(HttpMethod.Post, s.Method);
        Assert.Equal("POST", s.MethodToken);
        Assert.Equal("/mcp?session=abc&x=1", s.Target);
        Assert.Equal("/mcp", s.Path);
        Assert.Equal("?session=abc&x=1", s.Query);
        Assert.True(s.IsHttp11);
        Assert.Equal(BodyFraming.ContentLength, s.Framing);
        Assert.Equal(42, s.ContentLength);
        Assert.True(s.ConnectionClose);
        Assert.True(s.ExpectsContinue);
        Assert.Equal(
            "Host|Host|gateway.example:8443\n" +
            "ContentType|Content-Type|application/json\n" +
            "Accept|Accept|application/json, text/event-stream\n" +
            "McpSessionId|Mcp-Session-Id|4f9c2d\n" +
            "Other|X-Custom|padded value\n" +
            "ContentLength|Content-Length|42\n" +
            "Expect|Expect|100-continue\n" +
            "Connection|Connection|keep-alive, close\n",
            s.Headers);
    }

    [Fact]
    public void SingleSegment()
    {
        Assert.Equal(Expected(), FrameAndParse(new ReadOnlySequence<byte>(Bytes)));
    }

    [Fact]
    public void TwoSegmentsSplitAtEveryPosition()
    {
        RequestSnapshot expected = Expected();
        for (int at = 0; at <= Bytes.Length; at++)
            Assert.Equal(expected, FrameAndParse(Segments.SplitAt(Bytes, at)));
    }

    [Fact]
    public void OneByteSegments()
    {
        Assert.Equal(Expected(), FrameAndParse(Segments.OneBytePerSegment(Bytes)));
    }

    [Fact]
    public void BufferGrowingOneByteAtATimeFindsTheEndExactlyWhenItArrives()
    {
        var framer = new HeadFramer();
        long found = 0;
        int calls = 0;
        for (int n = 0; n <= Bytes.Length && found == 0; n++)
        {
            calls++;
            // A fresh sequence per call, as a pipe reader hands out after AdvanceTo(start, end).
            found = framer.TryFindEnd(Segments.OneBytePerSegment(Bytes[..n]), Limits.MaxHeadBytes);
            if (n < Head.Length) Assert.Equal(0, found);
        }
        Assert.Equal(Head.Length, found);
        Assert.Equal(Head.Length + 1, calls);
        var head = new HttpRequestHead(Limits);
        Assert.Equal(Expected(), RequestSnapshot.Of(head, head.Parse(Bytes.AsSpan(0, (int)found))));
    }

    [Fact]
    public void BufferGrowingInContiguousArrays()
    {
        var framer = new HeadFramer();
        for (int n = 0; n < Head.Length; n++)
            Assert.Equal(0, framer.TryFindEnd(new ReadOnlySequence<byte>(Bytes, 0, n), Limits.MaxHeadBytes));
        Assert.Equal(Head.Length, framer.TryFindEnd(new ReadOnlySequence<byte>(Bytes, 0, Head.Length), Limits.MaxHeadBytes));
    }

    [Fact]
    public void ResetStartsOver()
    {
        var framer = new HeadFramer();
        Assert.Equal(Head.Length, framer.TryFindEnd(new ReadOnlySequence<byte>(Bytes), Limits.MaxHeadBytes));
        framer.Reset();
        byte[] next = Segments.Ascii("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(next.Length, framer.TryFindEnd(new ReadOnlySequence<byte>(next), Limits.MaxHeadBytes));
    }

    [Fact]
    public void HeadBiggerThanLimitReturnsMinusOne()
    {
        string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: " + new string('a', 200) + "\r\n\r\n";
        byte[] bytes = Segments.Ascii(big);
        var framer = new HeadFramer();
        Assert.Equal(-1, framer.TryFindEnd(new ReadOnlySequence<byte>(bytes), 128));

        // Growing: 0 while below the limit, -1 once the limit is reached without the end.
        framer.Reset();
        for (int n = 0; n < 128; n++)
            Assert.Equal(0, framer.TryFindEnd(new ReadOnlySequence<byte>(bytes, 0, n), 128));
        Assert.Equal(-1, framer.TryFindEnd(new ReadOnlySequence<byte>(bytes, 0, 128), 128));
    }

    [Fact]
    public void HeadOfExactlyTheLimitIsFound()
    {
        byte[] bytes = Segments.Ascii("GET / HTTP/1.1\r\nHost: a\r\n\r\nEXTRA");
        int headLength = bytes.Length - 5;
        var framer = new HeadFramer();
        Assert.Equal(headLength, framer.TryFindEnd(new ReadOnlySequence<byte>(bytes), headLength));
        framer.Reset();
        Assert.Equal(-1, framer.TryFindEnd(new ReadOnlySequence<byte>(bytes), headLength - 1));
    }

    [Fact]
    public void BareLfEmptyLineEndsTheHeadAndTheParserRejectsIt()
    {
        byte[] bytes = Segments.Ascii("GET / HTTP/1.1\nHost: a\n\nBODY");
        var framer = new HeadFramer();
        long length = framer.TryFindEnd(new ReadOnlySequence<byte>(bytes), 1024);
        Assert.Equal(bytes.Length - 4, length);
        var head = new HttpRequestHead(Limits);
        Assert.Equal(HttpRejectReason.InvalidRequestLine, head.Parse(bytes.AsSpan(0, (int)length)));
    }

    [Fact]
    public void LeadingEmptyLineIsFramedAsAnEmptyHeadAndRejected()
    {
        byte[] bytes = Segments.Ascii("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
        var framer = new HeadFramer();
        Assert.Equal(2, framer.TryFindEnd(new ReadOnlySequence<byte>(bytes), 1024));
        var head = new HttpRequestHead(Limits);
        Assert.Equal(HttpRejectReason.InvalidRequestLine, head.Parse(bytes.AsSpan(0, 2)));
    }

    [Fact]
    public void CrInsideALineDoesNotEndTheHead()
    {
        byte[] bytes = Segments.Ascii("GET / HTTP/1.1\r\nHost: a\r\nX: \r\r\n\r\n");
        var framer = new HeadFramer();
        Assert.Equal(bytes.Length, framer.TryFindEnd(new ReadOnlySequence<byte>(bytes), 1024));
    }

    /// <summary>
    /// The one-span search a head in one segment gets agrees with the segment-by-segment search on random line soup
    /// (bare LFs, lone CRs, empty first lines, limits inside and outside the head), whole and growing.
    /// </summary>
    [Fact]
    public void OneSpanSearchAgreesWithTheSegmentSearch()
    {
        var random = new Random(1409);
        byte[] alphabet = Segments.Ascii("aa:  \r\n\r\n\n");
        for (int round = 0; round < 2000; round++)
        {
            byte[] bytes = new byte[random.Next(0, 80)];
            for (int i = 0; i < bytes.Length; i++) bytes[i] = alphabet[random.Next(alphabet.Length)];
            int limit = random.Next(1, 100);
            var whole = new HeadFramer();
            var pieces = new HeadFramer();
            Assert.Equal(pieces.TryFindEnd(Segments.OneBytePerSegment(bytes), limit), whole.TryFindEnd(new ReadOnlySequence<byte>(bytes), limit));

            // Growing, alternating between one span and several segments as a receive reader's buffer does.
            var growing = new HeadFramer();
            var reference = new HeadFramer();
            for (int n = 0; n <= bytes.Length; n += random.Next(1, 7))
            {
                ReadOnlySequence<byte> view = random.Next(2) == 0 ? new ReadOnlySequence<byte>(bytes, 0, n) : Segments.SplitAt(bytes[..n], random.Next(n + 1));
                long found = growing.TryFindEnd(view, limit);
                Assert.Equal(reference.TryFindEnd(Segments.OneBytePerSegment(bytes[..n]), limit), found);
                if (found != 0) break;
            }
        }
    }
}
