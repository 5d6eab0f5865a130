using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// The body is inspected before it is forwarded: 2026-07-28 mirrored headers must match it, and a
/// body that is not JSON is answered by the gateway without closing the connection.
/// </summary>
public sealed class McpValidationTests
{
    private const string StatelessCall =
        """{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"foo":"bar"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}""";

    [Fact]
    public async Task Mcp_method_header_not_matching_the_body_is_400_with_32020()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(StatelessCall, "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/list\r\nMcp-Name: echo\r\n"));
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(400, response.Status);
        (int code, string id) = response.JsonRpcError();
        Assert.Equal(JsonRpcErrorCodes.HeaderMismatch, code);
        Assert.Equal("9", id);
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task Matching_mcp_headers_and_unknown_param_header_are_forwarded()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(StatelessCall,
            "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: echo\r\nMcp-Param-Foo: bar\r\n"));
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Equal("9", response.IdJson());
        UpstreamRequest seen = upstream.SingleRequest();
        Assert.Equal(StatelessCall, seen.Body);
        Assert.Equal("tools/call", seen.Header("Mcp-Method"));
        Assert.Equal("echo", seen.Header("Mcp-Name"));
        Assert.Equal("bar", seen.Header("Mcp-Param-Foo"));
        Assert.Equal("2026-07-28", seen.Header("MCP-Protocol-Version"));
    }

    [Fact]
    public async Task Invalid_json_is_400_with_32700_and_the_connection_stays_usable()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post("""{"jsonrpc":"2.0","id":1,"method":"""));
        RawResponse rejected = await client.ReadResponseAsync("the parse error");
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("2")));
        RawResponse next = await client.ReadResponseAsync("the next answer on the same connection");

        Assert.Equal(400, rejected.Status);
        (int code, string id) = rejected.JsonRpcError();
        Assert.Equal(JsonRpcErrorCodes.ParseError, code);
        Assert.Equal("null", id);
        Assert.NotEqual("close", rejected.Header("Connection"));
        Assert.Equal(200, next.Status);
        Assert.Equal("2", next.IdJson());
        Assert.Equal("2", upstream.SingleRequest().IdJson());
    }
}
