using System.Text;

namespace FastMcp.Http.Tests;

public class HeaderClassificationTests
{
    // The wire name of every KnownHeader; a new enum member without a row here fails EveryKnownHeaderHasAName.
    private static readonly Dictionary<KnownHeader, string> Names = new()
    {
        [KnownHeader.Host] = "Host",
        [KnownHeader.ContentLength] = "Content-Length",
        [KnownHeader.TransferEncoding] = "Transfer-Encoding",
        [KnownHeader.Connection] = "Connection",
        [KnownHeader.KeepAlive] = "Keep-Alive",
        [KnownHeader.ProxyConnection] = "Proxy-Connection",
        [KnownHeader.Te] = "TE",
        [KnownHeader.Trailer] = "Trailer",
        [KnownHeader.Upgrade] = "Upgrade",
        [KnownHeader.ProxyAuthorization] = "Proxy-Authorization",
        [KnownHeader.ProxyAuthenticate] = "Proxy-Authenticate",
        [KnownHeader.Expect] = "Expect",
        [KnownHeader.Origin] = "Origin",
        [KnownHeader.Authorization] = "Authorization",
        [KnownHeader.Accept] = "Accept",
        [KnownHeader.ContentType] = "Content-Type",
        [KnownHeader.McpSessionId] = "Mcp-Session-Id",
        [KnownHeader.McpProtocolVersion] = "MCP-Protocol-Version",
        [KnownHeader.LastEventId] = "Last-Event-ID",
        [KnownHeader.McpMethod] = "Mcp-Method",
        [KnownHeader.McpName] = "Mcp-Name",
        [KnownHeader.XForwardedFor] = "X-Forwarded-For",
        [KnownHeader.XForwardedProto] = "X-Forwarded-Proto",
        [KnownHeader.XForwardedHost] = "X-Forwarded-Host",
        [KnownHeader.Forwarded] = "Forwarded",
        [KnownHeader.Date] = "Date",
        [KnownHeader.Server] = "Server",
        [KnownHeader.Dpop] = "DPoP",
    };

    [Fact]
    public void EveryKnownHeaderHasAName()
    {
        foreach (KnownHeader k in Enum.GetValues<KnownHeader>())
            if (k != KnownHeader.Other) Assert.True(Names.ContainsKey(k), k.ToString());
        Assert.Equal(KnownHeaders.Count, Enum.GetValues<KnownHeader>().Length);
    }

    [Fact]
    public void ClassifyIsCaseInsensitiveForEveryKnownHeader()
    {
        foreach ((KnownHeader kind, string name) in Names)
        {
            Assert.Equal(kind, KnownHeaders.Classify(Encoding.ASCII.GetBytes(name)));
            Assert.Equal(kind, KnownHeaders.Classify(Encoding.ASCII.GetBytes(name.ToLowerInvariant())));
            Assert.Equal(kind, KnownHeaders.Classify(Encoding.ASCII.GetBytes(name.ToUpperInvariant())));
            Assert.Equal(kind, KnownHeaders.Classify(Encoding.ASCII.GetBytes(Alternate(name))));
        }
    }

    [Fact]
    public void NearMissesAreOther()
    {
        foreach (string name in Names.Values)
        {
            Assert.Equal(KnownHeader.Other, KnownHeaders.Classify(Encoding.ASCII.GetBytes(name + "x")));
            Assert.Equal(KnownHeader.Other, KnownHeaders.Classify(Encoding.ASCII.GetBytes(name[..^1])));
            // Same length, last character changed.
            Assert.Equal(KnownHeader.Other, KnownHeaders.Classify(Encoding.ASCII.GetBytes(name[..^1] + "_")));
        }
        Assert.Equal(KnownHeader.Other, KnownHeaders.Classify(""u8));
        Assert.Equal(KnownHeader.Other, KnownHeaders.Classify("X-Custom"u8));
        // Non-ASCII must not fold onto ASCII (no Unicode case mapping).
        Assert.Equal(KnownHeader.Other, KnownHeaders.Classify("Ho\u017Ft"u8));
    }

    [Fact]
    public void HopByHopSet()
    {
        var hop = new HashSet<KnownHeader>
        {
            KnownHeader.Connection, KnownHeader.KeepAlive, KnownHeader.ProxyConnection, KnownHeader.Te,
            KnownHeader.Trailer, KnownHeader.Upgrade, KnownHeader.TransferEncoding,
            KnownHeader.ProxyAuthorization, KnownHeader.ProxyAuthenticate,
        };
        foreach (KnownHeader k in Enum.GetValues<KnownHeader>())
            Assert.Equal(hop.Contains(k), KnownHeaders.IsHopByHop(k));
    }

