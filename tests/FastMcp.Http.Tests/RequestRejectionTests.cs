namespace FastMcp.Http.Tests;

/// <summary>Each malformed or dangerous request head, with the reason and status it must get.</summary>
public class RequestRejectionTests
{
    private static HttpRejectReason Parse(string head, HttpLimits? limits = null)
    {
        var parsed = new HttpRequestHead(limits ?? new HttpLimits());
        return parsed.Parse(Segments.Ascii(head));
    }

    private static void Rejects(string head, HttpRejectReason reason, int status, HttpLimits? limits = null)
    {
        HttpRejectReason actual = Parse(head, limits);
        Assert.Equal(reason, actual);
        Assert.Equal(status, actual.StatusCode());
    }

    private const string H = "Host: a\r\n";

    [Theory]
    [InlineData("GET\r\n" + H + "\r\n")]
    [InlineData("GET /\r\n" + H + "\r\n")]
    [InlineData("GET / \r\n" + H + "\r\n")]
    [InlineData(" / HTTP/1.1\r\n" + H + "\r\n")]
    [InlineData("\r\n")]
    [InlineData("GET  / HTTP/1.1\r\n" + H + "\r\n")]
    [InlineData("GET /  HTTP/1.1\r\n" + H + "\r\n")]
    [InlineData("GET / HTTP/1.1 \r\n" + H + "\r\n")]
    [InlineData("GET / extra HTTP/1.1\r\n" + H + "\r\n")]
    [InlineData("GET / http/1.1\r\n" + H + "\r\n")]
    [InlineData("GET / HTTP/1\r\n" + H + "\r\n")]
    [InlineData("GET / HTTP/1.10\r\n" + H + "\r\n")]
    [InlineData("GET / HTTPS/1.1\r\n" + H + "\r\n")]
    public void MalformedRequestLine(string head) => Rejects(head, HttpRejectReason.InvalidRequestLine, 400);

    [Theory]
    [InlineData("HTTP/2.0")]
    [InlineData("HTTP/1.2")]
    [InlineData("HTTP/0.9")]
    [InlineData("HTTP/3.0")]
    public void UnsupportedVersionIs505(string version) =>
        Rejects("GET / " + version + "\r\n" + H + "\r\n", HttpRejectReason.UnsupportedVersion, 505);

    [Theory]
    [InlineData("G(T")]
    [InlineData("GE@")]
    [InlineData("GET\u0001")]
    [InlineData("G\u00e9T")]
    [InlineData("GE\"T")]
    [InlineData("\tGET")]
    public void InvalidMethodChars(string method) =>
        Rejects(method + " / HTTP/1.1\r\n" + H + "\r\n", HttpRejectReason.InvalidMethod, 400);

    [Theory]
    [InlineData("/a\tb")]
    [InlineData("/a\u0001b")]
    [InlineData("/a\u007fb")]
    [InlineData("/caf\u00e9")]
    [InlineData("/a\u0000b")]
    [InlineData("/a<b")]
    [InlineData("/a\"b")]
    [InlineData("/a{b}")]
    [InlineData("/a\\b")]
    [InlineData("mcp")]
    [InlineData("*")]
    [InlineData("http:/host/path")]
    [InlineData("http://host")]
    public void InvalidTarget(string target) =>
        Rejects("GET " + target + " HTTP/1.1\r\n" + H + "\r\n", HttpRejectReason.InvalidTarget, 400);

    [Fact]
    public void TargetWithSpaceIsAMalformedLine() =>
        Rejects("GET /a b HTTP/1.1\r\n" + H + "\r\n", HttpRejectReason.InvalidRequestLine, 400);

    [Fact]
    public void TargetTooLongIs414()
    {
        var limits = new HttpLimits { MaxTargetLength = 64 };
        Assert.Equal(HttpRejectReason.None, Parse("GET /" + new string('a', 63) + " HTTP/1.1\r\n" + H + "\r\n", limits));
        Rejects("GET /" + new string('a', 64) + " HTTP/1.1\r\n" + H + "\r\n", HttpRejectReason.TargetTooLong, 414, limits);
    }

    [Fact]
    public void BareLfEndingTheRequestLine() =>
        Rejects("GET / HTTP/1.1\n" + H + "\r\n", HttpRejectReason.InvalidRequestLine, 400);

    [Fact]
    public void BareLfEndingAHeaderLine() =>
        Rejects("GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", HttpRejectReason.InvalidHeaderLine, 400);

