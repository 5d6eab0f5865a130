using System.Net;
using System.Text;
using FastMcp.Identity;
using static FastMcp.Policy.Tests.Support;

namespace FastMcp.Policy.Tests;

/// <summary>"addresses": a rule applies only to calls from one of its networks (the client address the gateway resolved).</summary>
public sealed class AddressConditionTests
{
    private static readonly Principal Bot = User("ci-bot");

    private static PolicyDecision Deploy(PolicyEngine engine, string? address) =>
        engine.Decide(new PolicyRequest(Bot, "tools/call"u8, "deploy"u8, default) { Address = address is null ? null : IPAddress.Parse(address) });

    private static PolicyEngine CiOnly(params string[] addresses) =>
        Compile(Rule("deploy-from-ci", "allow", r => { r.Names = ["deploy"]; r.Addresses = [.. addresses]; }));

    [Theory]
    [InlineData("10.20.0.0", true)]
    [InlineData("10.20.255.255", true)]
    [InlineData("10.21.0.0", false)]
    [InlineData("10.19.255.255", false)]
    [InlineData("::ffff:10.20.7.1", true)]   // IPv4-mapped IPv6 matches the IPv4 range
    [InlineData("::ffff:10.21.7.1", false)]
    [InlineData("2001:db8:20::1", true)]
    [InlineData("2001:db8:20:ffff:ffff:ffff:ffff:ffff", true)]
    [InlineData("2001:db8:21::1", false)]
    [InlineData("192.0.2.7", true)]          // the single address
    [InlineData("192.0.2.8", false)]
    [InlineData("2001:db8::7", true)]         // a single IPv6 address
    [InlineData("2001:db8::8", false)]
    public void Matches_the_cidrs_and_single_addresses_of_both_families(string address, bool allowed)
    {
        PolicyEngine engine = CiOnly("10.20.0.0/16", "2001:db8:20::/48", "192.0.2.7", "2001:db8::7");
        Assert.Equal(allowed ? PolicyAction.Allow : PolicyAction.Deny, Deploy(engine, address).Action);
    }

    [Fact]
    public void A_range_written_as_ipv4_mapped_ipv6_matches_ipv4_clients()
    {
        PolicyEngine engine = CiOnly("::ffff:10.20.0.0/112");
        Assert.Equal(PolicyAction.Allow, Deploy(engine, "10.20.3.4").Action);
        Assert.Equal(PolicyAction.Allow, Deploy(engine, "::ffff:10.20.3.4").Action);
        Assert.Equal(PolicyAction.Deny, Deploy(engine, "10.21.3.4").Action);
    }

    [Fact]
    public void An_unknown_address_matches_no_allow_rule_and_every_deny_rule_that_sets_addresses()
    {
        PolicyEngine engine = Compile(
            Rule("block-guest-net", "deny", r => r.Addresses = ["198.51.100.0/24"]),
            Rule("deploy-from-ci", "allow", r => { r.Names = ["deploy"]; r.Addresses = ["10.20.0.0/16"]; }),
            Rule("status", "allow", r => r.Names = ["status"]));
        Assert.Equal("block-guest-net", Deploy(engine, null).Rule?.Name);
        Assert.Equal("block-guest-net", engine.Decide(new PolicyRequest(Bot, "tools/call"u8, "status"u8, default)).Rule?.Name);
        Assert.Equal("status", engine.Decide(new PolicyRequest(Bot, "tools/call"u8, "status"u8, default) { Address = IPAddress.Parse("10.0.0.1") }).Rule?.Name);
    }

    [Fact]
    public void Visibility_decides_on_the_address_of_the_list_request()
    {
        PolicyEngine engine = CiOnly("10.20.0.0/16");
        byte[] method = Encoding.UTF8.GetBytes("tools/call"), name = Encoding.UTF8.GetBytes("deploy");
        Assert.True(engine.IsVisible(Bot, method, name, null, default, IPAddress.Parse("10.20.1.1")));
        Assert.False(engine.IsVisible(Bot, method, name, null, default, IPAddress.Parse("10.30.1.1")));
        Assert.False(engine.IsVisible(Bot, method, name, null, default, null));
    }

    [Theory]
    [InlineData("10.20.0.1/16")]     // host bits set
    [InlineData("2001:db8::1/32")]
    [InlineData("10.20.0.0/33")]
    [InlineData("10.20.0.0/")]
    [InlineData("ci-network")]
    [InlineData("10.20.1")]          // read by the socket library as 10.20.0.1
    [InlineData("010.0.0.1")]        // read by the socket library as octal, 8.0.0.1
    [InlineData("10.20/16")]
    [InlineData("")]
    public void An_entry_that_is_no_address_or_cidr_is_refused_naming_its_position(string entry)
    {
        var ex = Assert.Throws<PolicyException>(() => CiOnly("10.0.0.0/8", entry));
        Assert.Equal("deploy-from-ci", ex.RuleName);
        Assert.Equal("addresses[1]", ex.Field);
        Assert.Contains("not an address or a CIDR", ex.Message);
    }

    [Fact]
    public void Server_request_rules_refuse_addresses()
    {
        var ex = Assert.Throws<PolicyException>(() => PolicyEngine.Compile(new PolicyOptions
        {
            Rules = [Rule("all", "allow")],
            ServerRequests = new ServerRequestPolicyOptions { Rules = [Rule("sampling-from-ci", "allow", r => r.Addresses = ["10.20.0.0/16"])] },
        }));
        Assert.Equal("serverRequests", ex.Section);
        Assert.Equal("addresses", ex.Field);
    }
}
