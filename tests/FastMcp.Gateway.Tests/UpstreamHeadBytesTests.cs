using System.Buffers;
using System.Text;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Tracing;
using FastMcp.Http;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// The upstream request head written into one span (<see cref="UpstreamRequestWriter.WriteHead"/>) against the head written
/// piece by piece as before, kept here as the oracle: the same bytes and the same first dropped field for every mix of
/// query, absolute-form target, client fields, cookies, allowlist, sealed and member session lines, injected and upstream
/// lines, trace and body length, through a writer that hands out spans no larger than asked.
/// </summary>
public sealed class UpstreamHeadBytesTests
{
    private static readonly string[] Targets = ["/mcp", "/mcp?x=1&card=4111", "http://client.example:8080/mcp?q", "/"];
    private static readonly string[] Fields =
    [
        "Content-Type: application/json", "Accept: application/json, text/event-stream", "Mcp-Session-Id: s-1",
        "MCP-Protocol-Version: 2025-11-25", "User-Agent: agent/1", "X-MCP-Toolsets: repos", "X-Api-Key: k", "Cookie: a=b",
        "Authorization: Bearer t", "X-Forwarded-For: 10.0.0.1", "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "Mcp-Name: echo", "X-Long: " + new string('v', 3000), "Accept-Encoding: gzip",
    ];

    [Fact]
    public void Every_mix_writes_the_bytes_the_piece_by_piece_writer_wrote()
    {
        UpstreamUrl[] urls = [UpstreamUrl.Parse("http://127.0.0.1:1/mcp", "u"), UpstreamUrl.Parse("https://upstream.example/deep/path", "u")];
        ForwardedHeaderAllowlist?[] allowlists = [null, ForwardedHeaderAllowlist.Compile(["X-MCP-*", "X-Long"])];
        for (int seed = 0; seed < 3000; seed++)
        {
            var random = new Random(seed);
            var text = new StringBuilder("POST ").Append(Targets[random.Next(Targets.Length)]).Append(" HTTP/1.1\r\nHost: gw\r\n");
            foreach (string field in Fields)
            {
                if (random.Next(2) == 0) text.Append(field).Append("\r\n");
            }
            text.Append("\r\n");
            var head = new HttpRequestHead(new HttpLimits());
            Assert.Equal(HttpRejectReason.None, head.Parse(Encoding.ASCII.GetBytes(text.ToString()).AsSpan()));
            UpstreamUrl url = urls[random.Next(urls.Length)];
            byte[] address = random.Next(2) == 0 ? "127.0.0.1"u8.ToArray() : "2001:db8::1"u8.ToArray();
            byte[] scheme = random.Next(2) == 0 ? "http"u8.ToArray() : "https"u8.ToArray();
            long length = random.Next(4) switch { 0 => -1, 1 => 0, 2 => random.Next(), _ => long.MaxValue };
            byte[] injected = random.Next(2) == 0 ? [] : "Authorization: Bearer upstream\r\n"u8.ToArray();
            TraceContext trace = random.Next(2) == 0 ? default : TraceContext.Begin(head.Headers, sampleNewTraces: random.Next(2) == 0);
            byte[]? member = random.Next(3) == 0 ? "Mcp-Session-Id: member-7\r\n"u8.ToArray() : null;
            byte[] upstreamLines = random.Next(2) == 0 ? [] : "X-Api-Key: gateway\r\nX-Extra: 1\r\n"u8.ToArray();
            bool cookies = random.Next(2) == 0;
            ForwardedHeaderAllowlist? allowlist = allowlists[random.Next(allowlists.Length)];
            byte[] sessionLine = random.Next(3) == 0 ? "Mcp-Session-Id: sealed-9\r\n"u8.ToArray() : [];

            var expected = new ArrayBufferWriter<byte>();
            int expectedDropped = OldWriteHead(expected, head, url, address, scheme, length, injected, trace, member, upstreamLines, cookies, allowlist, sessionLine);
            var actual = new ExactSpanWriter();
            int dropped = UpstreamRequestWriter.WriteHead(actual, head, url, address, scheme, length, injected, trace, member, upstreamLines, cookies, allowlist, sessionLine);
            Assert.Equal(expectedDropped, dropped);
            Assert.True(expected.WrittenSpan.SequenceEqual(actual.Written.WrittenSpan),
                $"seed {seed}:\n{Encoding.ASCII.GetString(expected.WrittenSpan)}\n---\n{Encoding.ASCII.GetString(actual.Written.WrittenSpan)}");
        }
    }

