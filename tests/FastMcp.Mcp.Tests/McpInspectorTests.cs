using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

public class McpInspectorTests
{
    private static (McpInspectError Error, McpCall Call, ReadOnlySequence<byte> Body) Inspect(string json)
    {
        ReadOnlySequence<byte> body = Segments.Of(json);
        McpInspectError error = McpInspector.Inspect(body, out McpCall call);
        McpInspectError spanError = McpInspector.Inspect(Encoding.UTF8.GetBytes(json), out McpCall spanCall);
        Assert.Equal(error, spanError);
        Assert.Equal(call, spanCall);
        return (error, call, body);
    }

    [Fact]
    public void Tools_call_request_exposes_every_part()
    {
        const string json = """
            {"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Oslo","n":[1,2]},
             "_meta":{"progressToken":"p-1","io.modelcontextprotocol/protocolVersion":"2026-07-28",
             "io.modelcontextprotocol/clientInfo":{"name":"agent","version":"1.2"},"io.modelcontextprotocol/clientCapabilities":{}}}}
            """;
        var (error, call, body) = Inspect(json);
        Assert.Equal(McpInspectError.None, error);
        Assert.Equal(McpMessageKind.Request, call.Kind);
        Assert.Equal(McpMethod.ToolsCall, call.Method);
        Assert.Equal("\"tools/call\"", Segments.Text(body, call.MethodRange));
        Assert.Equal("7", Segments.Text(body, call.IdRange));
        Assert.Equal("\"get_weather\"", Segments.Text(body, call.NameRange));
        Assert.Equal("{\"city\":\"Oslo\",\"n\":[1,2]}", Segments.Text(body, call.ArgumentsRange));
        Assert.Equal("\"p-1\"", Segments.Text(body, call.ProgressTokenRange));
        Assert.Equal("\"2026-07-28\"", Segments.Text(body, call.ProtocolVersionMetaRange));
        Assert.Equal("\"agent\"", Segments.Text(body, call.ClientInfoNameRange));
        Assert.Equal("\"1.2\"", Segments.Text(body, call.ClientInfoVersionRange));
        Assert.False(call.NameHasEscapes);
        Assert.False(call.MethodHasEscapes);
    }

    [Fact]
    public void Initialize_exposes_client_info_and_requested_version()
    {
        const string json = """{"jsonrpc":"2.0","id":"init-1","method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"version":"0.9","name":"ide"}}}""";
        var (error, call, body) = Inspect(json);
        Assert.Equal(McpInspectError.None, error);
        Assert.Equal(McpMethod.Initialize, call.Method);
        Assert.Equal("\"init-1\"", Segments.Text(body, call.IdRange));
        Assert.Equal("\"2025-11-25\"", Segments.Text(body, call.InitializeProtocolVersionRange));
        Assert.Equal("\"ide\"", Segments.Text(body, call.ClientInfoNameRange));
        Assert.Equal("\"0.9\"", Segments.Text(body, call.ClientInfoVersionRange));
        Assert.False(call.HasName);
        Assert.False(call.HasProtocolVersionMeta);
    }

    [Fact]
    public void Members_in_any_order_give_the_same_view()
    {
        const string json = """{"params":{"arguments":{"a":1},"name":"t"},"method":"tools/call","id":"x","jsonrpc":"2.0"}""";
        var (error, call, body) = Inspect(json);
        Assert.Equal(McpInspectError.None, error);
        Assert.Equal(McpMethod.ToolsCall, call.Method);
        Assert.Equal("\"t\"", Segments.Text(body, call.NameRange));
        Assert.Equal("{\"a\":1}", Segments.Text(body, call.ArgumentsRange));
    }

    [Theory]
    [InlineData("resources/read", McpMethod.ResourcesRead)]
    [InlineData("resources/subscribe", McpMethod.ResourcesSubscribe)]
    [InlineData("resources/unsubscribe", McpMethod.ResourcesUnsubscribe)]
    public void Resource_requests_name_their_uri(string method, McpMethod expected)
    {
        string json = $$$"""{"jsonrpc":"2.0","id":1,"method":"{{{method}}}","params":{"uri":"file:///etc/app.json","name":"ignored"}}""";
        var (error, call, body) = Inspect(json);
        Assert.Equal(McpInspectError.None, error);
        Assert.Equal(expected, call.Method);
        Assert.Equal("\"file:///etc/app.json\"", Segments.Text(body, call.NameRange));
    }

