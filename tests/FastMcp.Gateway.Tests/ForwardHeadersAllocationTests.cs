using System.Buffers;
using System.Text;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Forwarding;
using FastMcp.Http;

namespace FastMcp.Gateway.Tests;

/// <summary>Checking each client field against forwardHeaders is part of writing every request head: it allocates nothing.</summary>
public sealed class ForwardHeadersAllocationTests
{
    private static readonly byte[] ClientHead = Encoding.ASCII.GetBytes(
        "POST /mcp HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n" +
        "Content-Length: 2\r\nMcp-Session-Id: s-1\r\nUser-Agent: agent/1\r\nX-MCP-Toolsets: repos\r\nX-Api-Key: k\r\nPrivate-Token: t\r\n\r\n");

    [Fact]
    public void Writing_a_head_through_an_allowlist_allocates_nothing()
    {
        var head = new HttpRequestHead(new HttpLimits());
        Assert.Equal(HttpRejectReason.None, head.Parse(ClientHead.AsSpan()));
        UpstreamUrl url = UpstreamUrl.Parse("http://127.0.0.1:1/mcp", "upstream.url");
        ForwardedHeaderAllowlist allowlist = ForwardedHeaderAllowlist.Compile(["X-MCP-*", "X-Other", "Y-*"]);
        var output = new ArrayBufferWriter<byte>(4096);
        byte[] address = "127.0.0.1"u8.ToArray(), scheme = "http"u8.ToArray();
        int dropped = 0;
        for (int i = 0; i < 1000; i++) dropped += Once(head, url, allowlist, output, address, scheme);
        long allocated = ThreadAllocations.Measure(() => { for (int i = 0; i < 10_000; i++) dropped += Once(head, url, allowlist, output, address, scheme); });

        Assert.Equal(0, allocated);
        string written = Encoding.ASCII.GetString(output.WrittenSpan);
        Assert.Contains("X-MCP-Toolsets: repos\r\n", written, StringComparison.Ordinal);
        Assert.DoesNotContain("X-Api-Key", written, StringComparison.Ordinal);
        Assert.True(dropped > 0);
    }

    private static int Once(HttpRequestHead head, UpstreamUrl url, ForwardedHeaderAllowlist allowlist, ArrayBufferWriter<byte> output, byte[] address, byte[] scheme)
    {
        output.ResetWrittenCount();
        return UpstreamRequestWriter.WriteHead(output, head, url, address, scheme, 2, default, default, null, default, false, allowlist);
    }
}
