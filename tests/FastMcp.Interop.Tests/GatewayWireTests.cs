using System.Text.Json.Nodes;
using FastMcp.Interop.Tests.Harness;

namespace FastMcp.Interop.Tests;

/// <summary>
/// Hand-written HTTP/1.1 over raw sockets through the gateway: what no SDK client shows
/// (status codes of notifications and DELETE, the standalone GET stream, Origin checks, the admin
/// endpoints). Where server-everything defines the behaviour, the gateway must answer as it does.
/// </summary>
[Collection(InteropCollection.Name)]
[Trait("Category", "E2E")]
public sealed class GatewayWireTests(InteropFixture fixture)
{
    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task Admin_health_endpoints_answer_200(string path)
    {
        var gateway = await fixture.GatewayAsync();
        var url = new Uri(gateway.AdminUrl, path);

        var response = await McpWire.ExchangeAsync(url, "GET", [], null);

        Assert.Equal(200, response.Status);
    }

    [Fact]
    public async Task Notification_is_accepted_with_202_like_direct()
    {
        var gateway = await fixture.GatewayAsync();
        var directSession = await McpWire.OpenSessionAsync(fixture.Upstream.McpUrl);
        var gatewaySession = await McpWire.OpenSessionAsync(gateway.McpUrl);
        const string cancelled = """{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":999,"reason":"interop"}}""";

        var direct = await McpWire.PostAsync(fixture.Upstream.McpUrl, directSession, cancelled);
        var proxied = await McpWire.PostAsync(gateway.McpUrl, gatewaySession, cancelled);

        Assert.Equal(202, direct.Status);
        Assert.Equal(direct.Status, proxied.Status);
        Assert.Equal("", proxied.Body);
    }

    [Fact]
    public async Task Initialize_through_gateway_returns_a_session_and_the_server_answer()
    {
        var gateway = await fixture.GatewayAsync();

        var response = await McpWire.PostAsync(gateway.McpUrl, null, McpWire.InitializeBody(7));

        Assert.Equal(200, response.Status);
        Assert.False(string.IsNullOrEmpty(response.Head.Header("Mcp-Session-Id")));
        var answer = Assert.Single(response.Messages(), m => m["id"] is not null);
        Assert.Equal(7, (int?)answer["id"]);
        Assert.Equal("mcp-servers/everything", (string?)answer["result"]?["serverInfo"]?["name"]);
    }

    [Fact]
    public async Task Get_stream_with_session_id_carries_server_notifications()
    {
        var gateway = await fixture.GatewayAsync();
        var sessionId = await McpWire.OpenSessionAsync(gateway.McpUrl);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        await using var stream = await RawHttpConnection.ConnectAsync(gateway.McpUrl, cts.Token);
        await stream.SendAsync(
            "GET",
            gateway.McpUrl.PathAndQuery,
            [
                new("Accept", "text/event-stream"),
                new("Mcp-Session-Id", sessionId),
                new("MCP-Protocol-Version", McpWire.ProtocolVersion),
            ],
            null,
            cts.Token);
        var head = await stream.ReadResponseHeadAsync(cts.Token);
        Assert.Equal(200, head.Status);
        Assert.True(head.IsEventStream, $"Content-Type: {head.Header("Content-Type")}");

        // toggle-simulated-logging sends its first log message at once, on the standalone stream
        // (it is not related to any request), then one every 5 s until toggled off.
        var toggleOn = await McpWire.PostAsync(
            gateway.McpUrl, sessionId, McpWire.ToolCallBody(2, "toggle-simulated-logging", "{}"));
        Assert.Equal(200, toggleOn.Status);

        using var events = new SseReader(stream.OpenBody(head, "GET"));
        JsonObject? logMessage = null;
        while (logMessage is null && await events.ReadEventAsync(cts.Token) is { } e)
        {
            if (e.Data.Length > 0 && JsonNode.Parse(e.Data) is JsonObject message
                && (string?)message["method"] == "notifications/message")
            {
                logMessage = message;
            }
        }
        Assert.NotNull(logMessage);
        Assert.False(string.IsNullOrEmpty((string?)logMessage["params"]?["level"]));
        // The text names the upstream's session id, which a gateway may keep to itself.
        Assert.Contains("SessionId ", (string?)logMessage["params"]?["data"]);

        var toggleOff = await McpWire.PostAsync(
            gateway.McpUrl, sessionId, McpWire.ToolCallBody(3, "toggle-simulated-logging", "{}"));
        Assert.Equal(200, toggleOff.Status);
    }

    [Fact]
    public async Task Delete_and_reuse_of_the_ended_session_answer_like_direct()
    {
        var gateway = await fixture.GatewayAsync();
        var directSession = await McpWire.OpenSessionAsync(fixture.Upstream.McpUrl);
        var gatewaySession = await McpWire.OpenSessionAsync(gateway.McpUrl);

        var directDelete = await McpWire.ExchangeAsync(fixture.Upstream.McpUrl, "DELETE", McpWire.Headers(directSession), null);
        var proxiedDelete = await McpWire.ExchangeAsync(gateway.McpUrl, "DELETE", McpWire.Headers(gatewaySession), null);
        Assert.Equal(directDelete.Status, proxiedDelete.Status);

        const string list = """{"jsonrpc":"2.0","id":5,"method":"tools/list"}""";
        var directAfter = await McpWire.PostAsync(fixture.Upstream.McpUrl, directSession, list);
        var proxiedAfter = await McpWire.PostAsync(gateway.McpUrl, gatewaySession, list);
        Assert.True(directAfter.Status >= 400, $"direct reuse of an ended session answered {directAfter.Status}");
        Assert.Equal(directAfter.Status, proxiedAfter.Status);
    }

    [Fact]
    public async Task Foreign_origin_is_refused_with_403()
    {
        var gateway = await fixture.GatewayAsync();

        using var cts = new CancellationTokenSource(McpWire.ExchangeTimeout);
        await using var connection = await RawHttpConnection.ConnectAsync(gateway.McpUrl, cts.Token);
        await connection.SendAsync(
            "POST",
            gateway.McpUrl.PathAndQuery,
            McpWire.Headers(null, ("Origin", "http://evil.example.com")),
            McpWire.InitializeBody(1),
            cts.Token);
        var head = await connection.ReadResponseHeadAsync(cts.Token);
        await connection.ReadBodyToEndAsync(head, "POST", cts.Token);

        Assert.Equal(403, head.Status);
        // Refused means refused: nothing reached the upstream, so no second answer follows.
        var trailing = new byte[256];
        var extra = await connection.ReadRawAsync(trailing, cts.Token);
        Assert.True(extra == 0, $"bytes after the 403: {System.Text.Encoding.ASCII.GetString(trailing, 0, extra)}");
    }

    [Fact]
    public async Task Gateway_own_origin_is_accepted()
    {
        var gateway = await fixture.GatewayAsync();
        var origin = gateway.McpUrl.GetLeftPart(UriPartial.Authority);

        var proxied = await McpWire.PostAsync(gateway.McpUrl, null, McpWire.InitializeBody(1), ("Origin", origin));

        Assert.Equal(200, proxied.Status);
    }
}
