using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

public class McpHeaderCheckTests
{
    private const string ModernCall = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_weather","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}""";

    private static McpHeaderMismatch Check(string json, string? method, string? name, string? version)
    {
        ReadOnlySequence<byte> body = Segments.Of(json);
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(body, out McpCall call));
        McpHeaderMismatch result = McpHeaderCheck.Check(body, call, Bytes(method), Bytes(name), Bytes(version));
        // Same answer when the body arrives one byte per segment.
        ReadOnlySequence<byte> split = Segments.OneByteEach(Encoding.UTF8.GetBytes(json));
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(split, out McpCall splitCall));
        Assert.Equal(result, McpHeaderCheck.Check(split, splitCall, Bytes(method), Bytes(name), Bytes(version)));
        return result;
    }

    private static byte[] Bytes(string? s) => s is null ? [] : Encoding.UTF8.GetBytes(s);

    private static string B64(string s) => "=?base64?" + Convert.ToBase64String(Encoding.UTF8.GetBytes(s)) + "?=";

    [Theory]
    [InlineData("tools/call", "get_weather", "2026-07-28", McpHeaderMismatch.None)]
    [InlineData(" tools/call\t", " get_weather ", " 2026-07-28", McpHeaderMismatch.None)] // OWS around values
    [InlineData("tools/list", "get_weather", "2026-07-28", McpHeaderMismatch.MethodMismatch)]
    [InlineData("Tools/call", "get_weather", "2026-07-28", McpHeaderMismatch.MethodMismatch)]
    [InlineData("tools/call", "get_weathe", "2026-07-28", McpHeaderMismatch.NameMismatch)]
    [InlineData("tools/call", "GET_WEATHER", "2026-07-28", McpHeaderMismatch.NameMismatch)]
    [InlineData("tools/call", "get_weather", "2027-01-01", McpHeaderMismatch.ProtocolVersionMismatch)]
    [InlineData("tools/call", "get_weather", "2025-11-25", McpHeaderMismatch.ProtocolVersionMismatch)]
    [InlineData(null, "get_weather", "2026-07-28", McpHeaderMismatch.MissingMethodHeader)]
    [InlineData("tools/call", null, "2026-07-28", McpHeaderMismatch.MissingNameHeader)]
    [InlineData("tools/call", "get_weather", null, McpHeaderMismatch.MissingProtocolVersionHeader)]
    [InlineData("tools/call", "=?base64?Z2V0X3dlYXRoZXI=?=", "2026-07-28", McpHeaderMismatch.None)]
    [InlineData("tools/call", "=?base64?Z2V0X3dlYXRoZXIx?=", "2026-07-28", McpHeaderMismatch.NameMismatch)]
    [InlineData("tools/call", "=?base64?not*base64?=", "2026-07-28", McpHeaderMismatch.MalformedEncodedValue)]
    [InlineData("tools/call", "=?base64?Z2V0X3dlYXRoZXI?=", "2026-07-28", McpHeaderMismatch.MalformedEncodedValue)] // missing padding
    [InlineData("tools/call", "=?BASE64?Z2V0X3dlYXRoZXI=?=", "2026-07-28", McpHeaderMismatch.NameMismatch)] // markers are case-sensitive
    [InlineData("tools/call", "get\u0001weather", "2026-07-28", McpHeaderMismatch.MalformedEncodedValue)]
    [InlineData("tools/call\u007f", "get_weather", "2026-07-28", McpHeaderMismatch.MalformedEncodedValue)]
    public void Header_matrix_for_a_stateless_tools_call(string? method, string? name, string? version, McpHeaderMismatch expected)
    {
        Assert.Equal(expected, Check(ModernCall, method, name, version));
    }

    [Fact]
    public void Base64_names_with_non_ascii_and_escapes_in_the_body_match()
    {
        const string json = """{"jsonrpc":"2.0","id":"a","method":"prompts/get","params":{"name":"Gr\u00fc\u00dfe, \u4e16\u754c","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}""";
        Assert.Equal(McpHeaderMismatch.None, Check(json, "prompts/get", B64("Grüße, 世界"), "2026-07-28"));
        Assert.Equal(McpHeaderMismatch.NameMismatch, Check(json, "prompts/get", B64("Grüsse, 世界"), "2026-07-28"));
        // The raw non-ASCII text cannot be a header value.
        Assert.Equal(McpHeaderMismatch.MalformedEncodedValue, Check(json, "prompts/get", "Grüße, 世界", "2026-07-28"));
    }

    [Fact]
    public void Resources_read_is_named_by_its_uri()
    {
        const string json = """{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///projects/app/config.json","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}""";
        Assert.Equal(McpHeaderMismatch.None, Check(json, "resources/read", "file:///projects/app/config.json", "2026-07-28"));
        Assert.Equal(McpHeaderMismatch.NameMismatch, Check(json, "resources/read", "file:///projects/app/secret.json", "2026-07-28"));
        Assert.Equal(McpHeaderMismatch.MissingNameHeader, Check(json, "resources/read", null, "2026-07-28"));
    }

    [Fact]
    public void A_value_that_looks_like_the_sentinel_is_decoded_not_compared_raw()
    {
        const string json = """{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"=?base64?literal?=","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}""";
        Assert.Equal(McpHeaderMismatch.None, Check(json, "tools/call", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=", "2026-07-28"));
        Assert.Equal(McpHeaderMismatch.MalformedEncodedValue, Check(json, "tools/call", "=?base64?literal?=", "2026-07-28"));
    }

    [Fact]
    public void Methods_without_a_name_need_no_name_header_and_reject_one()
    {
        const string json = """{"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}""";
        Assert.Equal(McpHeaderMismatch.None, Check(json, "tools/list", null, "2026-07-28"));
        Assert.Equal(McpHeaderMismatch.NameMismatch, Check(json, "tools/list", "anything", "2026-07-28"));
    }

    [Fact]
    public void Notifications_need_no_method_header_but_one_present_must_match()
    {
        const string json = """{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}""";
        Assert.Equal(McpHeaderMismatch.None, Check(json, null, null, "2026-07-28"));
        Assert.Equal(McpHeaderMismatch.None, Check(json, "notifications/cancelled", null, "2026-07-28"));
        Assert.Equal(McpHeaderMismatch.MethodMismatch, Check(json, "tools/call", null, "2026-07-28"));
    }

    [Fact]
    public void Stateless_notifications_carry_no_meta_version_and_are_not_rejected_for_it()
    {
        // 2026-07-28 NotificationParams._meta has no protocolVersion; the header still comes on every POST.
        const string json = """{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7,"reason":"user"}}""";
        Assert.Equal(McpHeaderMismatch.None, Check(json, null, null, "2026-07-28"));
        Assert.Equal(McpHeaderMismatch.None, Check(json, "notifications/cancelled", null, "2026-07-28"));
        Assert.Equal(McpHeaderMismatch.MethodMismatch, Check(json, "tools/call", null, "2026-07-28"));
        Assert.Equal(McpHeaderMismatch.NameMismatch, Check(json, null, "x", "2026-07-28"));
    }

    [Fact]
    public void Session_era_messages_need_no_headers_but_present_ones_must_match()
    {
        const string json = """{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}""";
        Assert.Equal(McpHeaderMismatch.None, Check(json, null, null, null));
        Assert.Equal(McpHeaderMismatch.None, Check(json, null, null, "2025-11-25"));
        Assert.Equal(McpHeaderMismatch.None, Check(json, "tools/call", "echo", "2025-06-18"));
        Assert.Equal(McpHeaderMismatch.MethodMismatch, Check(json, "tools/list", null, "2025-11-25"));
        Assert.Equal(McpHeaderMismatch.NameMismatch, Check(json, null, "other", "2025-11-25"));
        // Claiming the stateless era without the body carrying its version.
        Assert.Equal(McpHeaderMismatch.ProtocolVersionMismatch, Check(json, "tools/call", "echo", "2026-07-28"));
    }

    [Fact]
    public void Responses_cannot_carry_a_method_header()
    {
        Assert.Equal(McpHeaderMismatch.None, Check("""{"jsonrpc":"2.0","id":1,"result":{}}""", null, null, "2025-11-25"));
        Assert.Equal(McpHeaderMismatch.MethodMismatch, Check("""{"jsonrpc":"2.0","id":1,"result":{}}""", "ping", null, "2025-11-25"));
    }

    [Fact]
    public void Escaped_method_and_version_in_the_body_are_compared_decoded()
    {
        const string json = """{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"a\u002Fb","_meta":{"io.modelcontextprotocol/protocolVersion":"2026\u002d07-28"}}}""";
        Assert.Equal(McpHeaderMismatch.None, Check(json, "tools/call", "a/b", "2026-07-28"));
    }

    [Fact]
    public void Header_value_decoding_reports_each_form()
    {
        Span<byte> scratch = stackalloc byte[64];
        Assert.Equal(McpHeaderValueStatus.Plain, McpHeaderValue.Decode(" us-west1 "u8, scratch, out ReadOnlySpan<byte> v));
        Assert.Equal("us-west1"u8.ToArray(), v.ToArray());
        Assert.Equal(McpHeaderValueStatus.Decoded, McpHeaderValue.Decode("=?base64?SGVsbG8sIOS4lueVjA==?="u8, scratch, out v));
        Assert.Equal("Hello, 世界", Encoding.UTF8.GetString(v));
        Assert.Equal(McpHeaderValueStatus.Decoded, McpHeaderValue.Decode("=?base64??="u8, scratch, out v));
        Assert.True(v.IsEmpty);
        Assert.Equal(McpHeaderValueStatus.Malformed, McpHeaderValue.Decode("=?base64?SGVs bG8=?="u8, scratch, out _));
        Assert.Equal(McpHeaderValueStatus.TooLong, McpHeaderValue.Decode("=?base64?SGVsbG8sIOS4lueVjA==?="u8, scratch[..4], out _));
        Assert.Equal(McpHeaderValueStatus.Malformed, McpHeaderValue.Decode("a\nb"u8, scratch, out _));
    }

    [Fact]
    public void Protocol_version_eras()
    {
        Assert.True(McpProtocolVersions.IsKnown("2025-11-25"u8));
        Assert.False(McpProtocolVersions.IsKnown("2025-11-26"u8));
        Assert.True(McpProtocolVersions.IsStateless("2026-07-28"u8));
        Assert.True(McpProtocolVersions.IsStateless("2027-03-01"u8));
        Assert.False(McpProtocolVersions.IsStateless("2025-11-25"u8));
        Assert.False(McpProtocolVersions.IsStateless("2026-07-2x"u8));
        Assert.False(McpProtocolVersions.IsStateless(""u8));
        Assert.True(McpProtocolVersions.IsSessionEra("2025-03-26"u8));
        Assert.True(McpProtocolVersions.AllowsBatches("2025-03-26"u8));
        Assert.False(McpProtocolVersions.AllowsBatches("2025-06-18"u8));
        Assert.Equal("2026-07-28"u8.ToArray(), McpProtocolVersions.Latest.ToArray());
        using var doc = System.Text.Json.JsonDocument.Parse(McpProtocolVersions.KnownJsonArray.ToArray());
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            Assert.True(McpProtocolVersions.IsKnown(Encoding.UTF8.GetBytes(e.GetString()!)));
        }
    }
}
