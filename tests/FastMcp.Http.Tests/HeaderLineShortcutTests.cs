using System.Text;

namespace FastMcp.Http.Tests;

/// <summary>
/// The header-line parser's two shortcuts (issue #14) against the code they replaced, kept here as the oracle: the
/// classifier's word compares against one <see cref="Ascii.EqualsIgnoreCase(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>
/// per candidate name, and the one search for a line's end and its forbidden bytes against the search for LF followed by
/// the value's own search. Random and hostile inputs: case mixes, every byte at every position of a known name, bare CR
/// and LF, obs-fold, NUL, DEL, non-ASCII, spaces before the colon, missing colons and lines, too many fields.
/// </summary>
public class HeaderLineShortcutTests
{
    private static readonly string[] KnownNames =
    [
        "TE", "Host", "Date", "DPoP", "Origin", "Accept", "Expect", "Server", "Trailer", "Upgrade", "Mcp-Name", "Forwarded",
        "Connection", "Keep-Alive", "Mcp-Method", "Content-Type", "Authorization", "Last-Event-ID", "Content-Length",
        "Mcp-Session-Id", "X-Forwarded-For", "Proxy-Connection", "X-Forwarded-Host", "Transfer-Encoding", "X-Forwarded-Proto",
        "Proxy-Authenticate", "Proxy-Authorization", "MCP-Protocol-Version",
    ];

    private static readonly KnownHeader[] KnownKinds =
    [
        KnownHeader.Te, KnownHeader.Host, KnownHeader.Date, KnownHeader.Dpop, KnownHeader.Origin, KnownHeader.Accept, KnownHeader.Expect,
        KnownHeader.Server, KnownHeader.Trailer, KnownHeader.Upgrade, KnownHeader.McpName, KnownHeader.Forwarded, KnownHeader.Connection,
        KnownHeader.KeepAlive, KnownHeader.McpMethod, KnownHeader.ContentType, KnownHeader.Authorization, KnownHeader.LastEventId,
        KnownHeader.ContentLength, KnownHeader.McpSessionId, KnownHeader.XForwardedFor, KnownHeader.ProxyConnection, KnownHeader.XForwardedHost,
        KnownHeader.TransferEncoding, KnownHeader.XForwardedProto, KnownHeader.ProxyAuthenticate, KnownHeader.ProxyAuthorization,
        KnownHeader.McpProtocolVersion,
    ];

