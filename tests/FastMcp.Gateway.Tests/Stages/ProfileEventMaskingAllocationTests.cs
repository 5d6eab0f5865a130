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
/// Deciding a call and picking the profile its allow or require_approval rule names is a dictionary lookup, allocating nothing.
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

    [Fact]
    public async Task Deciding_a_call_and_picking_its_allow_or_require_approval_rules_profile_allocates_nothing()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(UpstreamScripts.Echo,
        [
            new RuleOptions { Name = "refunds", Action = "require_approval", Methods = ["tools/call"], Names = ["refund"], MaskProfile = "contractor" },
            new RuleOptions { Name = "all", Action = "allow", MaskProfile = "contractor" },
        ], o => o.Masking.Profiles["contractor"] = new MaskingProfileOptions { KeepFirst = 0, KeepLast = 0 });
        PanMasking masking = g.Gateway.Host.Runtime.Masking!;
        PolicyAuthorization authorization = g.Gateway.Stages.Authorization!;
        var carol = new FastMcp.Identity.Principal("carol", [], [], null, "issuer", DateTimeOffset.MaxValue);
        using var scratch = new PooledBufferWriter(256);
        var refund = new ReadOnlySequence<byte>("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"refund","arguments":{"order":7}}}"""u8.ToArray());
        var lookup = new ReadOnlySequence<byte>("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"lookup","arguments":{"order":7}}}"""u8.ToArray());
        Assert.Equal(FastMcp.Mcp.McpInspectError.None, FastMcp.Mcp.McpInspector.Inspect(refund, out FastMcp.Mcp.McpCall refundCall));
        Assert.Equal(FastMcp.Mcp.McpInspectError.None, FastMcp.Mcp.McpInspector.Inspect(lookup, out FastMcp.Mcp.McpCall lookupCall));
        PanMasking contractor = masking.Profile("contractor")!;

        int Pick(int calls)
        {
            int picked = 0;
            for (int i = 0; i < calls; i++)
            {
                PolicyDecision held = authorization.Decide(carol, refundCall, refund, scratch, "default", default, null);
                PolicyDecision allowed = authorization.Decide(carol, lookupCall, lookup, scratch, "default", default, null);
                if (held.Action == PolicyAction.RequireApproval && PanMasking.TryPick(masking, PanMasking.ProfileFor(held), out PanMasking? h) && h == contractor) picked++;
                if (allowed.Action == PolicyAction.Allow && PanMasking.TryPick(masking, PanMasking.ProfileFor(allowed), out PanMasking? a) && a == contractor) picked++;
            }
            return picked;
        }

        Assert.Equal(2_000, Pick(1_000));
        long allocated = ThreadAllocations.Measure(() => Pick(10_000), out int measured);

        Assert.Equal(20_000, measured);
        Assert.Equal(0, allocated);
    }
}
