using System.Buffers;
using System.Text;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Http;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// An event masked with the profile an exchange picked (a GET stream's allowing rule's) goes through the response masking
/// in force, which hands it to the profile: per event that is one reference compare more, and nothing is allocated.
/// </summary>
public sealed class ProfileEventMaskingAllocationTests
{
    private static readonly byte[] CardEvent = Encoding.UTF8.GetBytes(
        "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"card 4111111111111111\"}}\n\n");

    [Fact]
    public async Task Masking_an_event_with_a_picked_profile_allocates_nothing_per_event()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }],
            o => o.Masking.Profiles["contractor"] = new MaskingProfileOptions { KeepFirst = 0, KeepLast = 0 });
        PanMasking masking = g.Gateway.Host.Runtime.Masking!;
        var exchange = new Exchange(new HttpRequestHead(new HttpLimits())) { Masking = masking.Profile("contractor") };
        using var message = new PooledBufferWriter(1024);
        using var buffers = new TransformBuffers();

        int Mask(int events)
        {
            int masked = 0;
            for (int i = 0; i < events; i++)
            {
                message.Clear();
                message.Write(CardEvent);
                exchange.ResponseCards.Reset();
                if (masking.Apply(exchange, message, isEvent: true, buffers)) masked++;
            }
            return masked;
        }

        Assert.Equal(1_000, Mask(1_000));
        Assert.Contains("card ****************", Encoding.UTF8.GetString(message.WrittenSpan));
        long allocated = ThreadAllocations.Measure(() => Mask(10_000), out int measured);

        Assert.Equal(10_000, measured);
        Assert.Equal(0, allocated);
    }
}