    [Fact]
    public void BareLfAsTheFinalEmptyLine() =>
        Rejects("GET / HTTP/1.1\r\n" + H + "\n", HttpRejectReason.InvalidHeaderLine, 400);

    [Fact]
    public void BareCrInsideTheRequestLine() =>
        Rejects("GET /\r HTTP/1.1\r\n" + H + "\r\n", HttpRejectReason.BareCarriageReturn, 400);

    [Fact]
    public void BareCrInsideAHeaderValue() =>
        Rejects("GET / HTTP/1.1\r\n" + H + "X: a\rb\r\n\r\n", HttpRejectReason.BareCarriageReturn, 400);

    [Fact]
    public void BareCrInsideAHeaderName() =>
        Rejects("GET / HTTP/1.1\r\n" + H + "X\rY: b\r\n\r\n", HttpRejectReason.InvalidHeaderName, 400);

    [Theory]
    [InlineData(" folded")]
    [InlineData("\tfolded")]
    public void ObsFoldIsRejected(string continuation) =>
        Rejects("GET / HTTP/1.1\r\n" + H + "X: a\r\n" + continuation + "\r\n\r\n", HttpRejectReason.HeaderFolding, 400);

    [Fact]
    public void ObsFoldOnTheFirstHeaderLine() =>
        Rejects("GET / HTTP/1.1\r\n Host: a\r\n\r\n", HttpRejectReason.HeaderFolding, 400);

    [Theory]
    [InlineData("Content-Length : 5")]
    [InlineData("Host\t: b")]
    [InlineData("Transfer-Encoding :chunked")]
    public void WhitespaceBetweenNameAndColon(string line) =>
        Rejects("GET / HTTP/1.1\r\n" + H + line + "\r\n\r\n", HttpRejectReason.InvalidHeaderName, 400);

    [Theory]
    [InlineData("X(Y: b")]
    [InlineData("X/Y: b")]
    [InlineData("X\u00e9: b")]
    public void InvalidHeaderNameChars(string line) =>
        Rejects("GET / HTTP/1.1\r\n" + H + line + "\r\n\r\n", HttpRejectReason.InvalidHeaderName, 400);

    [Fact]
    public void EmptyHeaderName() =>
        Rejects("GET / HTTP/1.1\r\n" + H + ": value\r\n\r\n", HttpRejectReason.InvalidHeaderLine, 400);

    [Fact]
    public void HeaderLineWithoutColon() =>
        Rejects("GET / HTTP/1.1\r\n" + H + "NoColonHere\r\n\r\n", HttpRejectReason.InvalidHeaderLine, 400);

    [Theory]
    [InlineData("a\u0000b")]
    [InlineData("a\u0001b")]
    [InlineData("a\u001fb")]
    [InlineData("a\u007fb")]
    [InlineData("a\u000bb")]
    public void CtlInHeaderValue(string value) =>
        Rejects("GET / HTTP/1.1\r\n" + H + "X: " + value + "\r\n\r\n", HttpRejectReason.InvalidHeaderValue, 400);

    [Fact]
    public void HtabAndObsTextInValueAreAccepted() =>
        Assert.Equal(HttpRejectReason.None, Parse("GET / HTTP/1.1\r\n" + H + "X: a\tb\u00e9\u00ff\r\n\r\n"));

    [Fact]
    public void TooManyHeadersIs431()
    {
        var limits = new HttpLimits { MaxHeaderCount = 4 };
        string three = "X-1: a\r\nX-2: b\r\nX-3: c\r\n";
        Assert.Equal(HttpRejectReason.None, Parse("GET / HTTP/1.1\r\n" + H + three + "\r\n", limits));
        Rejects("GET / HTTP/1.1\r\n" + H + three + "X-4: d\r\n\r\n", HttpRejectReason.TooManyHeaders, 431, limits);
    }

    [Fact]
    public void HeadBiggerThanMaxHeadBytesIs431()
    {
        var limits = new HttpLimits { MaxHeadBytes = 64 };
        string head = "GET / HTTP/1.1\r\n" + H + "X: " + new string('v', 64) + "\r\n\r\n";
        Rejects(head, HttpRejectReason.HeadersTooLarge, 431, limits);
        var parsed = new HttpRequestHead(limits);
        Assert.Equal(HttpRejectReason.HeadersTooLarge, parsed.Parse(Segments.OneBytePerSegment(Segments.Ascii(head))));
    }

