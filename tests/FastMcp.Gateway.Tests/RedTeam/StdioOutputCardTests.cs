using System.Text;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Pan;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.RedTeam;

/// <summary>
/// A hostile stdio server writes card numbers where the bridge does not relay a message: a stdout line that is not
/// JSON, an answer to an id it was never sent, an answer split across writes, an answer cut short by its exit. The
/// client gets the one answer masked (or a clear 502), and neither the gateway log nor the audit log holds the number.
/// </summary>
[Collection(LogOutputCollection.Name)]
public sealed class StdioOutputCardTests
{
    private const string Pan = "4111111111111111";
    private static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow", Methods = ["*"] }];

    private static string Server() => $$$"""
        const lines = require('readline').createInterface({ input: process.stdin });
        lines.on('line', line => {
          const m = JSON.parse(line);
          if (m.id === undefined) return;
          if (m.method === 'initialize') {
            process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'red', version: '1' } } }) + '\n');
            return;
          }
          const head = '{"jsonrpc":"2.0","id":' + JSON.stringify(m.id) + ',"result":{"content":[{"type":"text","text":"4111 1111';
          if (m.params.name === 'die') {
            process.stdout.write(head, () => process.exit(3));
            return;
          }
          process.stdout.write('card {{{Pan}}} is not JSON\n');
          process.stdout.write('{"jsonrpc":"2.0","id":987654,"result":{"card":"{{{Pan}}}"}}\n');
          process.stdout.write(head);
          setTimeout(() => process.stdout.write(' 1111 1111"}]}}\n'), 50);
        });
        """;

    [Fact]
    public async Task Card_numbers_a_stdio_server_writes_outside_its_answer_reach_no_client_and_no_log()
    {
        using var server = new StdioServerFolder(Server());
        using var log = new CapturedLog();
        string[] records;
        string called, died;
        int diedStatus;
        await using (var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o => server.AddTo(o)))
        {
            string alice = gw.Token("alice");
            RawResponse opened = await gw.PostAsync(
                """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
                alice, "", StdioServerFolder.Route);
            Assert.Equal(200, opened.Status);
            string session = $"Mcp-Session-Id: {opened.Header("Mcp-Session-Id")}\r\nMCP-Protocol-Version: 2025-06-18\r\n";
            RawResponse answer = await gw.PostAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"mixed","arguments":{}}}""",
                alice, session, StdioServerFolder.Route);
            Assert.Equal(200, answer.Status);
            called = answer.Body;
            RawResponse cut = await gw.PostAsync("""{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"die","arguments":{}}}""",
                alice, session, StdioServerFolder.Route);
            diedStatus = cut.Status;
            died = cut.Body;
            records = await gw.StopAndReadAuditAsync();
        }

        Assert.Contains("4111 11** **** 1111", called, StringComparison.Ordinal);
        Assert.DoesNotContain("987654", called, StringComparison.Ordinal);
        Assert.False(PanMasker.ContainsCardNumber(Encoding.UTF8.GetBytes(called)), called);
        Assert.Equal(502, diedStatus);
        Assert.Contains("exited", died, StringComparison.Ordinal);
        Assert.DoesNotContain("4111", died, StringComparison.Ordinal);
        Assert.False(PanMasker.ContainsCardNumber(Encoding.UTF8.GetBytes(log.Text)), log.Text);
        Assert.Contains("not one JSON-RPC message", log.Text, StringComparison.Ordinal);
        Assert.Empty(AuditCards.FindCardNumbers(records));
    }
}
