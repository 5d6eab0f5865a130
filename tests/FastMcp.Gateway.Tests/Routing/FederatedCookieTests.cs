using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// On a federated path cookies never pass, whatever the members' forwardCookies: the client holds one cookie jar for
/// the path, so a member's cookie would reach the other members, and the gateway's own messages to the members
/// (initialize, lists, streams) carry none, so a member's cookie stickiness could not hold there anyway.
/// </summary>
public sealed class FederatedCookieTests
{
    private const string MemberHeaders = "Set-Cookie: sid=NAME-standing; HttpOnly\r\nset-cookie2: legacy=1\r\nX-Member-Note: kept\r\n";

    private static Func<UpstreamExchange, Task> Member(string name) => ScriptedMember.Serve(name,
        (x, id) => x.RespondJsonAsync(ScriptedMember.Result(id, "{\"content\":[{\"type\":\"text\",\"text\":\"" + name + " ran\"}]}"),
            $"Mcp-Session-Id: s-{name}\r\n" + MemberHeaders.Replace("NAME", name, StringComparison.Ordinal)),
        MemberHeaders.Replace("NAME", name, StringComparison.Ordinal));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_members_set_cookie_is_not_relayed_and_the_clients_cookie_does_not_reach_it(bool membersForwardCookies)
    {
        await using var a = new ScriptedUpstream(Member("a"));
        await using var b = new ScriptedUpstream(Member("b"));
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }], o =>
        {
            o.Upstreams["a"] = new UpstreamOptions { Url = a.Url, ConnectTimeoutMs = 1_000, ForwardCookies = membersForwardCookies };
            o.Upstreams["b"] = new UpstreamOptions { Url = b.Url, ConnectTimeoutMs = 1_000, ForwardCookies = membersForwardCookies };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
            // forwardCookies is refused on an upstream that only federated paths use: plain paths make it meaningful.
            if (membersForwardCookies) o.Routes.AddRange([new RouteOptions { Path = "/mcp/a", Upstream = "a" }, new RouteOptions { Path = "/mcp/b", Upstream = "b" }]);
        });
        string token = gw.Token("alice");
        string cookies = "Cookie: sid=someone-elses\r\ncookie2: legacy=1\r\n";
        using RawClient first = await gw.Gateway.ConnectAsync();
        await first.SendAsync(gw.Gateway.Post("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
            $"Authorization: Bearer {token}\r\n{cookies}", "/mcp/all"));
        RawResponse initialized = await first.ReadResponseAsync();
        Assert.False(initialized.Head.Has("Set-Cookie"), initialized.Head.Raw);
        string session = initialized.Header("Mcp-Session-Id")!;

        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"a__echo","arguments":{}}}""",
            $"Authorization: Bearer {token}\r\nMcp-Session-Id: {session}\r\n{cookies}", "/mcp/all"));
        RawResponse answer = await client.ReadResponseAsync();

        Assert.Equal(200, answer.Status);
        Assert.Contains("a ran", answer.Body, StringComparison.Ordinal);
        Assert.Equal("kept", answer.Header("X-Member-Note"));
        Assert.False(answer.Head.Has("Set-Cookie"), answer.Head.Raw);
        Assert.False(answer.Head.Has("Set-Cookie2"), answer.Head.Raw);
        Assert.DoesNotContain("standing", answer.Head.Raw, StringComparison.Ordinal);
        foreach (UpstreamRequest seen in a.Requests.Concat(b.Requests))
        {
            Assert.False(seen.Head.Has("Cookie") || seen.Head.Has("Cookie2"), seen.Head.Raw);
        }
        Assert.Contains(a.Requests, r => r.Body.Contains("tools/call", StringComparison.Ordinal));
    }
}
