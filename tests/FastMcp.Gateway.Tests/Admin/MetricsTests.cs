using System.Diagnostics;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using Xunit.Abstractions;

namespace FastMcp.Gateway.Tests.Admin;

/// <summary>
/// /metrics after real traffic: exchanges by method, decision and status; tool calls with bounded tool labels;
/// authentication failures by reason; latency histograms; build and process figures. The output is checked by
/// promtool when installed, and always by a strict exposition-format check.
/// </summary>
public sealed class MetricsTests(ITestOutputHelper output)
{
    private static string ToolCall(int id, string tool) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":{}}}";

    private static async Task<string> ScrapeAfterTrafficAsync()
    {
        await using var gw = await PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[]}}"),
            [new RuleOptions { Name = "no-delete", Action = "deny", Methods = ["tools/call"], Names = ["delete_all"] }, new RuleOptions { Name = "all", Action = "allow" }],
            o => o.Metrics.Tools = ["search", "delete_all"]);
        string token = gw.Token("alice");
        Assert.Equal(200, (await gw.PostAsync(ToolCall(1, "search"), token)).Status);
        Assert.Equal(200, (await gw.PostAsync(ToolCall(2, "search"), token)).Status);
        Assert.Equal(200, (await gw.PostAsync(ToolCall(3, "weather_of_the_day"), token)).Status);
        Assert.Equal(200, (await gw.PostAsync(ToolCall(4, "delete_all"), token)).Status); // denied: a JSON-RPC error
        Assert.Equal(401, (await gw.PostAsync(ToolCall(5, "search"), "not-a-token")).Status);
        Assert.Equal(401, (await gw.PostAsync(ToolCall(6, "search"), "")).Status);
        return await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
    }

    [Fact]
    public async Task Exchanges_tools_auth_failures_and_latencies_are_counted_with_bounded_labels()
    {
        string m = await ScrapeAfterTrafficAsync();

        Assert.Contains("fastmcp_exchanges_total{method=\"tools/call\",decision=\"allow\",status=\"2xx\"} 3\n", m);
        Assert.Contains("fastmcp_exchanges_total{method=\"tools/call\",decision=\"deny\",status=\"2xx\"} 1\n", m);
        Assert.Contains("fastmcp_exchanges_total{method=\"none\",decision=\"none\",status=\"4xx\"} 2\n", m);
        Assert.Contains("fastmcp_tool_calls_total{tool=\"search\",decision=\"allow\"} 2\n", m);
        Assert.Contains("fastmcp_tool_calls_total{tool=\"other\",decision=\"allow\"} 1\n", m);
        Assert.Contains("fastmcp_tool_calls_total{tool=\"delete_all\",decision=\"deny\"} 1\n", m);
        Assert.DoesNotContain("weather_of_the_day", m);
        Assert.Contains("fastmcp_auth_failures_total{reason=\"MissingToken\"} 1\n", m);
        Assert.Contains("fastmcp_exchange_duration_seconds_count 6\n", m);
        Assert.Contains("fastmcp_upstream_response_seconds_count 3\n", m);
        Assert.Contains("fastmcp_audit_durable_wait_seconds_count 3\n", m);
        Assert.Contains("fastmcp_build_info{version=\"", m);
        Assert.Contains("\nprocess_start_time_seconds ", m);
        Assert.Contains("\nprocess_open_fds ", m);
        Assert.Contains("\nfastmcp_jwks_refresh_failures_total 0\n", m);
        Assert.Contains("fastmcp_rate_limited_total{scope=\"client_address\"} 0\n", m);
    }

    [Fact]
    public async Task The_scrape_is_valid_exposition_format()
    {
        string m = await ScrapeAfterTrafficAsync();

        Assert.Empty(ExpositionFormat.Problems(m));
        string? promtool = FindOnPath("promtool");
        if (promtool is null)
        {
            output.WriteLine("promtool not installed (apt-get install prometheus): only the built-in exposition-format check ran");
            return;
        }
        var psi = new ProcessStartInfo(promtool, "check metrics") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using Process p = Process.Start(psi)!;
        await p.StandardInput.WriteAsync(m);
        p.StandardInput.Close();
        string stdout = await p.StandardOutput.ReadToEndAsync();
        string stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        // promtool's lint (exit 3) is about naming conventions; malformed exposition is exit 1. Both must be clean.
        Assert.True(p.ExitCode == 0, $"promtool check metrics exited {p.ExitCode}:\n{stdout}{stderr}");
    }

    private static string? FindOnPath(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            string candidate = Path.Combine(dir, name);
            if (dir.Length > 0 && File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
