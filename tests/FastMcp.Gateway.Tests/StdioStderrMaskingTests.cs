using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// A stdio server's stderr reaches the gateway log, which operators read: card numbers in it are masked in every
/// digit script the masker reads, and a line cut at its length bound does not keep the head of a card number.
/// </summary>
[Collection(LogOutputCollection.Name)]
public sealed class StdioStderrMaskingTests
{
    private static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow", Methods = ["*"] }];

    private const string Fullwidth = "４１１１ １１１１ １１１１ １１１１";
    private const string ArabicIndic = "٤١١١١١١١١١١١١١١١";
    private const string Ascii = "5500005555555559";

    /// <summary>Answers every request; on tools/call first writes card numbers to stderr, as a server logging its input would.</summary>
    private static string Server() => $$"""
        const lines = require('readline').createInterface({ input: process.stdin });
        lines.on('line', line => {
          const m = JSON.parse(line);
          if (m.id === undefined) return;
          if (m.method === 'tools/call') {
            process.stderr.write('charging {{Fullwidth}} now\n');
            process.stderr.write('charging {{ArabicIndic}} now\n');
            process.stderr.write('charging {{Ascii}} now\n');
            // The line bound (2048 bytes) falls after the first 15 digits of the card number.
            process.stderr.write('x'.repeat({{StderrLogBound - 15}}) + '{{Ascii}} tail\n');
            process.stderr.write('done-{{"marker"}}\n');
          }
          const result = m.method === 'initialize'
            ? { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'stderr-test', version: '1' } }
            : { content: [] };
          process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result }) + '\n');
        });
        """;

    private const int StderrLogBound = 2048;

    [Fact]
    public async Task Card_numbers_a_stdio_server_writes_to_stderr_reach_the_log_masked_in_every_digit_script()
    {
        Assert.Equal(StderrLogBound, Upstream.Stdio.StderrLog.MaxLineBytes);
        using var server = new StdioServerFolder(Server());
        var lines = new StringWriter();
        TextWriter previous = Log.Output;
        Log.Output = TextWriter.Synchronized(lines);
        try
        {
            await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o => server.AddTo(o));
            string alice = gw.Token("alice");
            RawResponse opened = await gw.PostAsync(
                """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
                alice, "", StdioServerFolder.Route);
            Assert.Equal(200, opened.Status);
            string session = opened.Header("Mcp-Session-Id")!;
            RawResponse called = await gw.PostAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"charge","arguments":{}}}""",
                alice, $"Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-06-18\r\n", StdioServerFolder.Route);
            Assert.Equal(200, called.Status);

            string text = "";
            for (int i = 0; i < 400 && !text.Contains("done-marker", StringComparison.Ordinal); i++)
            {
                await Task.Delay(25);
                text = lines.ToString();
            }
            Assert.Contains("done-marker", text, StringComparison.Ordinal);

            Assert.DoesNotContain(Fullwidth, text, StringComparison.Ordinal);
            Assert.Contains("charging ４１１１ １１＊＊ ＊＊＊＊ １１１１ now", text, StringComparison.Ordinal);
            Assert.DoesNotContain(ArabicIndic, text, StringComparison.Ordinal);
            Assert.DoesNotContain(Ascii, text, StringComparison.Ordinal);
            Assert.Contains("charging 550000******5559 now", text, StringComparison.Ordinal);
            // The cut line keeps no digit of the card number it cut: its head alone is no card number the masker finds.
            Assert.DoesNotContain(Ascii[..15], text, StringComparison.Ordinal);
            Assert.Contains("xxxx [line cut at 2048 bytes]", text, StringComparison.Ordinal);
        }
        finally
        {
            Log.Output = previous;
        }
    }
}
