using System.Text;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Http;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The check a stream that ends with its token makes before every event (Proxy/StreamTokenWatch.cs: the stored expiry, the
/// key snapshot, the Authentication stage in force) allocates nothing.
/// </summary>
public sealed class StreamTokenCheckAllocationTests
{
    [Fact]
    public async Task Checking_a_streams_token_before_an_event_allocates_nothing()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(UpstreamScripts.Echo, []);
        var head = new HttpRequestHead(new HttpLimits());
        Assert.Equal(HttpRejectReason.None, head.Parse(Encoding.ASCII.GetBytes($"GET /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {g.Token("alice")}\r\n\r\n")));
        AuthResult verified = await g.Gateway.Stages.Authentication!.AuthenticateAsync(head, certificate: null);
        Assert.True(verified.Succeeded);
        using var deadline = new ConnectionDeadline();
        var watch = new StreamTokenWatch(g.Gateway.Host.Runtime);
        watch.Begin(head, deadline, upstream: null, "127.0.0.1", "alice");

        int live = 0;
        for (int i = 0; i < 1_000; i++) live += watch.Check() == StreamEndReason.None ? 1 : 0;
        long allocated = ThreadAllocations.Measure(() => { for (int i = 0; i < 10_000; i++) live += watch.Check() == StreamEndReason.None ? 1 : 0; });
        watch.Stop();

        Assert.Equal(0, allocated);
        Assert.True(live >= 11_000, $"the token was refused during the measurement ({live} live checks)");
    }
}