    [Fact]
    public void MissingHostOnHttp11() =>
        Rejects("GET / HTTP/1.1\r\nX: a\r\n\r\n", HttpRejectReason.MissingHost, 400);

    [Fact]
    public void MissingHostOnHttp10IsAccepted() =>
        Assert.Equal(HttpRejectReason.None, Parse("GET / HTTP/1.0\r\n\r\n"));

    [Theory]
    [InlineData("Host: a\r\nHost: a\r\n")]
    [InlineData("Host: a\r\nhost: b\r\n")]
    [InlineData("HOST: a\r\nX: y\r\nHost: a\r\n")]
    public void DuplicateHost(string hosts) =>
        Rejects("GET / HTTP/1.1\r\n" + hosts + "\r\n", HttpRejectReason.DuplicateHost, 400);

    // The gateway checks one copy of an MCP header against the body and forwards every copy: peers differ on which they read.
    [Theory]
    [InlineData("Mcp-Name: read_file\r\nMcp-Name: delete_all\r\n")]
    [InlineData("Mcp-Method: tools/call\r\nmcp-method: tools/list\r\n")]
    [InlineData("MCP-Protocol-Version: 2025-06-18\r\nMCP-Protocol-Version: 2025-03-26\r\n")]
    [InlineData("Mcp-Session-Id: a\r\nX: y\r\nMcp-Session-Id: b\r\n")]
    [InlineData("Mcp-Param-Path: /tmp\r\nmcp-param-path: /etc\r\n")]
    [InlineData("Last-Event-ID: 1\r\nlast-event-id: 9\r\n")]
    public void DuplicateMcpHeader(string headers) =>
        Rejects("POST /mcp HTTP/1.1\r\nHost: a\r\n" + headers + "\r\n", HttpRejectReason.DuplicateMcpHeader, 400);

    [Fact]
    public void Distinct_mcp_param_headers_are_accepted()
    {
        Assert.Equal(HttpRejectReason.None, Parse("POST /mcp HTTP/1.1\r\nHost: a\r\nMcp-Param-Path: /tmp\r\nMcp-Param-Mode: r\r\nMcp-Name: read_file\r\n\r\n"));
    }

