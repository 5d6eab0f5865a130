using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// A stdio upstream's resource updates reach the client through the stdio bridge's streams and the same relay: they are
/// decided as resources/subscribe of their URI on that upstream, as an http upstream's are.
/// </summary>
public sealed class StdioResourceUpdatePolicyTests
{
    /// <summary>A stdio server that, on any call, tells the client two resources changed and then answers.</summary>
    private const string StdioServer = """
        const lines = require('readline').createInterface({ input: process.stdin });
        const send = m => process.stdout.write(JSON.stringify(m) + '\n');
        lines.on('line', line => {
          const m = JSON.parse(line);
          if (m.id === undefined) return;
          if (m.method === 'initialize') {
            send({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: '2025-06-18', capabilities: { resources: { subscribe: true } }, serverInfo: { name: 'stdio-test', version: '1' } } });
            return;
          }
          for (const uri of ['file:///public/a', 'file:///etc/passwd']) send({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri } });
          send({ jsonrpc: '2.0', id: m.id, result: { content: [{ type: 'text', text: 'done' }] } });
        });
        """;

    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    [Fact]
    public async Task A_stdio_servers_update_the_caller_may_not_subscribe_to_is_withheld()
    {
        using var server = new StdioServerFolder(StdioServer);
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo,
        [
            new RuleOptions { Name = "public-on-tool", Action = "allow", Methods = ["resources/subscribe"], Names = ["file:///public/*"], Upstreams = ["tool"] },
            new RuleOptions { Name = "calls", Action = "allow", Methods = ["initialize", "tools/call", "notifications/*"] },
        ], o => server.AddTo(o));
        string alice = gw.Token("alice");
        RawResponse opened = await gw.PostAsync(Initialize, alice, "", StdioServerFolder.Route);
        Assert.Equal(200, opened.Status);
        string session = opened.Header("Mcp-Session-Id")!;

        RawResponse call = await gw.PostAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"watch","arguments":{}}}""", alice,
            $"Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-06-18\r\n", StdioServerFolder.Route);

        Assert.Equal(200, call.Status);
        Assert.Contains("file:///public/a", call.Body);
        Assert.DoesNotContain("passwd", call.Body);
        Assert.Contains("\"done\"", call.Body);
        JsonElement denial = Assert.Single((await gw.StopAndReadAuditAsync()).Select(r => JsonDocument.Parse(r).RootElement.Clone()),
            r => r.GetProperty("type").GetString() == "Denied");
        Assert.Equal("file:///etc/passwd", denial.GetProperty("component").GetProperty("target").GetString());
        Assert.Equal("tool", denial.GetProperty("component").GetProperty("upstreamName").GetString());
    }
}
