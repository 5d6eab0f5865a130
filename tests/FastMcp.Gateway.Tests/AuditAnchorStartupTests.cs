using System.Net;
using FastMcp.Audit;
using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// What serve does with published checkpoints (audit.anchoring): builds the stages that publish
/// them, and refuses to start on a chain that is behind the newest one, naming the audit setting.
/// Also what it does with the export's cursor beside the chain when that does not parse.
/// </summary>
public sealed class AuditAnchorStartupTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-anchor-start-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private GatewayOptions Options()
    {
        var options = new GatewayOptions { Listen = ["127.0.0.1:0"], Admin = new AdminOptions { Listen = "" } };
        options.Upstream.Url = "http://127.0.0.1:9/mcp";
        options.Identity = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1/mcp", DevKeyDirectory = Path.Combine(_dir, "dev") };
        options.Policy = new PolicyOptions { Rules = [new RuleOptions { Name = "all", Action = "allow" }] };
        options.Audit = new AuditOptions
        {
            Directory = Path.Combine(_dir, "audit"),
            ChainId = "gw",
            Shipping = new ShippingOptions { Target = ShippingTarget.Directory, Directory = Path.Combine(_dir, "archive"), ScanInterval = TimeSpan.FromHours(1) },
        };
        ConfigurationLoader.Validate(options);
        return options;
    }

    private static Task<GatewayStages> CreateAsync(GatewayOptions options) =>
        GatewayStages.CreateAsync(options, [new IPEndPoint(IPAddress.Loopback, 0)], CancellationToken.None);

    [Fact]
    public async Task Serve_refuses_to_continue_a_chain_behind_its_newest_published_checkpoint()
    {
        await using (GatewayStages first = await CreateAsync(Options()))
        {
            Assert.NotNull(first.Audit!.Log.Anchors);
        }
        string[] published = Directory.GetFiles(Path.Combine(_dir, "archive", "gw", "checkpoints"));
        Assert.NotEmpty(published);

        // A restart on the untouched folder continues.
        await using (GatewayStages second = await CreateAsync(Options())) { }

        string chain = Path.Combine(_dir, "audit", "gw");
        File.Delete(Path.Combine(chain, "checkpoint"));
        File.Delete(Path.Combine(chain, "last-seal"));
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => CreateAsync(Options()));
        Assert.Equal("audit", e.Field);
        Assert.Contains("cannot open the audit log: audit chain 'gw'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Refusing to continue the chain", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_export_cursor_that_does_not_parse_is_a_start_error_not_a_crash()
    {
        GatewayOptions options = Options();
        options.Audit.Export = new AuditExportOptions { Url = "http://127.0.0.1:9/ingest" };
        string chain = Path.Combine(_dir, "audit", "gw");
        Directory.CreateDirectory(chain);
        File.WriteAllText(Path.Combine(chain, FastMcp.Audit.Export.ExportCursor.FileName), "garbage\n");

        var e = await Assert.ThrowsAsync<ConfigurationException>(() => CreateAsync(options));
        Assert.Equal("audit", e.Field);
        Assert.Contains("cannot open the audit log: audit export:", e.Message, StringComparison.Ordinal);
        Assert.Contains("delete it to export again", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_witness_url_that_is_not_http_is_named_by_config_check()
    {
        string path = Path.Combine(_dir, "fastmcp.json");
        File.WriteAllText(path, """
            {
              "listen": ["127.0.0.1:8080"],
              "identity": { "mode": "dev", "resource": "http://127.0.0.1:8080/mcp" },
              "policy": { "rules": [{ "name": "all", "action": "allow" }] },
              "audit": { "anchoring": { "witnessUrl": "ftp://witness.example.com/x" } }
            }
            """);
        var stderr = new StringWriter();
        Assert.Equal(2, ConfigCheckCommand.Run(["check", "--config", path], TextWriter.Null, stderr));
        Assert.Contains("'audit.anchoring.witnessUrl'", stderr.ToString(), StringComparison.Ordinal);
    }
}
