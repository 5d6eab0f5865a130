using System.Buffers;
using System.Text;

namespace FastMcp.Http.Tests;

public class ResponseHeadTests
{
    private readonly HttpResponseHead _head = new(new HttpLimits());

    private HttpRejectReason Parse(string head, bool requestWasHead = false) =>
        _head.Parse(new ReadOnlySequence<byte>(Segments.Ascii(head)), requestWasHead);

    private void Accept(string head, bool requestWasHead = false) =>
        Assert.Equal(HttpRejectReason.None, Parse(head, requestWasHead));

    private static string S(ReadOnlySpan<byte> b) => Encoding.Latin1.GetString(b);

    [Theory]
    [InlineData("HTTP/1.1 200 OK", 200, "OK", true)]
    [InlineData("HTTP/1.1 404 Not Found", 404, "Not Found", true)]
    [InlineData("HTTP/1.1 202 ", 202, "", true)]
    [InlineData("HTTP/1.1 202", 202, "", true)]
    [InlineData("HTTP/1.0 200 OK", 200, "OK", false)]
    [InlineData("HTTP/1.1 599 Whatever you like", 599, "Whatever you like", true)]
    [InlineData("HTTP/1.1 100 Continue", 100, "Continue", true)]
    public void ValidStatusLines(string line, int status, string reason, bool http11)
    {
        Accept(line + "\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal(status, _head.StatusCode);
        Assert.Equal(reason, S(_head.Reason));
        Assert.Equal(http11, _head.IsHttp11);
    }

    [Theory]
    [InlineData("HTTP/1.1 20 OK")]
    [InlineData("HTTP/1.1 2000 OK")]
    [InlineData("HTTP/1.1 2x0 OK")]
    [InlineData("HTTP/1.1 -20 OK")]
    [InlineData("HTTP/1.1 099 Low")]
    [InlineData("HTTP/1.1 OK")]
    [InlineData("HTTP/1.1  200 OK")]
    [InlineData("HTTP/1.2 200 OK")]
    [InlineData("HTTP/2.0 200 OK")]
    [InlineData("http/1.1 200 OK")]
    [InlineData("HTTP/1.1")]
    [InlineData("")]
    [InlineData("ICY 200 OK")]
    public void InvalidStatusLines(string line)
    {
        HttpRejectReason r = Parse(line + "\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal(HttpRejectReason.InvalidStatusLine, r);
        Assert.Equal(400, r.StatusCode());
    }

    [Fact]
    public void StatusLineWithBareLf() =>
        Assert.Equal(HttpRejectReason.InvalidStatusLine, Parse("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"));

    [Fact]
    public void HeaderErrorsAreSharedWithRequests()
    {
        Assert.Equal(HttpRejectReason.HeaderFolding, Parse("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"));
        Assert.Equal(HttpRejectReason.InvalidHeaderName, Parse("HTTP/1.1 200 OK\r\nX : a\r\n\r\n"));
        Assert.Equal(HttpRejectReason.ConflictingContentLength, Parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"));
        Assert.Equal(HttpRejectReason.InvalidContentLength, Parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"));
        Assert.Equal(HttpRejectReason.HeadersTooLarge, new HttpResponseHead(new HttpLimits { MaxHeadBytes = 16 })
            .Parse(new ReadOnlySequence<byte>(Segments.Ascii("HTTP/1.1 200 OK\r\n\r\n")), false));
    }

    [Theory]
    [InlineData(204)]
    [InlineData(304)]
    [InlineData(100)]
    [InlineData(101)]
    [InlineData(103)]
    [InlineData(199)]
    public void StatusesWithoutBody(int status)
    {
        Accept($"HTTP/1.1 {status} X\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n");
        Assert.Equal(BodyFraming.None, _head.Framing);
        Assert.Equal(0, _head.ContentLength);
        Assert.False(_head.ConnectionClose);
    }

    [Fact]
    public void HeadRequestHasNoBody()
    {
        Accept("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", requestWasHead: true);
        Assert.Equal(BodyFraming.None, _head.Framing);
        Assert.False(_head.ConnectionClose);
        Accept("HTTP/1.1 200 OK\r\n\r\n", requestWasHead: true);
        Assert.Equal(BodyFraming.None, _head.Framing);
    }

    [Theory]
    [InlineData("Transfer-Encoding: chunked\r\n")]
    [InlineData("Transfer-Encoding: gzip, chunked\r\n")]
    [InlineData("Transfer-Encoding: CHUNKED\r\nContent-Length: 5\r\n")]
    [InlineData("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")]
    public void ChunkedWinsOverContentLength(string fields)
    {
        Accept("HTTP/1.1 200 OK\r\n" + fields + "\r\n");
        Assert.Equal(BodyFraming.Chunked, _head.Framing);
        Assert.Equal(-1, _head.ContentLength);
        Assert.False(_head.ConnectionClose);
    }

    [Theory]
    [InlineData("Transfer-Encoding: gzip\r\n")]
    [InlineData("Transfer-Encoding: chunked, gzip\r\nContent-Length: 5\r\n")]
    public void NonChunkedTransferCodingIsReadUntilClose(string fields)
    {
        Accept("HTTP/1.1 200 OK\r\n" + fields + "\r\n");
        Assert.Equal(BodyFraming.UntilClose, _head.Framing);
        Assert.True(_head.ConnectionClose);
    }

    [Fact]
    public void ContentLengthFraming()
    {
        Accept("HTTP/1.1 200 OK\r\nContent-Length: 42\r\nContent-Length: 42\r\n\r\n");
        Assert.Equal(BodyFraming.ContentLength, _head.Framing);
        Assert.Equal(42, _head.ContentLength);
        Assert.False(_head.ConnectionClose);
    }

    [Fact]
    public void ContentLengthZero()
    {
        Accept("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal(BodyFraming.None, _head.Framing);
        Assert.Equal(0, _head.ContentLength);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\n\r\n")]
    [InlineData("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n")]
    public void NeitherMeansUntilCloseAndClose(string head)
    {
        Accept(head);
        Assert.Equal(BodyFraming.UntilClose, _head.Framing);
        Assert.Equal(-1, _head.ContentLength);
        Assert.True(_head.ConnectionClose);
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", false)]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n", true)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", true)]
    [InlineData("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive\r\n\r\n", false)]
    [InlineData("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", true)]
    public void ResponseConnectionClose(string head, bool close)
    {
        Accept(head);
        Assert.Equal(close, _head.ConnectionClose);
    }

    [Fact]
    public void Http10ChunkedResponseClosesTheConnection()
    {
        // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing; the connection must close.
        Accept("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n");
        Assert.True(_head.ConnectionClose);
    }

    [Theory]
    [InlineData("text/event-stream", true, false)]
    [InlineData("text/event-stream; charset=utf-8", true, false)]
    [InlineData("Text/Event-Stream ;charset=utf-8", true, false)]
    [InlineData("application/json", false, true)]
    [InlineData("application/json; charset=utf-8", false, true)]
    [InlineData("APPLICATION/JSON", false, true)]
    [InlineData("application/json-seq", false, false)]
    [InlineData("application/problem+json", false, false)]
    [InlineData("text/event-streams", false, false)]
    [InlineData("text/plain", false, false)]
    [InlineData("", false, false)]
    public void MediaTypes(string contentType, bool sse, bool json)
    {
        Accept("HTTP/1.1 200 OK\r\nContent-Type: " + contentType + "\r\nContent-Length: 1\r\n\r\n");
        Assert.Equal(sse, _head.IsEventStream);
        Assert.Equal(json, _head.IsJson);
    }

    [Fact]
    public void NoContentTypeIsNeither()
    {
        Accept("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n");
        Assert.False(_head.IsEventStream);
        Assert.False(_head.IsJson);
    }

    [Fact]
    public void MultiSegmentHeadParsesTheSame()
    {
        byte[] bytes = Segments.Ascii("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nMcp-Session-Id: s1\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (int at = 0; at <= bytes.Length; at++)
        {
            var head = new HttpResponseHead(new HttpLimits());
            Assert.Equal(HttpRejectReason.None, head.Parse(Segments.SplitAt(bytes, at), false));
            Assert.Equal(200, head.StatusCode);
            Assert.Equal("OK", S(head.Reason));
            Assert.True(head.IsEventStream);
            Assert.Equal(BodyFraming.Chunked, head.Framing);
            Assert.Equal("s1", S(head.Headers.Get(KnownHeader.McpSessionId)));
        }
    }

    [Fact]
    public void ReparsingClearsThePreviousResponse()
    {
        Accept("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
        Accept("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal(202, _head.StatusCode);
        Assert.False(_head.IsEventStream);
        Assert.Equal(BodyFraming.None, _head.Framing);
        Assert.False(_head.ConnectionClose);
        Assert.Equal(1, _head.Headers.Count);
    }
}
