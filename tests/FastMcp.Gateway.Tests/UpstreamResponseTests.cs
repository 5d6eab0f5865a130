using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// Upstream responses that end a connection or break the protocol: the client always gets an
/// answer with its id, and a pooled connection the upstream has closed is never the reason a
/// request fails.
/// </summary>
public sealed class UpstreamResponseTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Upstream_closing_after_a_response_does_not_fail_the_next_request(bool announcesClose)
    {
        await using var upstream = new ScriptedUpstream(async x =>
        {
            await x.RespondJsonAsync(UpstreamScripts.EchoJson(x.Request), announcesClose ? "Connection: close\r\n" : "");
            x.Close();
        });
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1")));
        RawResponse first = await client.ReadResponseAsync("the first answer");
        // Give the gateway time to see the upstream's FIN on the idle pooled connection (or not: a retry must cover both).
        await Task.Delay(100);
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("2")));
        RawResponse second = await client.ReadResponseAsync("the second answer, over a fresh upstream connection");

        Assert.Equal(200, first.Status);
        Assert.Null(first.Header("Connection"));
        Assert.Equal(200, second.Status);
        Assert.Equal("2", second.IdJson());
        Assert.Equal(2, upstream.ConnectionsAccepted);
    }

    [Fact]
    public async Task Upstream_closing_mid_json_body_is_502_with_the_id_and_the_client_connection_survives()
    {
        await using var upstream = new ScriptedUpstream(async x =>
        {
            if (x.Request.ConnectionNumber == 1)
            {
                await x.SendAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\":\"2.0\",");
                x.Close();
                return;
            }
            await UpstreamScripts.Echo(x);
        });
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"cut\"")));
        RawResponse failed = await client.ReadResponseAsync("a 502 for the truncated body");
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("\"after\"")));
        RawResponse next = await client.ReadResponseAsync("the next answer on the same connection");

        Assert.Equal(502, failed.Status);
        (int code, string id) = failed.JsonRpcError();
        Assert.Equal(JsonRpcErrorCodes.UpstreamUnavailable, code);
        Assert.Equal("\"cut\"", id);
        Assert.Equal(200, next.Status);
        Assert.Equal("\"after\"", next.IdJson());
    }

    [Fact]
    public async Task Invalid_upstream_status_line_is_502_with_the_id()
    {
        await using var upstream = new ScriptedUpstream(async x =>
        {
            await x.SendAsync("HTTP/1.1 two-hundred OK\r\nContent-Length: 0\r\n\r\n");
            x.Close();
        });
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("77")));
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(502, response.Status);
        (int code, string id) = response.JsonRpcError();
        Assert.Equal(JsonRpcErrorCodes.UpstreamUnavailable, code);
        Assert.Equal("77", id);
    }

    [Fact]
    public async Task Other_paths_are_404_and_other_methods_405_without_reaching_the_upstream()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync($"GET /admin HTTP/1.1\r\nHost: {gateway.Authority}\r\n\r\n");
        RawResponse notFound = await client.ReadResponseAsync("a 404");
        await client.SendAsync($"PUT /mcp HTTP/1.1\r\nHost: {gateway.Authority}\r\n\r\n");
        RawResponse notAllowed = await client.ReadResponseAsync("a 405 on the same connection");

        Assert.Equal(404, notFound.Status);
        Assert.Equal(405, notAllowed.Status);
        Assert.Contains("POST", notAllowed.Header("Allow") ?? "", StringComparison.Ordinal);
        Assert.Empty(upstream.Requests);
    }
}
