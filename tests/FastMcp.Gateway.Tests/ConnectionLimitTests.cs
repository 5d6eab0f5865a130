using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// 21,000 idle sockets took every file descriptor and shut legitimate callers out. Connections are capped
/// (limits.maxConnections: one more gets a 503 and is closed) and a new connection has only
/// timeouts.firstRequestMs, shorter than the keep-alive, to start its first request.
/// </summary>
public sealed class ConnectionLimitTests
{
    [Fact]
    public async Task A_connection_over_the_cap_gets_a_503_and_a_freed_slot_serves_again()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o => o.Limits.MaxConnections = 2);
        using RawClient first = await gateway.ConnectAsync();
        using RawClient second = await gateway.ConnectAsync();
        // Both slots are taken once a request has gone through each.
        await first.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1")));
        Assert.Equal(200, (await first.ReadResponseAsync()).Status);
        await second.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("2")));
        Assert.Equal(200, (await second.ReadResponseAsync()).Status);

        using (RawClient third = await gateway.ConnectAsync())
        {
            RawResponse refused = await third.ReadResponseAsync("the 503 for a connection over the cap");
            Assert.Equal(503, refused.Status);
            Assert.Contains("too many open connections", refused.Body);
            Assert.True(await third.GatewayClosesAsync(), "the refused connection is closed");
        }

        // Connections already in are untouched.
        await first.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("3")));
        Assert.Equal(200, (await first.ReadResponseAsync()).Status);

        // Once one leaves, its slot serves a newcomer.
        second.Dispose();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        int status = 0;
        while (status != 200 && DateTime.UtcNow < deadline)
        {
            using RawClient next = await gateway.ConnectAsync();
            await next.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("4")));
            status = (await next.ReadResponseAsync()).Status;
            if (status != 200) await Task.Delay(50);
        }
        Assert.Equal(200, status);
    }

    [Fact]
    public async Task A_connection_that_never_starts_a_request_is_closed_after_the_first_request_deadline()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o =>
        {
            o.Timeouts.FirstRequestMs = 300;
            o.Timeouts.KeepAliveMs = 60_000;
        });
        using RawClient silent = await gateway.ConnectAsync();
        Assert.True(await silent.GatewayClosesAsync(TimeSpan.FromSeconds(10)), "a silent new connection is closed after firstRequestMs");

        // After a first request, the (longer) keep-alive applies.
        using RawClient active = await gateway.ConnectAsync();
        await active.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1")));
        Assert.Equal(200, (await active.ReadResponseAsync()).Status);
        Assert.False(await active.GatewayClosesAsync(TimeSpan.FromSeconds(1)), "a connection that has served a request waits the keep-alive");
    }
}