    /// <summary>Hands out exactly the size asked (as a pipe near its segment's end may), so a head longer than its bound fails.</summary>
    private sealed class ExactSpanWriter : IBufferWriter<byte>
    {
        private byte[] _span = [];
        public ArrayBufferWriter<byte> Written { get; } = new();

        public void Advance(int count)
        {
            Assert.InRange(count, 0, _span.Length);
            Written.Write(_span.AsSpan(0, count));
            _span = [];
        }

        public Memory<byte> GetMemory(int sizeHint = 0) => _span = new byte[Math.Max(sizeHint, 1)];

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }

    /// <summary>WriteHead as it was: a write per piece.</summary>
    private static int OldWriteHead(IBufferWriter<byte> output, HttpRequestHead request, UpstreamUrl upstream, ReadOnlySpan<byte> clientAddress,
        ReadOnlySpan<byte> publicScheme, long contentLength, ReadOnlySpan<byte> injectedHeaderLines, in TraceContext trace, byte[]? memberSessionLine,
        ReadOnlySpan<byte> upstreamHeaderLines, bool forwardCookies, ForwardedHeaderAllowlist? allowlist, ReadOnlySpan<byte> sessionLine)
    {
        output.Write(request.MethodToken);
        output.Write(" "u8);
        output.Write(upstream.PathBytes);
        output.Write(request.Query);
        output.Write(" HTTP/1.1\r\nHost: "u8);
        output.Write(upstream.HostHeaderValue);
        output.Write("\r\n"u8);
        HttpHeaderTable headers = request.Headers;
        ForwardedHeaderAllowlist allowed = memberSessionLine is null ? allowlist ?? ForwardedHeaderAllowlist.None : ForwardedHeaderAllowlist.None;
        int firstNotAllowed = -1;
        for (int i = 0; i < headers.Count; i++)
        {
            UpstreamRequestWriter.FieldFate fate = UpstreamRequestWriter.Fate(headers, i, injectedHeaderLines, upstreamHeaderLines, memberSessionLine is not null, forwardCookies, allowed);
            if (fate == UpstreamRequestWriter.FieldFate.NotAllowed && firstNotAllowed < 0) firstNotAllowed = i;
            if (fate is not (UpstreamRequestWriter.FieldFate.Passed or UpstreamRequestWriter.FieldFate.Allowed)) continue;
            if (!sessionLine.IsEmpty && headers.KindAt(i) == KnownHeader.McpSessionId) continue;
            output.Write(headers.LineAt(i));
            output.Write("\r\n"u8);
        }
        output.Write(sessionLine);
        output.Write("X-Forwarded-For: "u8);
        output.Write(clientAddress);
        output.Write("\r\nX-Forwarded-Proto: "u8);
        output.Write(publicScheme);
        ReadOnlySpan<byte> host = request.Host;
        if (!host.IsEmpty)
        {
            output.Write("\r\nX-Forwarded-Host: "u8);
            output.Write(host);
        }
        output.Write("\r\nAccept-Encoding: identity\r\n"u8);
        if (contentLength >= 0)
        {
            output.Write("Content-Length: "u8);
            Proxy.GatewayResponses.WriteNumber(output, contentLength);
            output.Write("\r\n"u8);
        }
        if (trace.IsValid) trace.WriteHeaderLine(output);
        output.Write(injectedHeaderLines);
        if (memberSessionLine is not null) output.Write(memberSessionLine);
        output.Write(upstreamHeaderLines);
        output.Write("\r\n"u8);
        return firstNotAllowed;
    }
}
