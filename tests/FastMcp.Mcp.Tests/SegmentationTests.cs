using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

/// <summary>A segment boundary can fall anywhere (inside a string, an escape, a number): the view must not change.</summary>
public class SegmentationTests
{
    public static TheoryData<string> Bodies() => new()
    {
        """{"jsonrpc":"2.0","id":"req-\u00e9\"1","method":"tools/call","params":{"name":"sql\u002Fexec","arguments":{"q":"select 1","n":-1.5e-3,"ok":true,"z":null},"_meta":{"progressToken":42,"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"cli","version":"2"}}}}""",
        """{"jsonrpc":"2.0","id":123456789,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"roots":{}},"clientInfo":{"name":"ide","version":"1.0"}}}""",
        """{"jsonrpc":"2.0","id":"r","method":"resources\/read","params":{"uri":"file:\/\/\/tmp\/\u00fcber.txt"}}""",
        """{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}""",
        """[{"jsonrpc":"2.0","id":1,"method":"ping"}]""",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"name\":\"x\\uZZZZ\"}}", // broken escape
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\",\"name\":\"b\"}}",
        " \r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[]}} \n",
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public void Every_two_segment_split_gives_the_same_view(string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        McpInspectError expectedError = McpInspector.Inspect(bytes, out McpCall expected);
        for (int cut = 0; cut <= bytes.Length; cut++)
        {
            ReadOnlySequence<byte> body = Segments.Split(bytes, cut);
            McpInspectError error = McpInspector.Inspect(body, out McpCall call);
            Assert.True(expectedError == error, $"cut at {cut}: {error} instead of {expectedError}");
            Assert.True(expected.Equals(call), $"cut at {cut}: view differs");
            AssertSameNameText(bytes, body, call);
        }
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public void One_byte_segments_give_the_same_view(string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        McpInspectError expectedError = McpInspector.Inspect(bytes, out McpCall expected);
        ReadOnlySequence<byte> body = Segments.OneByteEach(bytes);
        Assert.Equal(expectedError, McpInspector.Inspect(body, out McpCall call));
        Assert.Equal(expected, call);
        AssertSameNameText(bytes, body, call);
    }

    [Fact]
    public void Three_way_splits_inside_escapes_give_the_same_view()
    {
        byte[] bytes = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"tools\u002fcall","params":{"name":"\ud83d\ude00x"}}""");
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(bytes, out McpCall expected));
        for (int a = 1; a < bytes.Length; a++)
        {
            for (int b = a + 1; b < bytes.Length; b += 3)
            {
                ReadOnlySequence<byte> body = Segments.Split(bytes, a, b);
                Assert.Equal(McpInspectError.None, McpInspector.Inspect(body, out McpCall call));
                Assert.True(expected.Equals(call), $"cuts {a},{b}");
            }
        }
        Assert.Equal(McpMethod.ToolsCall, expected.Method);
    }

    private static void AssertSameNameText(byte[] bytes, ReadOnlySequence<byte> body, McpCall call)
    {
        if (!call.HasName) return;
        Span<byte> fromSpan = stackalloc byte[256];
        Span<byte> fromSequence = stackalloc byte[256];
        int a = McpInspector.CopyUnescaped(bytes, call.NameRange, fromSpan);
        int b = McpInspector.CopyUnescaped(body, call.NameRange, fromSequence);
        Assert.True(a > 0);
        Assert.Equal(fromSpan[..a].ToArray(), fromSequence[..b].ToArray());
    }
}

public class Utf8SplitTests
{
    [Fact]
    public void Multibyte_characters_split_across_segments_are_valid_and_broken_ones_are_not()
    {
        byte[] good = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":"é€😀","method":"ping"}""");
        byte[] bad = (byte[])good.Clone();
        int euro = Array.IndexOf(bad, (byte)0xE2);
        bad[euro + 1] = (byte)'A'; // lead byte of € followed by ASCII
        byte[] truncated = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":"x","method":"ping"}""").Concat(new byte[] { 0xF0, 0x9F }).ToArray();
        for (int cut = 0; cut <= good.Length; cut++)
        {
            Assert.Equal(McpInspectError.None, McpInspector.Inspect(Segments.Split(good, cut), out _));
            Assert.Equal(McpInspectError.InvalidJson, McpInspector.Inspect(Segments.Split(bad, cut), out _));
        }
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(Segments.OneByteEach(good), out _));
        Assert.Equal(McpInspectError.InvalidJson, McpInspector.Inspect(Segments.OneByteEach(bad), out _));
        Assert.Equal(McpInspectError.InvalidJson, McpInspector.Inspect(Segments.OneByteEach(truncated), out _));
    }
}
