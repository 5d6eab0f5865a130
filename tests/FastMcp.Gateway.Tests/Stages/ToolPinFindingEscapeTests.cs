using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using FastMcp.Testing;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The `tool pins:` finding of a list answer names tools the upstream chose: in the exchange's audit record and in the
/// warn line it shows each name as the CLIs do (PrintableText's escapes, bidi controls included), never a `?` that
/// cannot be told from a real question mark, and never a raw control or bidi character.
/// </summary>
[Collection(LogOutputCollection.Name)]
public sealed class ToolPinFindingEscapeTests
{
    [Fact]
    public async Task A_hostile_tool_name_is_escaped_in_the_finding_of_the_record_and_the_log_line()
    {
        string dir = Directory.CreateTempSubdirectory("fastmcp-pinescape-").FullName;
        try
        {
            // A pins file that pins nothing of the upstream: the hostile tool is a finding (tool-not-pinned).
            string pins = Path.Combine(dir, "pins.json");
            File.WriteAllText(pins, "{\"default\":{}}");
            using var log = new CapturedLog();
            await using PolicyGateway gw = await PolicyGateway.StartAsync(
                x => x.RespondJsonAsync(PolicyGateway.ToolsListResult(x.Request.IdJson(), HostileText.Raw)),
                [new RuleOptions { Name = "list", Action = "allow", Methods = ["tools/list"] }],
                options => options.ToolPins = new ToolPinOptions { Mode = "record", File = pins });
            Assert.Equal(200, (await gw.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", gw.Token("alice"))).Status);

            string[] audit = await gw.StopAndReadAuditAsync();
            string detail = audit.Select(l => JsonDocument.Parse(l).RootElement)
                .Where(r => r.TryGetProperty("detail", out JsonElement d) && d.GetString()!.Contains("tool pins:", StringComparison.Ordinal))
                .Select(r => r.GetProperty("detail").GetString()!).Single();
            Assert.Contains(HostileText.Escaped + " (tool-", detail, StringComparison.Ordinal);
            HostileText.AssertPrintable(detail);

            string[] lines = log.LinesWith("tool pins:");
            string line = Assert.Single(lines);
            Assert.Contains(HostileText.Escaped + " (tool-", line, StringComparison.Ordinal);
            HostileText.AssertPrintable(log.Text);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