    [Fact]
    public void Prompts_get_names_its_prompt()
    {
        var (error, call, body) = Inspect("""{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"review","arguments":{"lang":"c#"}}}""");
        Assert.Equal(McpInspectError.None, error);
        Assert.Equal("\"review\"", Segments.Text(body, call.NameRange));
        Assert.Equal("{\"lang\":\"c#\"}", Segments.Text(body, call.ArgumentsRange));
    }

    [Fact]
    public void Name_is_only_reported_for_methods_that_target_something()
    {
        var (error, call, _) = Inspect("""{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"name":"x","cursor":"c"}}""");
        Assert.Equal(McpInspectError.None, error);
        Assert.False(call.HasName);
    }

    [Theory]
    [InlineData("\"abc\"")]
    [InlineData("\"\"")]
    [InlineData("0")]
    [InlineData("-12")]
    [InlineData("1.5e3")]
    [InlineData("9007199254740993")]
    [InlineData("\"\\u0041\\n\"")]
    public void Ids_of_every_allowed_type_are_kept_raw(string id)
    {
        var (error, call, body) = Inspect($$"""{"jsonrpc":"2.0","id":{{id}},"method":"ping"}""");
        Assert.Equal(McpInspectError.None, error);
        Assert.Equal(McpMessageKind.Request, call.Kind);
        Assert.Equal(id, Segments.Text(body, call.IdRange));
    }