    [Theory]
    [InlineData("a b")]
    [InlineData("a/b")]
    [InlineData("a,b")]
    [InlineData("a\"b")]
    [InlineData("user@a")]
    public void HostWithAnInvalidValue(string host)
    {
        // RFC 9112 3.2: a Host field with an invalid value MUST get 400 (it is echoed upstream as X-Forwarded-Host).
        HttpRejectReason r = Parse("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
        Assert.NotEqual(HttpRejectReason.None, r);
        Assert.Equal(400, r.StatusCode());
    }

    [Theory]
    [InlineData("")]
    [InlineData("example.com")]
    [InlineData("example.com:8443")]
    [InlineData("127.0.0.1:80")]
    [InlineData("[::1]:8080")]
    [InlineData("xn--bcher-kva.example")]
    public void HostWithAValidValue(string host) =>
        Assert.Equal(HttpRejectReason.None, Parse("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n"));

    [Theory]
    [InlineData("abc")]
    [InlineData("-5")]
    [InlineData("+5")]
    [InlineData("5a")]
    [InlineData("0x10")]
    [InlineData("1 2")]
    [InlineData("5.0")]
    [InlineData("")]
    [InlineData("5,")]
    [InlineData(",5")]
    [InlineData("9223372036854775808")]
    [InlineData("99999999999999999999999")]
    public void InvalidContentLength(string value) =>
        Rejects("POST / HTTP/1.1\r\n" + H + "Content-Length: " + value + "\r\n\r\n", HttpRejectReason.InvalidContentLength, 400);

    [Theory]
    [InlineData("Content-Length: 5\r\nContent-Length: 6\r\n")]
    [InlineData("Content-Length: 5, 6\r\n")]
    [InlineData("Content-Length: 5,5,6\r\n")]
    [InlineData("Content-Length: 5\r\nContent-Length: 5, 6\r\n")]
    public void ConflictingContentLength(string fields) =>
        Rejects("POST / HTTP/1.1\r\n" + H + fields + "\r\n", HttpRejectReason.ConflictingContentLength, 400);

    [Theory]
    [InlineData("Content-Length: 5\r\nContent-Length: 5\r\n")]
    [InlineData("Content-Length: 5, 5\r\n")]
    [InlineData("Content-Length: 5 ,\t5\r\ncontent-length: 5\r\n")]
    public void IdenticalContentLengthsAreAccepted(string fields)
    {
        var head = new HttpRequestHead(new HttpLimits());
        Assert.Equal(HttpRejectReason.None, head.Parse(Segments.Ascii("POST / HTTP/1.1\r\n" + H + fields + "\r\n")));
        Assert.Equal(BodyFraming.ContentLength, head.Framing);
        Assert.Equal(5, head.ContentLength);
    }

    [Theory]
    [InlineData("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")]
    [InlineData("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")]
    [InlineData("Transfer-Encoding: chunked\r\nContent-Length: 0\r\n")]
    public void ContentLengthWithTransferEncoding(string fields) =>
        Rejects("POST / HTTP/1.1\r\n" + H + fields + "\r\n", HttpRejectReason.ContentLengthWithTransferEncoding, 400);

    [Theory]
    [InlineData("Transfer-Encoding: gzip, chunked\r\n")]
    [InlineData("Transfer-Encoding: chunked, chunked\r\n")]
    [InlineData("Transfer-Encoding: xchunked\r\n")]
    [InlineData("Transfer-Encoding: chunked-x\r\n")]
    [InlineData("Transfer-Encoding: gzip\r\n")]
    [InlineData("Transfer-Encoding: identity\r\n")]
    [InlineData("Transfer-Encoding: \r\n")]
    [InlineData("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")]
    [InlineData("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")]
    public void TransferEncodingOtherThanALoneChunkedIs501(string fields) =>
        Rejects("POST / HTTP/1.1\r\n" + H + fields + "\r\n", HttpRejectReason.UnsupportedTransferEncoding, 501);

    [Fact]
    public void TransferEncodingOnHttp10() =>
        Rejects("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", HttpRejectReason.UnsupportedTransferEncoding, 501);

    [Fact]
    public void BodyLargerThanLimitIs413()
    {
        var limits = new HttpLimits { MaxRequestBodyBytes = 1000 };
        Assert.Equal(HttpRejectReason.None, Parse("POST / HTTP/1.1\r\n" + H + "Content-Length: 1000\r\n\r\n", limits));
        Rejects("POST / HTTP/1.1\r\n" + H + "Content-Length: 1001\r\n\r\n", HttpRejectReason.BodyTooLarge, 413, limits);
        Rejects("POST / HTTP/1.1\r\n" + H + "Content-Length: 999999999999999999\r\n\r\n", HttpRejectReason.BodyTooLarge, 413, limits);
    }

    [Fact]
    public void BytesAfterTheEmptyLineAreNotAHead() =>
        Rejects("GET / HTTP/1.1\r\n" + H + "\r\nX", HttpRejectReason.InvalidHeaderLine, 400);

    [Fact]
    public void HeadWithoutTheEmptyLine() =>
        Rejects("GET / HTTP/1.1\r\n" + H, HttpRejectReason.InvalidHeaderLine, 400);

    [Fact]
    public void EveryReasonHasExactlyOneStatusAndAFixedDescription()
    {
        foreach (HttpRejectReason reason in Enum.GetValues<HttpRejectReason>())
        {
            int expected = reason switch
            {
                HttpRejectReason.HeadersTooLarge or HttpRejectReason.TooManyHeaders => 431,
                HttpRejectReason.TargetTooLong => 414,
                HttpRejectReason.BodyTooLarge => 413,
                HttpRejectReason.UnsupportedVersion => 505,
                HttpRejectReason.UnsupportedTransferEncoding => 501,
                HttpRejectReason.HeadTimeout or HttpRejectReason.BodyTimeout => 408,
                _ => 400,
            };
            Assert.Equal(expected, reason.StatusCode());
            Assert.False(string.IsNullOrEmpty(reason.Describe()));
            Assert.NotEqual("Status", HttpRejectReasonExtensions.ReasonPhrase(reason.StatusCode()));
        }
        Assert.Equal("Bad Request", HttpRejectReasonExtensions.ReasonPhrase(400));
        Assert.Equal("HTTP Version Not Supported", HttpRejectReasonExtensions.ReasonPhrase(505));
        Assert.Equal("Status", HttpRejectReasonExtensions.ReasonPhrase(299));
    }

    [Fact]
    public void DescriptionsDifferForEveryRejection()
    {
        var seen = new HashSet<string>();
        foreach (HttpRejectReason reason in Enum.GetValues<HttpRejectReason>())
        {
            if (reason == HttpRejectReason.None) continue;
            Assert.True(seen.Add(reason.Describe()), reason.ToString());
        }
    }
}