    [Fact]
    public void ConnectionListsToken()
    {
        var head = new HttpRequestHead(new HttpLimits());
        Assert.Equal(HttpRejectReason.None, head.Parse(Segments.Ascii(
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nX-Trace: 1\r\nconnection:\tx-foo ,Upgrade\r\nX-Not: Connection-ish\r\n\r\n")));
        HttpHeaderTable h = head.Headers;
        Assert.True(h.ConnectionListsToken("x-secret"u8));
        Assert.True(h.ConnectionListsToken("X-SECRET"u8));
        Assert.True(h.ConnectionListsToken("keep-alive"u8));
        Assert.True(h.ConnectionListsToken("X-Foo"u8));
        Assert.True(h.ConnectionListsToken("upgrade"u8));
        Assert.False(h.ConnectionListsToken("X-Trace"u8));
        Assert.False(h.ConnectionListsToken("X-Sec"u8));
        Assert.False(h.ConnectionListsToken("X-Not"u8));
    }

    [Fact]
    public void ConnectionListsTokenWithoutConnectionHeader()
    {
        var head = new HttpRequestHead(new HttpLimits());
        Assert.Equal(HttpRejectReason.None, head.Parse(Segments.Ascii("GET / HTTP/1.1\r\nHost: a\r\nX-Trace: close\r\n\r\n")));
        Assert.False(head.Headers.ConnectionListsToken("close"u8));
    }

    [Theory]
    [InlineData("close", "close", true)]
    [InlineData("Close", "close", true)]
    [InlineData("keep-alive, close", "close", true)]
    [InlineData("keep-alive,close", "close", true)]
    [InlineData(" \tclose\t ", "close", true)]
    [InlineData("a, b ,c", "b", true)]
    [InlineData("a,,c", "c", true)]
    [InlineData("closed", "close", false)]
    [InlineData("enclose", "close", false)]
    [InlineData("clo se", "close", false)]
    [InlineData("", "close", false)]
    [InlineData(",,,", "close", false)]
    [InlineData("\"close\"", "close", false)]
    public void ListContains(string list, string token, bool expected) =>
        Assert.Equal(expected, HttpTokens.ListContains(Segments.Ascii(list), Segments.Ascii(token)));

    [Theory]
    [InlineData("", "")]
    [InlineData("   ", "")]
    [InlineData("\t \t", "")]
    [InlineData("a", "a")]
    [InlineData(" a", "a")]
    [InlineData("a\t", "a")]
    [InlineData(" \ta b\t ", "a b")]
    [InlineData("\r a \n", "\r a \n")]
    public void TrimOws(string value, string expected) =>
        Assert.Equal(expected, Encoding.Latin1.GetString(HttpTokens.TrimOws(Segments.Ascii(value))));

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("7", 7L)]
    [InlineData("0042", 42L)]
    [InlineData("999999999999999999", 999999999999999999L)]
    [InlineData("4194304", 4194304L)]
    public void TryParseDecimalAccepts(string digits, long expected)
    {
        Assert.True(HttpTokens.TryParseDecimal(Segments.Ascii(digits), out long value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1a")]
    [InlineData("a")]
    [InlineData("1.5")]
    [InlineData("1e3")]
    [InlineData("/")]
    [InlineData(":")]
    [InlineData("9223372036854775807")]
    [InlineData("9223372036854775808")]
    [InlineData("99999999999999999999")]
    public void TryParseDecimalRejects(string digits) =>
        Assert.False(HttpTokens.TryParseDecimal(Segments.Ascii(digits), out _));

    [Theory]
    [InlineData("GET", true)]
    [InlineData("X-Custom_Header.1~", true)]
    [InlineData("!#$%&'*+-.^_`|~", true)]
    [InlineData("", false)]
    [InlineData("a b", false)]
    [InlineData("a:b", false)]
    [InlineData("a/b", false)]
    [InlineData("a\u0000", false)]
    [InlineData("\u00e9", false)]
    [InlineData("(x)", false)]
    public void IsToken(string value, bool expected) =>
        Assert.Equal(expected, HttpTokens.IsToken(Segments.Ascii(value)));

    private static string Alternate(string s)
    {
        var chars = s.ToCharArray();
        for (int i = 0; i < chars.Length; i++)
            chars[i] = i % 2 == 0 ? char.ToLowerInvariant(chars[i]) : char.ToUpperInvariant(chars[i]);
        return new string(chars);
    }
}
