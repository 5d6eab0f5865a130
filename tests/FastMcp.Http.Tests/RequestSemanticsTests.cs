using System.Text;

namespace FastMcp.Http.Tests;

/// <summary>What an accepted request head means: connection reuse, body framing, target form.</summary>
public class RequestSemanticsTests
{
    private readonly HttpRequestHead _head = new(new HttpLimits());

    private void Accept(string head) => Assert.Equal(HttpRejectReason.None, _head.Parse(Segments.Ascii(head)));

    private static string S(ReadOnlySpan<byte> b) => Encoding.Latin1.GetString(b);

    [Fact]
    public void Http11DefaultsToKeepAlive()
    {
        Accept("GET /mcp HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.True(_head.IsHttp11);
        Assert.False(_head.ConnectionClose);
        Assert.Equal(BodyFraming.None, _head.Framing);
        Assert.Equal(0, _head.ContentLength);
        Assert.False(_head.ExpectsContinue);
    }

    [Theory]
    [InlineData("Connection: close\r\n")]
    [InlineData("Connection: CLOSE\r\n")]
    [InlineData("Connection: keep-alive, close\r\n")]
    [InlineData("Connection: x-token ,\tclose \r\n")]
    [InlineData("Connection: keep-alive\r\nConnection: close\r\n")]
    public void Http11ConnectionClose(string fields)
    {
        Accept("GET / HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n");
        Assert.True(_head.ConnectionClose);
    }

    [Theory]
    [InlineData("Connection: closed\r\n")]
    [InlineData("Connection: keep-alive\r\n")]
    [InlineData("X-Connection: close\r\n")]
    public void Http11StaysOpenWithoutACloseToken(string fields)
    {
        Accept("GET / HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n");
        Assert.False(_head.ConnectionClose);
    }

    [Fact]
    public void Http10DefaultsToClose()
    {
        Accept("GET / HTTP/1.0\r\n\r\n");
        Assert.False(_head.IsHttp11);
        Assert.True(_head.ConnectionClose);
    }

    [Theory]
    [InlineData("Connection: keep-alive\r\n", false)]
    [InlineData("Connection: Keep-Alive\r\n", false)]
    [InlineData("Connection: keep-alive, close\r\n", true)]
    [InlineData("Connection: upgrade\r\n", true)]
    public void Http10KeepAlive(string fields, bool close)
    {
        Accept("GET / HTTP/1.0\r\nHost: a\r\n" + fields + "\r\n");
        Assert.Equal(close, _head.ConnectionClose);
    }

    [Theory]
    [InlineData("100-continue")]
    [InlineData("100-Continue")]
    [InlineData("  100-continue\t")]
    public void ExpectContinueRecognised(string value)
    {
        Accept("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: " + value + "\r\n\r\n");
        Assert.True(_head.ExpectsContinue);
    }

    [Fact]
    public void ExpectOtherValuesAndHttp10AreIgnored()
    {
        Accept("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 200-ok\r\n\r\n");
        Assert.False(_head.ExpectsContinue);
        Accept("POST / HTTP/1.0\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
        Assert.False(_head.ExpectsContinue);
    }

    [Fact]
    public void ChunkedFraming()
    {
        Accept("POST /mcp HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked \r\n\r\n");
        Assert.Equal(BodyFraming.Chunked, _head.Framing);
        Assert.Equal(-1, _head.ContentLength);
    }

    [Fact]
    public void ContentLengthZeroHasNoBody()
    {
        Accept("POST /mcp HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
        Assert.Equal(BodyFraming.None, _head.Framing);
        Assert.Equal(0, _head.ContentLength);
    }

    [Theory]
    [InlineData("http://example.com/mcp?x=1", "/mcp?x=1", "/mcp", "?x=1")]
    [InlineData("https://user@example.com:8443/a/b", "/a/b", "/a/b", "")]
    [InlineData("http://example.com/", "/", "/", "")]
    [InlineData("HTTP://EXAMPLE.COM/p?", "/p?", "/p", "?")]
    public void AbsoluteFormKeepsPathAndQuery(string target, string origin, string path, string query)
    {
        Accept("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(origin, S(_head.Target));
        Assert.Equal(path, S(_head.Path));
        Assert.Equal(query, S(_head.Query));
    }

    [Theory]
    [InlineData("GET http://other.example/mcp HTTP/1.1\r\nHost: a\r\n\r\n", "other.example")]
    [InlineData("GET https://user@other.example:8443/mcp HTTP/1.1\r\nHost: a\r\n\r\n", "other.example:8443")]
    [InlineData("GET http://other.example/mcp HTTP/1.0\r\n\r\n", "other.example")]
    [InlineData("GET /mcp HTTP/1.1\r\nHost: a:80\r\n\r\n", "a:80")]
    public void AbsoluteFormAuthorityIsTheHost(string head, string host)
    {
        // RFC 9112 3.2.2: with an absolute-form target the Host header is ignored.
        Accept(head);
        Assert.Equal(host, S(_head.Host));
    }

    [Theory]
    [InlineData("http://a b/mcp")]
    [InlineData("http://@/mcp")]
    [InlineData("http://x\"y/mcp")]
    public void AbsoluteFormWithAnInvalidHostIsRejected(string target) =>
        Assert.NotEqual(HttpRejectReason.None, _head.Parse(Segments.Ascii("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n")));

    [Fact]
    public void AbsoluteFormQueryIsNeverTakenForThePath()
    {
        // "/mcp" here is inside the query; routing on it would let "?x=/mcp" reach /mcp.
        HttpRejectReason r = _head.Parse(Segments.Ascii("GET http://example.com?x=/mcp HTTP/1.1\r\nHost: a\r\n\r\n"));
        Assert.False(r == HttpRejectReason.None && S(_head.Path) == "/mcp",
            $"result {r}, path '{S(_head.Path)}', query '{S(_head.Query)}'");
    }

    [Theory]
    [InlineData("http:///mcp")]
    [InlineData("https:///mcp?x=1")]
    public void AbsoluteFormWithEmptyHostIsRejected(string target)
    {
        // RFC 9110 4.2.1: a recipient MUST reject an http(s) URI with an empty host as invalid.
        Assert.Equal(HttpRejectReason.InvalidTarget, _head.Parse(Segments.Ascii("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n")));
    }

    [Fact]
    public void OriginFormPathAndQuery()
    {
        Accept("DELETE /mcp/x?a=1?b=2 HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(HttpMethod.Delete, _head.Method);
        Assert.Equal("/mcp/x", S(_head.Path));
        Assert.Equal("?a=1?b=2", S(_head.Query));
    }

    [Fact]
    public void OptionsStarIsAccepted()
    {
        Accept("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(HttpMethod.Options, _head.Method);
        Assert.Equal("*", S(_head.Target));
        Assert.Equal("*", S(_head.Path));
        Assert.Equal("", S(_head.Query));
    }

    [Theory]
    [InlineData("GET", HttpMethod.Get)]
    [InlineData("POST", HttpMethod.Post)]
    [InlineData("DELETE", HttpMethod.Delete)]
    [InlineData("HEAD", HttpMethod.Head)]
    [InlineData("OPTIONS", HttpMethod.Options)]
    [InlineData("PUT", HttpMethod.Put)]
    [InlineData("PATCH", HttpMethod.Patch)]
    [InlineData("get", HttpMethod.Other)]
    [InlineData("PROPFIND", HttpMethod.Other)]
    [InlineData("M-SEARCH", HttpMethod.Other)]
    public void Methods(string token, HttpMethod method)
    {
        Accept(token + " / HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(method, _head.Method);
        Assert.Equal(token, S(_head.MethodToken));
        Assert.Equal(method, HttpMethods.Parse(Segments.Ascii(token)));
    }

    [Fact]
    public void HeaderValuesAreTrimmedAndLinesKeptVerbatim()
    {
        Accept("GET / HTTP/1.1\r\nHost:a\r\nX-Empty:\r\nX-Spaces: \t \r\nX-Pad: \t v a l \t\r\n\r\n");
        HttpHeaderTable h = _head.Headers;
        Assert.Equal(4, h.Count);
        Assert.Equal("a", S(h.ValueAt(0)));
        Assert.Equal("", S(h.ValueAt(1)));
        Assert.Equal("", S(h.ValueAt(2)));
        Assert.Equal("v a l", S(h.ValueAt(3)));
        Assert.Equal("v a l", S(h.ValueMemoryAt(3).Span));
        Assert.Equal("Host:a", S(h.LineAt(0)));
        Assert.Equal("X-Pad: \t v a l", S(h.LineAt(3)));
        Assert.Equal("X-Empty:", S(h.LineAt(1)));
        Assert.Equal("GET / HTTP/1.1\r\nHost:a\r\nX-Empty:\r\nX-Spaces: \t \r\nX-Pad: \t v a l \t\r\n\r\n", S(_head.RawHead));
    }

    [Fact]
    public void HeaderTableLookups()
    {
        Accept("GET / HTTP/1.1\r\nHost: a\r\nx-thing: 1\r\nAccept: one\r\naccept: two\r\n\r\n");
        HttpHeaderTable h = _head.Headers;
        Assert.True(h.Contains(KnownHeader.Accept));
        Assert.False(h.Contains(KnownHeader.Origin));
        Assert.Equal("one", S(h.Get(KnownHeader.Accept)));
        Assert.Equal("one", S(h.GetMemory(KnownHeader.Accept).Span));
        Assert.True(h.Get(KnownHeader.Origin).IsEmpty);
        Assert.True(h.GetMemory(KnownHeader.Origin).IsEmpty);
        Assert.Equal(2, h.IndexOf(KnownHeader.Accept));
        Assert.Equal(-1, h.IndexOf(KnownHeader.Origin));
        Assert.True(h.TryGet("X-THING"u8, out ReadOnlySpan<byte> v));
        Assert.Equal("1", S(v));
        Assert.False(h.TryGet("X-Other"u8, out _));
        Assert.Equal(100, h.Capacity);
    }

    [Fact]
    public void ReparsingTheSameObjectClearsThePreviousMessage()
    {
        Accept("POST /a?q HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\nOrigin: x\r\n\r\n");
        Accept("GET /b HTTP/1.1\r\nHost: b\r\n\r\n");
        Assert.Equal(HttpMethod.Get, _head.Method);
        Assert.Equal("/b", S(_head.Path));
        Assert.Equal("", S(_head.Query));
        Assert.Equal(1, _head.Headers.Count);
        Assert.False(_head.Headers.Contains(KnownHeader.Origin));
        Assert.Equal(BodyFraming.None, _head.Framing);
        Assert.Equal(0, _head.ContentLength);
        Assert.False(_head.ExpectsContinue);
        Assert.False(_head.ConnectionClose);
    }

    [Fact]
    public void FragmentInTargetIsNotPartOfTheForwardedPath()
    {
        // RFC 9112 3.2: origin-form is absolute-path [ "?" query ]; '#' can only come from a broken or hostile client.
        HttpRejectReason r = _head.Parse(Segments.Ascii("GET /mcp#frag HTTP/1.1\r\nHost: a\r\n\r\n"));
        Assert.Equal(HttpRejectReason.InvalidTarget, r);
    }
}
