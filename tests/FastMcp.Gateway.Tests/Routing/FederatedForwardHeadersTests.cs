using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// On a federated path no client header field beyond MCP's own and User-Agent reaches a member, whatever the members'
/// forwardHeaders: the gateway's own messages to the members carry none, and a member is one of several servers
/// behind the path. The call forwarded to a member is where a client field could slip through.
/// </summary>
public sealed class FederatedForwardHeadersTests
{
    private static Func<UpstreamExchange, Task> Member(string name) => ScriptedMember.Serve(name,
        (x, id) => x.RespondJsonAsync(ScriptedMember.Result(id, "{\"content\":[{\"type\":\"text\",\"text\":\"" + name + " ran\"}]}"), $"Mcp-Session-Id: s-{name}\r\n"));

    [Fact]
    public async Task A_forwarded_call_carries_none_of_the_clients_other_fields_even_when_the_member_would_pass_them()
    {
        await using var a = new ScriptedUpstream(Member("a"));
        await using var b = new ScriptedUpstream(Member("b"));
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }], o =>
        {
            o.Upstreams["a"] = new UpstreamOptions { Url = a.Url, ConnectTimeoutMs = 1_000, ForwardHeaders = ["*"] };
            o.Upstreams["b"] = new UpstreamOptions { Url = b.Url, ConnectTimeoutMs = 1_000, ForwardHeaders = ["*"] };
            // forwardHeaders is refused on an upstream only federated paths use: plain paths make it meaningful.
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }, new RouteOptions { Path = "/mcp/a", Upstream = "a" },
                new RouteOptions { Path = "/mcp/b", Upstream = "b" }];
        });
        string token = gw.Token("alice");
        const string fields = "X-Api-Key: someone-elses-key\r\nX-MCP-Toolsets: repos\r\nUser-Agent: agent/1\r\n";
        using RawClient first = await gw.Gateway.ConnectAsync();
        await first.SendAsync(gw.Gateway.Post("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
            $"Authorization: Bearer {token}\r\n{fields}", "/mcp/all"));
        RawResponse initialized = await first.ReadResponseAsync();
        string session = initialized.Header("Mcp-Session-Id")!;

        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"a__echo","arguments":{}}}""",
            $"Authorization: Bearer {token}\r\nMcp-Session-Id: {session}\r\n{fields}", "/mcp/all"));
        RawResponse answer = await client.ReadResponseAsync();

        Assert.Equal(200, answer.Status);
        Assert.Contains("a ran", answer.Body, StringComparison.Ordinal);
        UpstreamRequest call = Assert.Single(a.Requests, r => r.Body.Contains("tools/call", StringComparison.Ordinal));
        Assert.Equal("agent/1", call.Header("User-Agent"));
        foreach (UpstreamRequest seen in a.Requests.Concat(b.Requests))
        {
            Assert.False(seen.Head.Has("X-Api-Key") || seen.Head.Has("X-MCP-Toolsets"), seen.Head.Raw);
        }
    }
}
