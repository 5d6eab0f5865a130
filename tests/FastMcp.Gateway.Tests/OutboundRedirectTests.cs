using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// The gateway's own outbound clients follow no redirect: against a real redirecting listener whose target records whatever
/// reaches it, the OTLP exporter counts the batch as failed, and the CLI's admin clients (approvals, tools pin) stop with an
/// error naming the URL and the status; nothing (spans, a decision, an admin token) reaches the target.
/// </summary>
public sealed class OutboundRedirectTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-redirect-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string TokenFile()
    {
        string path = Path.Combine(_dir, "token");
        File.WriteAllText(path, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ.c2ln\n");
        return path;
    }

    [Fact]
    public async Task The_otlp_exporter_does_not_follow_a_redirect_and_counts_the_spans_failed()
    {
        using var trap = new RedirectTrap(307);
        await using PolicyGateway gw = await PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"tools\":[]}}"), [new RuleOptions { Name = "all", Action = "allow" }], o =>
        {
            o.Tracing.OtlpEndpoint = trap.Url + "/v1/traces";
            o.Tracing.ScheduleDelayMs = 50;
            o.Tracing.SampleRatio = 1;
        });
        Assert.Equal(200, (await gw.PostAsync(GatewayUnderTest.ToolsList("1"), gw.Token("alice"))).Status);

        long failed = 0;
        for (int wait = 0; wait < 300 && failed == 0; wait++)
        {
            failed = await AdminGet.MetricAsync(gw.Gateway.AdminEndpoint, "fastmcp_tracing_spans_failed_total");
            if (failed == 0) await Task.Delay(50);
        }
        Assert.True(failed > 0, "the redirected batch is counted failed");
        Assert.Equal(0, await AdminGet.MetricAsync(gw.Gateway.AdminEndpoint, "fastmcp_tracing_spans_exported_total"));
        // Refused at once, not retried (a redirect is not a receiver that may recover).
        Assert.Equal(1, trap.Redirected);
        Assert.Empty(trap.Captured);
    }

    [Theory]
    [InlineData("list")]
    [InlineData("approve")]
    public async Task The_approvals_cli_does_not_follow_a_redirect_with_the_approvers_token(string verb)
    {
        using var trap = new RedirectTrap(307);
        string[] args = verb == "list"
            ? ["list", "--admin", trap.Url, "--token-file", TokenFile()]
            : ["approve", "a1b2c3", "--admin", trap.Url, "--token-file", TokenFile()];
        var stderr = new StringWriter();
        Assert.Equal(2, await ApprovalsCommand.RunAsync(args, TextWriter.Null, stderr));
        string path = verb == "list" ? "/approvals" : "/approvals/a1b2c3/approve";
        Assert.Contains($"cannot reach {trap.Url}: {trap.Url}{path} answered 307 (a redirect), and redirects are not followed", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, trap.Redirected);
        Assert.Empty(trap.Captured);
    }

    [Fact]
    public async Task Tools_pin_does_not_follow_a_redirect_and_writes_no_pins()
    {
        using var trap = new RedirectTrap(302, captureBody: """{"upstreams":{}}""");
        string pins = Path.Combine(_dir, "pins.json");
        var stderr = new StringWriter();
        Assert.Equal(2, await ToolsCommand.RunAsync(["pin", "--admin", trap.Url, "--out", pins, "--token-file", TokenFile()], TextWriter.Null, stderr));
        Assert.Contains($"{trap.Url}/tools/observed answered 302 (a redirect), and redirects are not followed", stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(pins));
        Assert.Empty(trap.Captured);
    }

    [Fact]
    public async Task Tools_diff_does_not_follow_a_redirect_and_reports_no_verdict()
    {
        using var trap = new RedirectTrap(307, captureBody: """{"upstreams":{}}""");
        string pins = Path.Combine(_dir, "pins.json");
        File.WriteAllText(pins, "{}");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Assert.Equal(2, await ToolsCommand.RunAsync(["diff", "--admin", trap.Url, "--pins", pins, "--token-file", TokenFile()], stdout, stderr));
        Assert.Contains($"{trap.Url}/tools/observed answered 307 (a redirect), and redirects are not followed", stderr.ToString(), StringComparison.Ordinal);
        Assert.Empty(stdout.ToString());
        Assert.Equal(1, trap.Redirected);
        Assert.Empty(trap.Captured);
    }
}