    [Theory]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("{}")]
    [InlineData("[1]")]
    public void Request_ids_that_are_not_string_or_number_are_invalid(string id)
    {
        var (error, call, _) = Inspect($$"""{"jsonrpc":"2.0","id":{{id}},"method":"ping"}""");
        Assert.Equal(McpInspectError.InvalidId, error);
        Assert.Equal(default, call);
    }

    [Fact]
    public void Notification_has_no_id()
    {
        var (error, call, _) = Inspect("""{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3,"reason":"user"}}""");
        Assert.Equal(McpInspectError.None, error);
        Assert.Equal(McpMessageKind.Notification, call.Kind);
        Assert.Equal(McpMethod.NotificationsCancelled, call.Method);
        Assert.False(call.HasId);
    }

    /// <summary>A cancellation's params.requestId is kept as the raw token the client sent (the gateway compares it byte for byte).</summary>
    [Theory]
    [InlineData("3")]
    [InlineData("\"r-1\"")]
    [InlineData("\"\\u0031\"")]
    [InlineData("1.0")]
    public void A_cancellations_request_id_is_its_raw_token(string requestId)
    {
        var (error, call, body) = Inspect("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"reason\":\"user\",\"requestId\":" + requestId + "}}");
        Assert.Equal(McpInspectError.None, error);
        (int offset, int length) = call.CancelledIdRange.GetOffsetAndLength((int)body.Length);
        Assert.Equal(requestId, System.Text.Encoding.UTF8.GetString(body.Slice(offset, length).ToArray()));
    }

    /// <summary>A cancellation that names no request (absent, null, an object, no params) is refused: the gateway could not tell whose it is.</summary>
    [Theory]
    [InlineData("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"reason\":\"user\"}}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":null}}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":[1]}}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\"}")]
    public void A_cancellation_without_a_request_id_is_refused(string json)
    {
        var (error, _, _) = Inspect(json);
        Assert.Equal(McpInspectError.InvalidCancelledRequestId, error);
        Assert.Equal(JsonRpcErrorCodes.InvalidParams, McpRejections.JsonRpcCode(error));
    }

    [Fact]
    public void Responses_and_error_responses_are_recognised()
    {
        var (error, call, body) = Inspect("""{"jsonrpc":"2.0","id":5,"result":{"content":[]}}""");
        Assert.Equal(McpInspectError.None, error);
        Assert.Equal(McpMessageKind.Response, call.Kind);
        Assert.Equal("5", Segments.Text(body, call.IdRange));

        (error, call, _) = Inspect("""{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}""");
        Assert.Equal(McpInspectError.None, error);
        Assert.Equal(McpMessageKind.ErrorResponse, call.Kind);
        Assert.False(call.HasId);

        Assert.Equal(McpInspectError.InvalidId, Inspect("""{"jsonrpc":"2.0","id":null,"result":{}}""").Error);
        Assert.Equal(McpInspectError.InvalidId, Inspect("""{"jsonrpc":"2.0","result":{}}""").Error);
    }

    [Fact]
    public void Escaped_names_and_methods_are_flagged_and_decoded()
    {
        const string json = """{"jsonrpc":"2.0","id":1,"method":"tools\/c\u0061ll","params":{"name":"del\u00e9te \"all\"","arguments":{}}}""";
        var (error, call, body) = Inspect(json);
        Assert.Equal(McpInspectError.None, error);
        Assert.Equal(McpMethod.ToolsCall, call.Method);
        Assert.True(call.MethodHasEscapes);
        Assert.True(call.NameHasEscapes);
        Span<byte> name = stackalloc byte[64];
        int n = McpInspector.CopyUnescaped(body, call.NameRange, name);
        Assert.Equal("deléte \"all\"", Encoding.UTF8.GetString(name[..n]));
        Assert.True(McpInspector.UnescapedEquals(body, call.NameRange, "deléte \"all\""u8));
        Assert.False(McpInspector.UnescapedEquals(body, call.NameRange, "delete"u8));
    }

    [Fact]
    public void Escaped_member_names_are_recognised_so_they_cannot_hide_a_method()
    {
        var (error, call, _) = Inspect("""{"jsonrpc":"2.0","id":1,"\u006dethod":"tools/call","p\u0061rams":{"n\u0061me":"rm"}}""");
        Assert.Equal(McpInspectError.None, error);
        Assert.Equal(McpMethod.ToolsCall, call.Method);
        Assert.True(call.HasName);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","n\u0061me":"b"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{},"params":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"progressToken":1,"progressToken":2}}}""")]
    public void Duplicate_members_the_gateway_reads_are_rejected(string json)
    {
        Assert.Equal(McpInspectError.DuplicateMember, Inspect(json).Error);
    }

    // Inside params.arguments, at any depth, after unescaping: the policy reads the first copy, Python and
    // JavaScript upstreams the last.
    [Theory]
    [InlineData("""{"path":"/tmp/ok","path":"/etc/passwd"}""")]
    [InlineData("""{"path":"/tmp/ok","p\u0061th":"/etc/passwd"}""")]
    [InlineData("""{"a":{"b":[{"c":1,"d":2,"\u0063":3}]}}""")]
    [InlineData("""{"x":1,"y":{"x":1,"z":2,"z":3}}""")]
    [InlineData("""{"\ud83d\ude00":1,"😀":2}""")]
    public void Duplicate_members_anywhere_in_the_arguments_are_rejected(string args)
    {
        string json = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"arguments\":" + args + "}}";
        Assert.Equal(McpInspectError.DuplicateMember, Inspect(json).Error);
        Assert.Equal(McpInspectError.DuplicateMember, McpInspector.Inspect(Segments.Split(System.Text.Encoding.UTF8.GetBytes(json), 3, 40, 41, 60), out _));
    }

    [Theory]
    [InlineData("""{"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}]}""")]
    [InlineData("""{"x":{"x":{"x":1}}}""")]
    [InlineData("""{}""")]
    public void The_same_name_in_different_objects_is_not_a_duplicate(string args)
    {
        string json = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"arguments\":" + args + "}}";
        Assert.Equal(McpInspectError.None, Inspect(json).Error);
    }

    [Fact]
    public void Many_members_are_checked_without_quadratic_work_and_the_last_duplicate_is_found()
    {
        var sb = new System.Text.StringBuilder("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"arguments\":{");
        for (int i = 0; i < 50_000; i++) sb.Append('"').Append('k').Append(i).Append("\":0,");
        string unique = sb.ToString() + "\"last\":0}}}";
        string repeated = sb.ToString() + "\"k49999\":1}}}";
        Assert.Equal(McpInspectError.None, Inspect(unique).Error);
        Assert.Equal(McpInspectError.DuplicateMember, Inspect(repeated).Error);
    }

    // Objects of up to 16 names are compared pairwise, larger ones sorted; past 64 names in all the hash list
    // moves from the stack to a rented buffer. Each side of both limits, with the repeat first and last.
    [Theory]
    [InlineData(2)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(200)]
    public void A_repeated_name_is_found_whatever_the_object_size(int names)
    {
        string Members(int n, string extra) => string.Concat(Enumerable.Range(0, n).Select(i => $"\"m{i}\":{i},")) + extra;
        string Call(string args) => "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"arguments\":{\"outer\":{" + args + "}}}}";
        Assert.Equal(McpInspectError.None, Inspect(Call(Members(names - 1, "\"last\":0"))).Error);
        Assert.Equal(McpInspectError.DuplicateMember, Inspect(Call(Members(names - 1, "\"m0\":0"))).Error);
        Assert.Equal(McpInspectError.DuplicateMember, Inspect(Call(Members(names - 1, $"\"m{names - 2}\":0"))).Error);
        // The names of an object that closed do not count against its siblings.
        Assert.Equal(McpInspectError.None, Inspect(Call("\"a\":{" + Members(names - 1, "\"last\":0") + "},\"b\":{" + Members(names - 1, "\"last\":0") + "}")).Error);
    }

    // Members the policy does not read are still forwarded and may be read upstream (and are bound by approval
    // digests): no object anywhere in a message may repeat a name.
    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":1,"x":2}}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{},"extra":1,"extra":2}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","type":"image"}]}}""")]
    public void Duplicate_members_anywhere_in_a_message_are_rejected(string json)
    {
        Assert.Equal(McpInspectError.DuplicateMember, Inspect(json).Error);
    }

    [Theory]
    [InlineData("", McpInspectError.EmptyBody)]
    [InlineData("  \r\n\t ", McpInspectError.EmptyBody)]
    [InlineData("{", McpInspectError.InvalidJson)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"", McpInspectError.InvalidJson)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} {}", McpInspectError.InvalidJson)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",}", McpInspectError.InvalidJson)]
    [InlineData("{\"jsonrpc\":\"2.0\",/*c*/\"id\":1,\"method\":\"ping\"}", McpInspectError.InvalidJson)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pi\\xng\"}", McpInspectError.InvalidJson)]
    [InlineData("{'jsonrpc':'2.0'}", McpInspectError.InvalidJson)]
    [InlineData("\"just a string\"", McpInspectError.NotAnObject)]
    [InlineData("42", McpInspectError.NotAnObject)]
    [InlineData("null", McpInspectError.NotAnObject)]
    [InlineData("{\"id\":1,\"method\":\"ping\"}", McpInspectError.MissingJsonRpcVersion)]
    [InlineData("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", McpInspectError.MissingJsonRpcVersion)]
    [InlineData("{\"jsonrpc\":2.0,\"id\":1,\"method\":\"ping\"}", McpInspectError.MissingJsonRpcVersion)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1}", McpInspectError.MissingMethod)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", McpInspectError.MissingMethod)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"result\":{}}", McpInspectError.AmbiguousMessage)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{}}", McpInspectError.AmbiguousMessage)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[1]}", McpInspectError.InvalidParams)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}", McpInspectError.InvalidParams)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}", McpInspectError.InvalidParams)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":5}}", McpInspectError.InvalidParams)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\",\"arguments\":[1]}}", McpInspectError.InvalidParams)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"name\":\"a\"}}", McpInspectError.InvalidParams)]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":20260728}}}", McpInspectError.InvalidParams)]
    public void Broken_messages_are_named(string json, McpInspectError expected)
    {
        var (error, call, _) = Inspect(json);
        Assert.Equal(expected, error);
        Assert.Equal(default, call);
    }

    [Theory]
    [InlineData("\\ud800")]
    [InlineData("\\udc00")]
    [InlineData("a\\ud83dx")]
    [InlineData("\\ud83d\\n")]
    [InlineData("\\ud83d\\ud83d")]
    [InlineData("\\ude00\\ud83d")]
    [InlineData("\\ud83d")]
    public void Lone_surrogate_escapes_anywhere_are_invalid_json(string escaped)
    {
        Assert.Equal(McpInspectError.InvalidJson, Inspect("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ESC"}}""".Replace("ESC", escaped)).Error);
        Assert.Equal(McpInspectError.InvalidJson, Inspect("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"deep":[{"text":"ESC"}]}}""".Replace("ESC", escaped)).Error);
        Assert.Equal(McpInspectError.InvalidJson, Inspect("""{"jsonrpc":"2.0","id":1,"method":"ping","params":{"ESC":1}}""".Replace("ESC", escaped)).Error);
    }

    [Theory]
    [InlineData("\\ud83d\\ude00")]
    [InlineData("\\uD83D\\uDE00\\u00e9\\n")]
    [InlineData("x\\uffff\\u0000")]
    public void Paired_surrogate_escapes_are_fine(string escaped)
    {
        Assert.Equal(McpInspectError.None, Inspect("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ESC"}}""".Replace("ESC", escaped)).Error);
    }

    [Fact]
    public void Lone_surrogate_in_method_is_invalid_json()
    {
        Assert.Equal(McpInspectError.InvalidJson, Inspect("""{"jsonrpc":"2.0","id":1,"method":"\ud800"}""").Error);
    }

    [Fact]
    public void Invalid_utf8_is_invalid_json()
    {
        byte[] body = Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":1,"method":"pingX"}""");
        body[^3] = 0xFF;
        Assert.Equal(McpInspectError.InvalidJson, McpInspector.Inspect(body, out _));
    }

    [Fact]
    public void Batch_arrays_are_noted_not_viewed()
    {
        var (error, call, _) = Inspect("""[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"}]""");
        Assert.Equal(McpInspectError.None, error);
        Assert.Equal(McpMessageKind.Batch, call.Kind);
        Assert.Equal(McpMethod.Unknown, call.Method);
        Assert.Equal(McpInspectError.InvalidJson, Inspect("[1,2").Error);
    }

    [Theory]
    [InlineData(McpInspector.MaxDepth - 4, McpInspectError.None)]
    [InlineData(McpInspector.MaxDepth - 3, McpInspectError.None)]
    [InlineData(McpInspector.MaxDepth - 2, McpInspectError.TooDeep)]
    [InlineData(1000, McpInspectError.TooDeep)]
    public void Nesting_is_limited_everywhere_in_the_message(int arrays, McpInspectError expected)
    {
        // Message object (1) + params (2) + arguments (3) + `arrays` nested arrays.
        string nested = new string('[', arrays) + new string(']', arrays);
        string json = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"deep":""" + nested + "}}}";
        Assert.Equal(expected, Inspect(json).Error);
        string inExtra = """{"jsonrpc":"2.0","id":1,"method":"ping","extra":{"a":{"b":""" + nested + "}}}";
        Assert.Equal(expected, Inspect(inExtra).Error);
    }

    [Fact]
    public void Batch_nesting_is_limited_too()
    {
        string nested = new string('[', McpInspector.MaxDepth + 1) + new string(']', McpInspector.MaxDepth + 1);
        Assert.Equal(McpInspectError.TooDeep, Inspect(nested).Error);
    }

    [Fact]
    public void Unknown_methods_are_still_viewed()
    {
        var (error, call, body) = Inspect("""{"jsonrpc":"2.0","id":1,"method":"x-vendor/do","params":{"name":"n"}}""");
        Assert.Equal(McpInspectError.None, error);
        Assert.Equal(McpMethod.Unknown, call.Method);
        Assert.Equal("\"x-vendor/do\"", Segments.Text(body, call.MethodRange));
    }

    [Fact]
    public void CopyUnescaped_reports_when_it_does_not_fit()
    {
        ReadOnlySequence<byte> body = Segments.Of("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\u0061bcdef"}}""");
        Assert.Equal(McpInspectError.None, McpInspector.Inspect(body, out McpCall call));
        Span<byte> exact = stackalloc byte[6];
        Assert.Equal(6, McpInspector.CopyUnescaped(body, call.NameRange, exact));
        Assert.Equal("abcdef"u8.ToArray(), exact.ToArray());
        Span<byte> small = stackalloc byte[5];
        Assert.Equal(-1, McpInspector.CopyUnescaped(body, call.NameRange, small));
        Assert.Equal(-1, McpInspector.CopyUnescaped(body, call.IdRange, exact)); // a number, not a string
        Assert.Equal(-1, McpInspector.CopyUnescaped(body, default, exact));
        Assert.Equal(-1, McpInspector.CopyUnescaped(body, 0..10_000, exact));
    }

    [Theory]
    [InlineData("""{"type":"ref/prompt","name":"review"}""", "\"review\"")]
    [InlineData("""{"name":"review","type":"ref/prompt","uri":"ignored://x"}""", "\"review\"")]
    [InlineData("""{"type":"ref/resource","uri":"file:///{path}"}""", "\"file:///{path}\"")]
    [InlineData("""{"type":"ref\/resource","name":"ignored","uri":"db://{table}"}""", "\"db://{table}\"")]
    public void Completion_names_the_prompt_or_template_it_completes(string reference, string target)
    {
        var (error, call, body) = Inspect("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":{\"ref\":" + reference
            + ",\"argument\":{\"name\":\"a\",\"value\":\"b\"}}}");
        Assert.Equal(McpInspectError.None, error);
        Assert.Equal(McpMethod.CompletionComplete, call.Method);
        Assert.Equal(target, Segments.Text(body, call.NameRange));
    }

    [Theory]
    [InlineData("""{"argument":{"name":"a","value":"b"}}""", McpInspectError.InvalidParams)]
    [InlineData("""{"ref":"review"}""", McpInspectError.InvalidParams)]
    [InlineData("""{"ref":{"type":"ref/tool","name":"review"}}""", McpInspectError.InvalidParams)]
    [InlineData("""{"ref":{"type":"ref/prompt","uri":"review"}}""", McpInspectError.InvalidParams)]
    [InlineData("""{"ref":{"type":"ref/resource","name":"review"}}""", McpInspectError.InvalidParams)]
    [InlineData("""{"ref":{"type":7,"name":"review"}}""", McpInspectError.InvalidParams)]
    [InlineData("""{"ref":{"type":"ref/prompt","name":null}}""", McpInspectError.InvalidParams)]
    [InlineData("""{"ref":{"name":"review"}}""", McpInspectError.InvalidParams)]
    [InlineData("""{"ref":{"type":"ref/prompt","name":"a","name":"b"}}""", McpInspectError.DuplicateMember)]
    [InlineData("""{"ref":{"type":"ref/prompt","type":"ref/resource","name":"a"}}""", McpInspectError.DuplicateMember)]
    [InlineData("""{"ref":{"type":"ref/prompt","name":"a","NAME":"b"}}""", McpInspectError.CaseVariantMember)]
    [InlineData("""{"ref":{"type":"ref/prompt","name":"a"},"Ref":{"type":"ref/prompt","name":"b"}}""", McpInspectError.CaseVariantMember)]
    [InlineData("""{"ref":{"type":"ref/prompt","name":"a"},"ref":{"type":"ref/prompt","name":"b"}}""", McpInspectError.DuplicateMember)]
    public void Completion_that_names_no_single_target_is_refused(string parameters, McpInspectError expected)
    {
        var (error, _, _) = Inspect("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":" + parameters + "}");
        Assert.Equal(expected, error);
    }

    [Fact]
    public void A_ref_member_in_another_method_names_nothing()
    {
        var (error, call, _) = Inspect("""{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"ref":{"type":"ref/prompt","name":"x"}}}""");
        Assert.Equal(McpInspectError.None, error);
        Assert.False(call.HasName);
    }
}
