using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// A federated member's answer is read as UTF-8 like a plain upstream's: one in UTF-16 (a NUL between the digits of a
/// card number, which the scanner would not see) or labelled with another charset is refused, never relayed. A call
/// routed to one member is relayed by the same ResponseRelay as a plain route's answer; this guards that it stays so.
/// </summary>
public sealed class FederatedResponseEncodingTests
{
    private const string Pan = "4111111111111111";

    private static Func<UpstreamExchange, Task> Member(string contentType, Encoding toolCallEncoding) => ScriptedMember.Serve("m", async (x, id) =>
    {
        byte[] body = toolCallEncoding.GetBytes(ScriptedMember.Result(id, "{\"content\":[{\"type\":\"text\",\"text\":\"" + Pan + "\"}]}"));
        await x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: {contentType}\r\nContent-Length: {body.Length}\r\n\r\n");
        await x.SendAsync(body);
    });

    [Theory]
    [InlineData("application/json", "utf-16")]
    [InlineData("application/json; charset=utf-7", "utf-8")]
    public async Task A_members_answer_that_is_not_utf8_is_refused(string contentType, string encoding)
    {
        Encoding enc = encoding == "utf-16" ? new UnicodeEncoding(false, false) : new UTF8Encoding(false);
        await using var member = new ScriptedUpstream(Member(contentType, enc));
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }], o =>
        {
            o.Upstreams["a"] = new UpstreamOptions { Url = member.Url, ConnectTimeoutMs = 1_000 };
            o.Upstreams["b"] = new UpstreamOptions { Url = member.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
        });
        string token = gw.Token("alice");
        using RawClient first = await gw.Gateway.ConnectAsync();
        await first.SendAsync(gw.Gateway.Post("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
            $"Authorization: Bearer {token}\r\n", "/mcp/all"));
        string session = (await first.ReadResponseAsync()).Header("Mcp-Session-Id")!;

        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"a__echo","arguments":{}}}""",
            $"Authorization: Bearer {token}\r\nMcp-Session-Id: {session}\r\n", "/mcp/all"));
        RawResponse answer = await client.ReadResponseAsync();

        Assert.DoesNotContain("4\u00001\u0000", Encoding.Latin1.GetString(answer.BodyBytes), StringComparison.Ordinal);
        Assert.DoesNotContain(Pan, answer.Body, StringComparison.Ordinal);
        Assert.Contains("encoding", answer.Body, StringComparison.Ordinal);
    }
}
