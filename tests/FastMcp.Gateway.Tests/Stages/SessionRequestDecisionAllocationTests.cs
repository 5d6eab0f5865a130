using System.Net;
using System.Text;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Stages;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Http;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Deciding a GET or DELETE (PolicyAuthorization.DecideSessionRequest: the session's initialize, with an address and a
/// query condition in the rules) and the per-event check of an open GET stream against a policy reload
/// (Proxy/StreamPolicyWatch.cs) allocate nothing in steady state, picking the allowing rule's masking profile again included.
/// </summary>
public sealed class SessionRequestDecisionAllocationTests
{
    private static readonly List<RuleOptions> Rules =
    [
        new RuleOptions { Name = "revoked", Action = "deny", Subjects = ["mallory"] },
        new RuleOptions { Name = "eu-sessions", Action = "allow", Methods = ["initialize"], Addresses = ["10.0.0.0/8"],
            Query = new() { ["tenant"] = new ArgumentConditionOptions { EqualsValue = "eu" } } },
    ];

    private static readonly RuleOptions ContractorAlice = new() { Name = "contractor-alice", Action = "allow", Subjects = ["alice"], MaskProfile = "contractor" };

    private static void ContractorProfile(Configuration.GatewayOptions o) =>
        o.Masking.Profiles["contractor"] = new Configuration.MaskingProfileOptions { KeepFirst = 0, KeepLast = 0 };

    [Fact]
    public async Task Deciding_a_get_and_checking_its_stream_allocate_nothing()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(UpstreamScripts.Echo, Rules);
        PolicyEngine engine = g.Gateway.Stages.Authorization!.Engine;
        var alice = new Principal("alice", [], [], null, "issuer", DateTimeOffset.MaxValue);
        var address = IPAddress.Parse("10.1.2.3");
        var head = new HttpRequestHead(new HttpLimits());
        Assert.Equal(HttpRejectReason.None, head.Parse(Encoding.ASCII.GetBytes("GET /mcp?tenant=eu HTTP/1.1\r\nHost: a\r\n\r\n")));
        var watch = new StreamPolicyWatch(g.Gateway.Host.Runtime);
        watch.Begin(engine, alice, head, address, "10.1.2.3");
        watch.Add("default", null);

        int allowed = 0;
        for (int i = 0; i < 1_000; i++)
        {
            allowed += PolicyAuthorization.DecideSessionRequest(engine, alice, "default", head.Query, address).Action == PolicyAction.Allow ? 1 : 0;
            allowed += watch.Check() == StreamEndReason.None ? 1 : 0;
        }
        long allocated = ThreadAllocations.Measure(() =>
        {
            for (int i = 0; i < 10_000; i++)
            {
                allowed += PolicyAuthorization.DecideSessionRequest(engine, alice, "default", head.Query, address).Action == PolicyAction.Allow ? 1 : 0;
                allowed += watch.Check() == StreamEndReason.None ? 1 : 0;
            }
        });
        watch.Stop();

        Assert.Equal(0, allocated);
        Assert.True(allowed >= 22_000, $"a decision refused alice during the measurement ({allowed} allowed)");
    }

    [Fact]
    public async Task After_a_reload_the_stream_is_decided_again_once_and_ends_when_the_caller_is_revoked()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(UpstreamScripts.Echo, Rules, ContractorProfile);
        PolicyAuthorization authorization = g.Gateway.Stages.Authorization!;
        var alice = new Principal("alice", [], [], null, "issuer", DateTimeOffset.MaxValue);
        var address = IPAddress.Parse("10.1.2.3");
        var head = new HttpRequestHead(new HttpLimits());
        Assert.Equal(HttpRejectReason.None, head.Parse(Encoding.ASCII.GetBytes("GET /mcp?tenant=eu HTTP/1.1\r\nHost: a\r\n\r\n")));
        PanMasking masking = g.Gateway.Host.Runtime.Masking!;
        var exchange = new Exchange(head) { Masking = masking };
        var watch = new StreamPolicyWatch(g.Gateway.Host.Runtime);
        watch.Begin(authorization.Engine, alice, head, address, "10.1.2.3", exchange);
        watch.Add("default", masking);

        // A reload that still allows alice, by a rule with a profile: the stream goes on, its events masked with that profile
        // from now on, and from then on the new engine is the one compared.
        authorization.Swap(Hosting.GatewayStages.CompilePolicy(new PolicyOptions { Rules = [ContractorAlice, .. Rules] }));
        Assert.Equal(StreamEndReason.None, watch.Check());
        Assert.Same(masking.Profile("contractor"), watch.Masking(0));
        Assert.Same(masking.Profile("contractor"), exchange.Masking);
        Assert.Equal(0, ThreadAllocations.Measure(() => { for (int i = 0; i < 1_000; i++) watch.Check(); }));
        // One that revokes her ends it.
        authorization.Swap(Hosting.GatewayStages.CompilePolicy(new PolicyOptions { Rules = [new RuleOptions { Name = "revoked-alice", Action = "deny", Subjects = ["alice"] }, .. Rules] }));
        Assert.Equal(StreamEndReason.PolicyRevoked, watch.Check());
        watch.Stop();
    }

    [Fact]
    public async Task Under_time_conditions_each_check_decides_again_allocating_nothing_and_ends_the_stream_when_the_window_closes()
    {
        var clock = new ManualPolicyClock(new DateTimeOffset(2030, 3, 4, 17, 0, 0, TimeSpan.Zero));
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "sessions-until-freeze", Action = "allow", Methods = ["initialize"], Addresses = ["10.0.0.0/8"], MaskProfile = "contractor",
                Time = new TimeConditionOptions { NotAfter = "2030-03-04T18:00:00Z", Days = ["mon"], From = "08:00", To = "20:00", TimeZone = "Europe/Berlin" } },
        ];
        await using PolicyGateway g = await PolicyGateway.StartAsync(UpstreamScripts.Echo, rules, ContractorProfile, clock);
        PolicyEngine engine = g.Gateway.Stages.Authorization!.Engine;
        Assert.True(engine.ReadsClock);
        var alice = new Principal("alice", [], [], null, "issuer", DateTimeOffset.MaxValue);
        var head = new HttpRequestHead(new HttpLimits());
        Assert.Equal(HttpRejectReason.None, head.Parse(Encoding.ASCII.GetBytes("GET /mcp HTTP/1.1\r\nHost: a\r\n\r\n")));
        var watch = new StreamPolicyWatch(g.Gateway.Host.Runtime);
        watch.Begin(engine, alice, head, IPAddress.Parse("10.1.2.3"), "10.1.2.3");
        watch.Add("default", null);
        Assert.True(watch.NeedsHeartbeat);

        int allowed = 0;
        for (int i = 0; i < 1_000; i++) allowed += watch.Check() == StreamEndReason.None ? 1 : 0;
        // Each decision picked the rule's profile again.
        Assert.Same(g.Gateway.Host.Runtime.Masking!.Profile("contractor"), watch.Masking(0));
        // (Counted per run: the body runs again when a collection elsewhere made a window inexact.)
        long allocated = ThreadAllocations.Measure(() =>
        {
            int kept = 0;
            for (int i = 0; i < 10_000; i++) kept += watch.Check() == StreamEndReason.None ? 1 : 0;
            return kept;
        }, out int measured);
        Assert.Equal(0, allocated);
        Assert.Equal(1_000, allowed);
        Assert.Equal(10_000, measured);

        // No reload, the same engine: the clock alone closes the window.
        clock.Advance(TimeSpan.FromHours(2));
        Assert.Equal(StreamEndReason.PolicyWindowClosed, watch.Check());
        watch.Stop();
    }
}
