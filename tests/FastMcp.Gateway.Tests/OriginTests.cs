using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>DNS-rebinding protection: foreign Origin or Host never reaches the upstream.</summary>
public sealed class OriginTests
{
    [Theory]
    [InlineData("Origin: http://evil.example\r\n", "{authority}")]
    [InlineData("Origin: http://localhost.evil.example:3000\r\n", "{authority}")]
    [InlineData("", "evil.example:80")]
    public async Task Foreign_origin_or_host_is_403(string originHeader, string host)
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        string body = GatewayUnderTest.ToolsList("1");
        for (int attempt = 1; attempt <= 3; attempt++)
        {
            using RawClient client = await gateway.ConnectAsync();

            await client.SendAsync($"POST /mcp HTTP/1.1\r\nHost: {host.Replace("{authority}", gateway.Authority, StringComparison.Ordinal)}\r\n{originHeader}" +
                $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}");
            RawResponse response = await client.ReadResponseAsync($"the 403 (connection {attempt} of 3)");

            Assert.Equal(403, response.Status);
        }
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task Allowed_origin_passes()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1"), "Origin: http://localhost:6274\r\n"));
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Equal("http://localhost:6274", upstream.SingleRequest().Header("Origin"));
    }
}
