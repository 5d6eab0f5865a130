using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// Idle sockets without tokens could take every slot under limits.maxConnections and shut out callers with
/// tokens. limits.reservedAuthenticatedConnections keeps slots that only a connection presenting a valid token may
/// hold: once the unauthenticated share is full, a newcomer must authenticate with its first request or it is
/// answered 503 and closed; a socket idling on the reserve without a token gives its slot up to a newcomer.
/// </summary>
public sealed class ReservedConnectionTests : IAsyncLifetime
{
    private PolicyGateway _gw = null!;
    private readonly List<RawClient> _idle = [];

    public async Task InitializeAsync() => _gw = await PolicyGateway.StartAsync(
        x => x.RespondJsonAsync(PolicyGateway.ToolsListResult(x.Request.IdJson(), "echo")),
        [new RuleOptions { Name = "all", Action = "allow" }],
        o =>
        {
            o.Limits.MaxConnections = 4;
            o.Limits.ReservedAuthenticatedConnections = 2;
            o.Timeouts.FirstRequestMs = 60_000;
        });

    public async Task DisposeAsync()
    {
        foreach (RawClient c in _idle) c.Dispose();
        await _gw.DisposeAsync();
    }

    /// <summary>Opens idle sockets without tokens in every slot (the shared part and the reserve).</summary>
    private async Task FillEverySlotWithIdleSocketsAsync()
    {
        for (int i = 0; i < 4; i++) _idle.Add(await _gw.Gateway.ConnectAsync());
        for (int i = 0; i < 200 && _gw.Gateway.Host.OpenConnections < 4; i++) await Task.Delay(20);
        Assert.Equal(4, _gw.Gateway.Host.OpenConnections);
    }

    /// <summary>One idle socket on the reserve made room for the one newcomer; the shared part's idle sockets are left alone.</summary>
    private async Task AssertExactlyOneIdleSocketWasEvictedAsync()
    {
        int closed = 0;
        foreach (RawClient idle in _idle)
            if (await idle.GatewayClosesAsync(TimeSpan.FromMilliseconds(200))) closed++;
        Assert.Equal(1, closed);
    }

    [Fact]
    public async Task With_every_slot_taken_by_idle_sockets_a_caller_with_a_token_is_served()
    {
        await FillEverySlotWithIdleSocketsAsync();

        using RawClient client = await _gw.Gateway.ConnectAsync();
        string auth = $"Authorization: Bearer {_gw.Token("alice", "dev")}\r\n";
        await client.SendAsync(_gw.Gateway.Post(GatewayUnderTest.ToolsList("1"), auth));
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        // The slot stays its own for the next requests on the connection.
        await client.SendAsync(_gw.Gateway.Post(GatewayUnderTest.ToolsList("2"), auth));
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        await AssertExactlyOneIdleSocketWasEvictedAsync();
    }

    [Theory]
    [InlineData("")]
    [InlineData("Authorization: Bearer not-a-token\r\n")]
    public async Task With_every_slot_taken_by_idle_sockets_a_caller_without_a_valid_token_gets_503_and_is_closed(string authHeader)
    {
        await FillEverySlotWithIdleSocketsAsync();

        using RawClient client = await _gw.Gateway.ConnectAsync();
        await client.SendAsync(_gw.Gateway.Post(GatewayUnderTest.ToolsList("3"), authHeader));
        RawResponse refused = await client.ReadResponseAsync("the 503 for a connection on the reserve without a token");
        Assert.Equal(503, refused.Status);
        Assert.Contains("reserved for authenticated callers", refused.Body);
        Assert.True(await client.GatewayClosesAsync(), "the refused connection is closed");
        Assert.Empty(_gw.Upstream.Requests);
        await AssertExactlyOneIdleSocketWasEvictedAsync();
    }

    [Fact]
    public async Task Below_the_shared_limit_a_caller_without_a_token_gets_the_usual_401()
    {
        using RawClient client = await _gw.Gateway.ConnectAsync();
        await client.SendAsync(_gw.Gateway.Post(GatewayUnderTest.ToolsList("4")));
        Assert.Equal(401, (await client.ReadResponseAsync()).Status);
    }

    [Fact]
    public async Task Authenticated_connections_do_not_use_up_the_shared_slots()
    {
        string auth = $"Authorization: Bearer {_gw.Token("alice", "dev")}\r\n";
        var authenticated = new List<RawClient>();
        try
        {
            // Three authenticated connections: two taken from the shared part, then moved off it, one on the reserve.
            for (int i = 0; i < 3; i++)
            {
                RawClient c = await _gw.Gateway.ConnectAsync();
                authenticated.Add(c);
                await c.SendAsync(_gw.Gateway.Post(GatewayUnderTest.ToolsList("1" + i), auth));
                Assert.Equal(200, (await c.ReadResponseAsync()).Status);
            }
            // One slot is left in all; a caller without a token may still take it, since the shared part is free.
            using RawClient anonymous = await _gw.Gateway.ConnectAsync();
            await anonymous.SendAsync(_gw.Gateway.Post(GatewayUnderTest.ToolsList("5")));
            Assert.Equal(401, (await anonymous.ReadResponseAsync()).Status);
        }
        finally
        {
            foreach (RawClient c in authenticated) c.Dispose();
        }
    }
}
