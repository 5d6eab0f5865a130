using System.Buffers;
using System.Text;
using System.Text.Json;

namespace FastMcp.Mcp.Tests;

public class JsonRpcErrorWriterTests
{
    private static JsonDocument Parse(ArrayBufferWriter<byte> output) => JsonDocument.Parse(output.WrittenMemory);

    [Theory]
    [InlineData("7")]
    [InlineData("-1.5e2")]
    [InlineData("\"abc\"")]
    [InlineData("\"q\\\"\\u00e9\"")]
    public void Output_parses_back_with_the_same_id(string rawId)
    {
        var output = new ArrayBufferWriter<byte>();
        JsonRpcErrorWriter.Write(output, Encoding.UTF8.GetBytes(rawId), JsonRpcErrorCodes.Forbidden, "denied by policy"u8);
        using JsonDocument doc = Parse(output);
        JsonElement root = doc.RootElement;
        Assert.Equal("2.0", root.GetProperty("jsonrpc").GetString());
        Assert.Equal(rawId, root.GetProperty("id").GetRawText());
        Assert.Equal(-32001, root.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("denied by policy", root.GetProperty("error").GetProperty("message").GetString());
        Assert.False(root.GetProperty("error").TryGetProperty("data", out _));
        Assert.True(output.WrittenCount <= JsonRpcErrorWriter.GetMaxLength(rawId.Length, 16, 0));
    }

    [Fact]
    public void Empty_id_is_null_and_data_is_embedded()
    {
        var output = new ArrayBufferWriter<byte>();
        JsonRpcErrorWriter.Write(output, default, JsonRpcErrorCodes.UnsupportedProtocolVersion, "Unsupported protocol version"u8,
            """{"supported":["2026-07-28"],"requested":"1999-01-01"}"""u8);
        using JsonDocument doc = Parse(output);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("id").ValueKind);
        JsonElement error = doc.RootElement.GetProperty("error");
        Assert.Equal(int.Parse("-32022"), error.GetProperty("code").GetInt32());
        Assert.Equal("1999-01-01", error.GetProperty("data").GetProperty("requested").GetString());
    }

    [Fact]
    public void Messages_are_escaped_and_invalid_utf8_replaced()
    {
        byte[] message = [.. "quote \" back \\ nl \n tab \t nul "u8, 0x00, .. " bell "u8, 0x07, .. " é 😀 bad "u8, 0xC3, (byte)'!', 0xFF];
        var output = new ArrayBufferWriter<byte>();
        JsonRpcErrorWriter.Write(output, "1"u8, int.MinValue, message);
        Assert.True(output.WrittenCount <= JsonRpcErrorWriter.GetMaxLength(1, message.Length, 0));
        using JsonDocument doc = Parse(output);
        JsonElement error = doc.RootElement.GetProperty("error");
        Assert.Equal(int.MinValue, error.GetProperty("code").GetInt32());
        Assert.Equal("quote \" back \\ nl \n tab \t nul \0 bell \a é 😀 bad \uFFFD!\uFFFD", error.GetProperty("message").GetString());
    }

    [Fact]
    public void Worst_case_message_fits_the_advertised_maximum()
    {
        byte[] message = new byte[100];
        Array.Fill(message, (byte)0x01);
        var output = new ArrayBufferWriter<byte>();
        JsonRpcErrorWriter.Write(output, "\"id\""u8, -32603, message, "{}"u8);
        Assert.True(output.WrittenCount <= JsonRpcErrorWriter.GetMaxLength(4, 100, 2));
        using JsonDocument doc = Parse(output);
        Assert.Equal(new string('\u0001', 100), doc.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public void Id_taken_from_a_split_body_is_copied_exactly()
    {
        byte[] json = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":"long-request-id-\u00e9","method":"tools/call","params":{"name":"x"}}""");
        for (int cut = 1; cut < json.Length; cut++)
        {
            ReadOnlySequence<byte> body = Segments.Split(json, cut);
            Assert.Equal(McpInspectError.None, McpInspector.Inspect(body, out McpCall call));
            var output = new ArrayBufferWriter<byte>();
            JsonRpcErrorWriter.Write(output, body, call.IdRange, JsonRpcErrorCodes.HeaderMismatch, "Header mismatch"u8);
            using JsonDocument doc = Parse(output);
            Assert.Equal("long-request-id-é", doc.RootElement.GetProperty("id").GetString());
            Assert.Equal(-32020, doc.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        }
    }

    [Fact]
    public void Notification_ranges_write_a_null_id()
    {
        ReadOnlySequence<byte> body = Segments.Of("""{"jsonrpc":"2.0","method":"notifications/initialized"}""");
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(body, out McpCall call));
        var output = new ArrayBufferWriter<byte>();
        JsonRpcErrorWriter.Write(output, body, call.IdRange, JsonRpcErrorCodes.InvalidRequest, "no"u8);
        using JsonDocument doc = Parse(output);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("id").ValueKind);
    }
}

public class UnsupportedVersionAndRejectionTests
{
    [Fact]
    public void Unsupported_version_error_lists_supported_and_requested()
    {
        ReadOnlySequence<byte> body = Segments.Of("""{"jsonrpc":"2.0","id":"v","method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"1999-01-01"}}}""");
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(body, out McpCall call));
        var output = new ArrayBufferWriter<byte>();
        JsonRpcErrorWriter.WriteUnsupportedProtocolVersion(output, body, call.IdRange, "1999-01-01\"\n"u8);
        using JsonDocument doc = JsonDocument.Parse(output.WrittenMemory);
        JsonElement error = doc.RootElement.GetProperty("error");
        Assert.Equal("\"v\"", doc.RootElement.GetProperty("id").GetRawText());
        Assert.Equal(-32022, error.GetProperty("code").GetInt32());
        Assert.Equal("1999-01-01\"\n", error.GetProperty("data").GetProperty("requested").GetString());
        Assert.Contains(error.GetProperty("data").GetProperty("supported").EnumerateArray(), e => e.GetString() == "2026-07-28");

        output.ResetWrittenCount();
        JsonRpcErrorWriter.WriteUnsupportedProtocolVersion(output, body, call.IdRange, Encoding.ASCII.GetBytes(new string('\u0001', 500)));
        using JsonDocument capped = JsonDocument.Parse(output.WrittenMemory);
        Assert.Equal(64, capped.RootElement.GetProperty("error").GetProperty("data").GetProperty("requested").GetString()!.Length);
    }

    [Fact]
    public void Every_rejection_has_a_code_and_a_message()
    {
        foreach (McpInspectError e in Enum.GetValues<McpInspectError>())
        {
            if (e == McpInspectError.None) continue;
            Assert.Contains(McpRejections.JsonRpcCode(e), new[] { -32700, -32600, -32602 });
            Assert.False(McpRejections.Message(e).IsEmpty);
            Assert.Equal(400, McpRejections.HttpStatus(e));
        }
        var messages = new HashSet<string>();
        foreach (McpHeaderMismatch m in Enum.GetValues<McpHeaderMismatch>())
        {
            Assert.True(messages.Add(Encoding.UTF8.GetString(McpRejections.Message(m))));
        }
        Assert.Equal(JsonRpcErrorCodes.ParseError, McpRejections.JsonRpcCode(McpInspectError.InvalidJson));
        Assert.Equal(JsonRpcErrorCodes.InvalidParams, McpRejections.JsonRpcCode(McpInspectError.InvalidParams));
        Assert.Equal(JsonRpcErrorCodes.InvalidRequest, McpRejections.JsonRpcCode(McpInspectError.DuplicateMember));
    }
}
