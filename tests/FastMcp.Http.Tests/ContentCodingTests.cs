using System.Buffers;

namespace FastMcp.Http.Tests;

public class ContentCodingTests
{
    private static bool IsIdentity(string headerLines)
    {
        var head = new HttpResponseHead(new HttpLimits());
        Assert.Equal(HttpRejectReason.None, head.Parse(new ReadOnlySequence<byte>(Segments.Ascii("HTTP/1.1 200 OK\r\n" + headerLines + "\r\n")), requestWasHead: false));
        return ContentCoding.IsIdentity(head.Headers);
    }

    [Theory]
    [InlineData("Content-Length: 2\r\n")]
    [InlineData("Content-Encoding: identity\r\nContent-Length: 2\r\n")]
    [InlineData("Content-Encoding: Identity , identity\r\nContent-Length: 2\r\n")]
    [InlineData("Content-Encoding: \r\nContent-Length: 2\r\n")]
    [InlineData("Transfer-Encoding: chunked\r\n")]
    [InlineData("Transfer-Encoding: Chunked\r\n")]
    [InlineData("Accept-Encoding: gzip\r\nContent-Length: 2\r\n")] // not about this body
    public void Bodies_sent_as_they_are_are_identity(string headers) => Assert.True(IsIdentity(headers));

    [Theory]
    [InlineData("Content-Encoding: gzip\r\nContent-Length: 2\r\n")]
    [InlineData("content-encoding: GZIP\r\nContent-Length: 2\r\n")]
    [InlineData("Content-Encoding: br\r\nContent-Length: 2\r\n")]
    [InlineData("Content-Encoding: identity, deflate\r\nContent-Length: 2\r\n")]
    [InlineData("Content-Encoding: identity\r\nContent-Encoding: zstd\r\nContent-Length: 2\r\n")]
    [InlineData("Content-Encoding: x-unknown\r\nContent-Length: 2\r\n")]
    [InlineData("Transfer-Encoding: gzip, chunked\r\n")]
    [InlineData("Transfer-Encoding: gzip\r\n")]
    public void Any_other_coding_is_not(string headers) => Assert.False(IsIdentity(headers));
}
