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
    public async Task An_absolute_form_target_is_checked_by_its_authority_not_the_Host_header()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o => o.Origins.AllowedHosts = ["allowed.example"]);
        string body = GatewayUnderTest.ToolsList("1");
        using RawClient client = await gateway.ConnectAsync();
        using RawClient allowed = await gateway.ConnectAsync(); // a refusal with the body unread closes the connection

        // RFC 9112 3.2.2: with an absolute-form target the Host header is ignored; the authority is other.example.
        await client.SendAsync($"POST http://other.example/mcp HTTP/1.1\r\nHost: allowed.example\r\n" +
            $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        RawResponse refused = await client.ReadResponseAsync("the 403 for a foreign authority");
        await allowed.SendAsync($"POST http://allowed.example/mcp HTTP/1.1\r\nHost: other.example\r\n" +
            $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        RawResponse passed = await allowed.ReadResponseAsync("the answer for an allowed authority");

        Assert.Equal(403, refused.Status);
        Assert.Equal(200, passed.Status);
        Assert.Equal("allowed.example", upstream.SingleRequest().Header("X-Forwarded-Host"));
    }

    [Fact]
    public async Task Allowed_origin_passes()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        // Origin reaches the upstream only when its forwardHeaders names it (the gateway has checked it already).
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o => o.Upstream.ForwardHeaders = ["Origin"]);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1"), "Origin: http://localhost:6274\r\n"));
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Equal("http://localhost:6274", upstream.SingleRequest().Header("Origin"));
    }
}