    // The classifier before the shortcut: every candidate of the name's length compared case-insensitively.
    private static KnownHeader OldClassify(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < KnownNames.Length; i++)
        {
            if (Ascii.EqualsIgnoreCase(name, Encoding.ASCII.GetBytes(KnownNames[i]))) return KnownKinds[i];
        }
        return KnownHeader.Other;
    }

    [Fact]
    public void EveryByteAtEveryPositionOfAKnownNameClassifiesAsBefore()
    {
        int checkedNames = 0;
        foreach (string known in KnownNames)
        {
            byte[] name = Encoding.ASCII.GetBytes(known);
            for (int position = 0; position < name.Length; position++)
            {
                byte kept = name[position];
                for (int b = 0; b < 256; b++)
                {
                    name[position] = (byte)b;
                    Assert.Equal(OldClassify(name), KnownHeaders.Classify(name));
                    checkedNames++;
                }
                name[position] = kept;
            }
        }
        Assert.True(checkedNames > 256 * 28);
    }

    [Fact]
    public void RandomNamesAndCaseMixesClassifyAsBefore()
    {
        var random = new Random(1409);
        byte[] alphabet = Encoding.ASCII.GetBytes("aAeEtTcCnN-_^~\r\n\t :\0\x7f");
        int known = 0;
        for (int round = 0; round < 200_000; round++)
        {
            byte[] name;
            if (round % 2 == 0)
            {
                // A known name in a random case, sometimes with one byte swapped for a hostile or near one.
                name = Encoding.Latin1.GetBytes(KnownNames[random.Next(KnownNames.Length)]);
                for (int i = 0; i < name.Length; i++)
                    if (random.Next(2) == 0) name[i] = (byte)(name[i] ^ (char.IsAsciiLetter((char)name[i]) ? 0x20 : 0));
                if (random.Next(3) == 0) name[random.Next(name.Length)] = random.Next(2) == 0 ? alphabet[random.Next(alphabet.Length)] : (byte)random.Next(256);
            }
            else
            {
                name = new byte[random.Next(0, 25)];
                for (int i = 0; i < name.Length; i++) name[i] = random.Next(4) == 0 ? (byte)random.Next(256) : alphabet[random.Next(alphabet.Length)];
            }
            KnownHeader expected = OldClassify(name);
            if (expected != KnownHeader.Other) known++;
            Assert.Equal(expected, KnownHeaders.Classify(name));
        }
        Assert.True(known > 10_000, $"only {known} names were known ones");
    }

    // The header-line loop before the shortcut, with the classifier before it: the reject reason and the fields it added.
    private static (HttpRejectReason Reason, List<string> Fields) OldParseHeaderLines(byte[] buffer, int start, int end, int maxHeaders)
    {
        var fields = new List<string>();
        int pos = start;
        while (pos < end)
        {
            ReadOnlySpan<byte> rest = buffer.AsSpan(pos, end - pos);
            int lf = rest.IndexOf((byte)'\n');
            if (lf < 0) return (HttpRejectReason.InvalidHeaderLine, fields);
            if (lf == 0 || rest[lf - 1] != (byte)'\r') return (HttpRejectReason.InvalidHeaderLine, fields);
            ReadOnlySpan<byte> line = rest[..(lf - 1)];
            if (line.IsEmpty) return (pos + lf + 1 == end ? HttpRejectReason.None : HttpRejectReason.InvalidHeaderLine, fields);
            if (line[0] == (byte)' ' || line[0] == (byte)'\t') return (HttpRejectReason.HeaderFolding, fields);
            int colon = line.IndexOf((byte)':');
            if (colon <= 0) return (HttpRejectReason.InvalidHeaderLine, fields);
            ReadOnlySpan<byte> name = line[..colon];
            if (!HttpTokens.IsToken(name)) return (HttpRejectReason.InvalidHeaderName, fields);
            ReadOnlySpan<byte> rawValue = line[(colon + 1)..];
            if (rawValue.ContainsAny(HttpTokens.InvalidValueChars))
                return (rawValue.Contains((byte)'\r') ? HttpRejectReason.BareCarriageReturn : HttpRejectReason.InvalidHeaderValue, fields);
            ReadOnlySpan<byte> value = HttpTokens.TrimOws(rawValue);
            if (fields.Count >= maxHeaders) return (HttpRejectReason.TooManyHeaders, fields);
            fields.Add($"{OldClassify(name)}|{Encoding.Latin1.GetString(name)}|{Encoding.Latin1.GetString(value)}");
            pos += lf + 1;
        }
        return (HttpRejectReason.InvalidHeaderLine, fields);
    }

    private static readonly string[] Pieces =
    [
        "Host", "content-length", "Transfer-Encoding", "X-A", "MCP-Protocol-Version", "connection", ":", ": ", " :", "\t", " ", "a", "0",
        "chunked", "close", "\r\n", "\r", "\n", "\r\r\n", "\n\r", "\0", "\x7f", "\x01", "\x1f", "é", "\xff", ",", "\r\n ", "\r\n\t", "x:y\r\n",
        "Content-Length: 5\r\n", "Content-Length: 5, 6\r\n", "Host: h\r\n", "X-B:\tv \t\r\n",
    ];

    private static byte[] RandomLines(Random random)
    {
        var text = new StringBuilder();
        int lines = random.Next(0, 8);
        for (int l = 0; l < lines; l++)
        {
            if (random.Next(3) == 0)
            {
                int parts = random.Next(1, 7);
                for (int p = 0; p < parts; p++) text.Append(Pieces[random.Next(Pieces.Length)]);
            }
            else
            {
                text.Append(KnownNames[random.Next(KnownNames.Length)]).Append(random.Next(4) == 0 ? ":" : ": ");
                int valueLength = random.Next(0, 12);
                for (int i = 0; i < valueLength; i++) text.Append(random.Next(6) == 0 ? (char)random.Next(256) : (char)random.Next(0x20, 0x7f));
                text.Append(random.Next(8) == 0 ? Pieces[random.Next(Pieces.Length)] : "\r\n");
            }
        }
        if (random.Next(6) != 0) text.Append("\r\n");
        return Segments.Ascii(text.ToString());
    }

    private static List<string> Fields(HttpHeaderTable headers)
    {
        var fields = new List<string>();
        for (int i = 0; i < headers.Count; i++)
            fields.Add($"{headers.KindAt(i)}|{Encoding.Latin1.GetString(headers.NameAt(i))}|{Encoding.Latin1.GetString(headers.ValueAt(i))}");
        return fields;
    }

    [Fact]
    public void RandomAndHostileHeaderLinesParseAsBefore()
    {
        var random = new Random(14);
        var limits = new HttpLimits { MaxHeaderCount = 5 };
        var request = new HttpRequestHead(limits);
        var response = new HttpResponseHead(limits);
        byte[] requestLine = Segments.Ascii("POST /mcp HTTP/1.1\r\n"), statusLine = Segments.Ascii("HTTP/1.1 200 OK\r\n");
        int accepted = 0, rejected = 0;
        for (int round = 0; round < 60_000; round++)
        {
            byte[] lines = RandomLines(random);
            bool asRequest = round % 2 == 0;
            byte[] first = asRequest ? requestLine : statusLine;
            byte[] head = [.. first, .. lines];
            (HttpRejectReason oldReason, List<string> oldFields) = OldParseHeaderLines(head, first.Length, head.Length, limits.MaxHeaderCount);
            HttpRejectReason reason = asRequest ? request.Parse(head) : response.Parse(new System.Buffers.ReadOnlySequence<byte>(head), requestWasHead: false);
            HttpHeaderTable table = asRequest ? request.Headers : response.Headers;
            Assert.Equal(oldFields, Fields(table));
            // The header lines decide the reason when they reject; once they pass, the head's semantics may still refuse.
            if (oldReason != HttpRejectReason.None) { Assert.Equal(oldReason, reason); rejected++; }
            else accepted++;
        }
        Assert.True(accepted > 5_000 && rejected > 5_000, $"{accepted} accepted, {rejected} rejected");
    }
}
