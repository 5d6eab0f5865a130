using System.Text;
using FastMcp.Http;

namespace FastMcp.Http.Tests;

/// <summary>Head buffers start small and grow for a large head, up to the limit and no further.</summary>
public class HeadBufferGrowthTests
{
    private static byte[] RequestWithHeaders(int extraBytes)
    {
        var sb = new StringBuilder("POST /mcp HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n");
        int i = 0;
        while (sb.Length < extraBytes) sb.Append("X-Pad-").Append(i++).Append(": ").Append('v', 200).Append("\r\n");
        sb.Append("Authorization: Bearer last-header\r\n\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    [Fact]
    public void A_head_larger_than_the_initial_buffer_parses_whole_and_a_small_one_after_it_too()
    {
        var head = new HttpRequestHead(new HttpLimits());
        byte[] large = RequestWithHeaders(10_000);
        Assert.True(large.Length > HeadBuffer.InitialSize);
        Assert.Equal(HttpRejectReason.None, head.Parse(large));
        Assert.Equal("Bearer last-header", Encoding.ASCII.GetString(head.Headers.Get(KnownHeader.Authorization)));
        Assert.Equal(large.Length, head.RawHead.Length);

        byte[] small = Encoding.ASCII.GetBytes("GET /small HTTP/1.1\r\nHost: b\r\n\r\n");
        Assert.Equal(HttpRejectReason.None, head.Parse(small));
        Assert.Equal("/small", Encoding.ASCII.GetString(head.Path));
        Assert.True(head.Headers.Get(KnownHeader.Authorization).IsEmpty);
    }

    [Fact]
    public void A_head_over_the_limit_is_refused_and_does_not_grow_the_buffer_past_it()
    {
        var head = new HttpRequestHead(new HttpLimits { MaxHeadBytes = 8 * 1024 });
        Assert.Equal(HttpRejectReason.HeadersTooLarge, head.Parse(RequestWithHeaders(9_000)));
        Assert.Equal(HttpRejectReason.None, head.Parse(RequestWithHeaders(7_000)));
    }

    [Fact]
    public void Response_heads_grow_the_same_way()
    {
        var head = new HttpResponseHead(new HttpLimits());
        var sb = new StringBuilder("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
        for (int i = 0; sb.Length < 9_000; i++) sb.Append("X-Pad-").Append(i).Append(": ").Append('v', 100).Append("\r\n");
        sb.Append("Mcp-Session-Id: abc\r\n\r\n");
        byte[] bytes = Encoding.ASCII.GetBytes(sb.ToString());
        Assert.Equal(HttpRejectReason.None, head.Parse(new System.Buffers.ReadOnlySequence<byte>(bytes), requestWasHead: false));
        Assert.Equal("abc", Encoding.ASCII.GetString(head.Headers.Get(KnownHeader.McpSessionId)));
    }
}
