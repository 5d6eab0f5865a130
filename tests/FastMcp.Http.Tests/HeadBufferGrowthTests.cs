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

    [Fact]
    public void The_header_table_grows_to_exactly_the_field_limit_and_refuses_one_more()
    {
        var head = new HttpRequestHead(new HttpLimits { MaxHeaderCount = 100 });
        string Fields(int count)
        {
            var sb = new StringBuilder("POST /mcp HTTP/1.1\r\nHost: a\r\n");
            for (int i = 1; i < count - 1; i++) sb.Append("X-F-").Append(i).Append(": ").Append(i).Append("\r\n");
            return sb.Append("Authorization: Bearer field-").Append(count).Append("\r\n\r\n").ToString();
        }

        Assert.Equal(HttpRejectReason.None, head.Parse(Encoding.ASCII.GetBytes(Fields(100))));
        Assert.Equal(100, head.Headers.Count);
        Assert.Equal("Bearer field-100", Encoding.ASCII.GetString(head.Headers.Get(KnownHeader.Authorization)));
        Assert.Equal("98", Encoding.ASCII.GetString(head.Headers.ValueAt(98)));
        Assert.Equal(HttpRejectReason.TooManyHeaders, head.Parse(Encoding.ASCII.GetBytes(Fields(101))));

        Assert.Equal(HttpRejectReason.None, head.Parse(Encoding.ASCII.GetBytes(Fields(3))));
        Assert.Equal(3, head.Headers.Count);
        Assert.Equal("Bearer field-3", Encoding.ASCII.GetString(head.Headers.Get(KnownHeader.Authorization)));
    }
}
