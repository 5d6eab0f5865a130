using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

public class McpResponseInspectorTests
{
    private static (bool Ok, McpResponseView View, ReadOnlySequence<byte> Json) Inspect(string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        var body = new ReadOnlySequence<byte>(bytes);
        bool ok = McpResponseInspector.TryInspect(body, out McpResponseView view);
        // Text already found to be UTF-8 (every string here is) is read the same without validating it again.
        Assert.Equal(ok, McpResponseInspector.TryInspectValidUtf8(body, out McpResponseView utf8Checked));
        Assert.True(view.Equals(utf8Checked));
        // Same answer for every split point.
        for (int cut = 0; cut <= bytes.Length; cut++)
        {
            Assert.Equal(ok, McpResponseInspector.TryInspect(Segments.Split(bytes, cut), out McpResponseView split));
            Assert.True(view.Equals(split), $"cut {cut}");
        }
        return (ok, view, body);
    }

    [Fact]
    public void Initialize_result_exposes_negotiated_version_and_server()
    {
        var (ok, view, json) = Inspect("""{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"everything","version":"2026.8.31"}}}""");
        Assert.True(ok);
        Assert.Equal(McpMessageKind.Response, view.Kind);
        Assert.True(view.IsResponse);
        Assert.False(view.IsError);
        Assert.Equal("0", Segments.Text(json, view.IdRange));
        Assert.Equal("\"2025-11-25\"", Segments.Text(json, view.ProtocolVersionRange));
        Assert.Equal("\"everything\"", Segments.Text(json, view.ServerInfoNameRange));
        Assert.Equal("\"2026.8.31\"", Segments.Text(json, view.ServerInfoVersionRange));
    }

    [Fact]
    public void Stateless_result_exposes_result_type_and_meta_server_info()
    {
        var (ok, view, json) = Inspect("""{"jsonrpc":"2.0","id":"a","result":{"content":[{"type":"text","text":"protocolVersion"}],"resultType":"input_required","_meta":{"io.modelcontextprotocol/serverInfo":{"name":"srv","version":"3"}}}}""");
        Assert.True(ok);
        Assert.Equal("\"input_required\"", Segments.Text(json, view.ResultTypeRange));
        Assert.Equal("\"srv\"", Segments.Text(json, view.ServerInfoNameRange));
        Assert.False(McpCall.IsEmpty(view.IdRange));
        Assert.True(McpCall.IsEmpty(view.ProtocolVersionRange)); // nested text does not count
    }

    [Fact]
    public void Error_responses_expose_code_and_message()
    {
        var (ok, view, json) = Inspect("""{"jsonrpc":"2.0","id":9,"error":{"code":-32602,"message":"Unknown tool: x","data":{"a":[1]}}}""");
        Assert.True(ok);
        Assert.True(view.IsError);
        Assert.Equal(-32602, view.ErrorCode);
        Assert.Equal("\"Unknown tool: x\"", Segments.Text(json, view.ErrorMessageRange));

        (ok, view, _) = Inspect("""{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}""");
        Assert.True(ok);
        Assert.True(McpCall.IsEmpty(view.IdRange));
    }

    [Fact]
    public void Server_notifications_and_requests_are_told_apart_from_responses()
    {
        var (ok, view, json) = Inspect("""{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"tok","progress":50,"total":100}}""");
        Assert.True(ok);
        Assert.Equal(McpMessageKind.Notification, view.Kind);
        Assert.Equal(McpMethod.NotificationsProgress, view.Method);
        Assert.Equal("\"tok\"", Segments.Text(json, view.ProgressTokenRange));

        (ok, view, json) = Inspect("""{"jsonrpc":"2.0","id":"s1","method":"sampling\/createMessage","params":{"messages":[],"maxTokens":5}}""");
        Assert.True(ok);
        Assert.Equal(McpMessageKind.Request, view.Kind);
        Assert.Equal(McpMethod.SamplingCreateMessage, view.Method);
        Assert.Equal("\"s1\"", Segments.Text(json, view.IdRange));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{")]
    [InlineData("42")]
    [InlineData("""{"id":1,"result":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","result":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"id":2,"result":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":null,"result":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"result":{}} {}""")]
    public void Not_a_json_rpc_message_is_refused(string json)
    {
        Assert.False(Inspect(json).Ok);
    }

    [Fact]
    public void Batch_responses_are_noted()
    {
        var (ok, view, _) = Inspect("""[{"jsonrpc":"2.0","id":1,"result":{}}]""");
        Assert.True(ok);
        Assert.Equal(McpMessageKind.Batch, view.Kind);
    }

    [Fact]
    public void Inspecting_allocates_nothing()
    {
        var json = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes("""{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{"listChanged":true}},"serverInfo":{"name":"everything","version":"1"}}}"""));
        for (int i = 0; i < 50; i++) McpResponseInspector.TryInspect(json, out _);
        Assert.Equal(0, ThreadAllocations.Measure(() => { for (int i = 0; i < 2_000; i++) McpResponseInspector.TryInspect(json, out _); }));
    }

    [Fact]
    public void A_server_requests_params_object_is_located_for_the_server_request_rules()
    {
        const string Params = """{"message":"Card?","requestedSchema":{"type":"object","properties":{"n":{"type":"string"}}}}""";
        var (ok, view, json) = Inspect("""{"jsonrpc":"2.0","id":3,"method":"elicitation/create","params":""" + Params + "}");
        Assert.True(ok);
        Assert.Equal(McpMessageKind.Request, view.Kind);
        Assert.Equal(Params, Encoding.UTF8.GetString(json.ToArray()[view.ParamsRange]));
        // No params, or params that are not an object: none located.
        Assert.True(McpCall.IsEmpty(Inspect("""{"jsonrpc":"2.0","id":3,"method":"roots/list"}""").View.ParamsRange));
        Assert.True(McpCall.IsEmpty(Inspect("""{"jsonrpc":"2.0","id":3,"method":"x","params":[1]}""").View.ParamsRange));
    }
}
