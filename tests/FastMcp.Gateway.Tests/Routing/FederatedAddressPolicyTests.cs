using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>On a federated path a member's call is decided on the client address of the request that carries it (rules with "addresses").</summary>
public sealed class FederatedAddressPolicyTests
{
    private static Func<UpstreamExchange, Task> Member(string name) => ScriptedMember.Serve(name,
        (x, id) => x.RespondJsonAsync(ScriptedMember.Result(id, "{\"content\":[{\"type\":\"text\",\"text\":\"" + name + " ran\"}]}"), $"Mcp-Session-Id: s-{name}\r\n"));

    /// <summary>A gateway federating a and b on /mcp/all behind a trusted proxy (127.0.0.1), with a session initialized from the CI network.</summary>
    private static async Task<(PolicyGateway Gateway, string Token, string Session)> StartFederatedAsync(ScriptedUpstream a, ScriptedUpstream b, List<RuleOptions> rules)
    {
        PolicyGateway gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, rules, o =>
        {
            o.ClientAddress.TrustedProxies = ["127.0.0.1"];
            o.Upstreams["a"] = new UpstreamOptions { Url = a.Url, ConnectTimeoutMs = 1_000 };
            o.Upstreams["b"] = new UpstreamOptions { Url = b.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
        });
        string token = gw.Token("ci-bot");
        RawResponse initialized = await gw.PostAsync(
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
            token, "X-Forwarded-For: 10.20.3.4\r\n", "/mcp/all");
        return (gw, token, initialized.Header("Mcp-Session-Id")!);
    }

    [Fact]
    public async Task A_members_tool_allowed_only_from_the_ci_network_is_refused_from_elsewhere()
    {
        await using var a = new ScriptedUpstream(Member("a"));
        await using var b = new ScriptedUpstream(Member("b"));
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "protocol", Action = "allow", Methods = ["initialize", "notifications/*", "ping", "tools/list"] },
            new RuleOptions { Name = "echo-from-ci", Action = "allow", Methods = ["tools/call"], Names = ["echo"], Upstreams = ["a"], Addresses = ["10.20.0.0/16"] },
        ];
        (PolicyGateway gw, string token, string session) = await StartFederatedAsync(a, b, rules);
        await using PolicyGateway _ = gw;
        const string call = """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"a__echo","arguments":{}}}""";

        RawResponse outside = await gw.PostAsync(call, token, $"Mcp-Session-Id: {session}\r\nX-Forwarded-For: 203.0.113.9\r\n", "/mcp/all");
        Assert.DoesNotContain(a.Requests, r => r.Body.Contains("tools/call", StringComparison.Ordinal));
        RawResponse inside = await gw.PostAsync(call, token, $"Mcp-Session-Id: {session}\r\nX-Forwarded-For: 10.20.3.4\r\n", "/mcp/all");

        Assert.Equal((-32001, "2"), outside.JsonRpcError());
        Assert.Contains("a ran", inside.Body, StringComparison.Ordinal);
        Assert.Single(a.Requests, r => r.Body.Contains("tools/call", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_message_fanned_out_to_every_member_is_decided_on_the_client_address_per_member()
    {
        await using var a = new ScriptedUpstream(Member("a"));
        await using var b = new ScriptedUpstream(Member("b"));
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "protocol", Action = "allow", Methods = ["initialize", "ping", "tools/list"] },
            new RuleOptions { Name = "notifications-from-ci", Action = "allow", Methods = ["notifications/*"], Addresses = ["10.20.0.0/16"] },
        ];
        (PolicyGateway gw, string token, string session) = await StartFederatedAsync(a, b, rules);
        await using PolicyGateway _ = gw;
        static int Notified(ScriptedUpstream member) => member.Requests.Count(r => r.Body.Contains("notifications/roots/list_changed", StringComparison.Ordinal));
        const string changed = """{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}""";

        await gw.PostAsync(changed, token, $"Mcp-Session-Id: {session}\r\nX-Forwarded-For: 203.0.113.9\r\n", "/mcp/all");
        Assert.Equal(0, Notified(a) + Notified(b));
        await gw.PostAsync(changed, token, $"Mcp-Session-Id: {session}\r\nX-Forwarded-For: 10.20.3.4\r\n", "/mcp/all");

        Assert.Equal(1, Notified(a));
        Assert.Equal(1, Notified(b));
    }
}
