using System.Text.Json;
using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Admin;

/// <summary>
/// Who may read the admin listener's views, over real sockets to the real gateway: /tools/observed (every upstream's
/// tools and definitions) only to an approver or an operator, with a token verified as the approvals API verifies it;
/// /metrics only with the scrape token (or an operator's token) once one is configured; /healthz and /readyz to anyone.
/// </summary>
[Collection(LogOutputCollection.Name)]
public sealed class AdminViewAccessTests : IAsyncLifetime
{
    private const string ScrapeToken = "3f1c9a7e55d04b2a8e6f0c1d2b3a4958";
    private const string NextScrapeToken = "b7e2d4c6a8f0e1d3c5b7a9f2e4d6c8b0";
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-adminaccess-").FullName;
    private PolicyGateway? _gw;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_gw is not null) await _gw.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string TokenFile => Path.Combine(_dir, "metrics-token");

    private async Task<PolicyGateway> StartAsync(Action<GatewayOptions>? configure = null)
    {
        _gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }], o =>
        {
            o.ToolPins = new ToolPinOptions { Mode = "record" };
            o.Admin.OperatorGroups = ["sre"];
            configure?.Invoke(o);
        });
        return _gw;
    }

    private Task<RawResponse> GetAsync(string path, string headerLines = "") => AdminGet.ResponseAsync(_gw!.Gateway.AdminEndpoint, path, headerLines);

    private Task<RawResponse> GetAsync(string path, string? token, bool bearer) =>
        GetAsync(path, token is null ? "" : $"Authorization: {(bearer ? "Bearer" : "DPoP")} {token}\r\n");

    private static string Error(RawResponse r)
    {
        using JsonDocument d = JsonDocument.Parse(r.Body);
        return d.RootElement.GetProperty("error").GetString()!;
    }

    private async Task<long> RefusedAsync(string view, int status) =>
        await AdminGet.MetricAsync(_gw!.Gateway.AdminEndpoint, $"fastmcp_admin_access_refused_total{{view=\"{view}\",status=\"{status}\"}}");

    [Fact]
    public async Task Tools_observed_answers_approvers_and_operators_only_and_counts_every_refusal()
    {
        PolicyGateway gw = await StartAsync();

        RawResponse anonymous = await GetAsync("/tools/observed");
        Assert.Equal(401, anonymous.Status);
        Assert.Contains(anonymous.Head.GetAll("WWW-Authenticate"), c => c.StartsWith("Bearer", StringComparison.Ordinal));
        Assert.DoesNotContain("upstreams", anonymous.Body, StringComparison.Ordinal);
        Assert.Equal(401, (await GetAsync("/tools/observed", "not-a-token", bearer: true)).Status);

        RawResponse developer = await GetAsync("/tools/observed", gw.Token("bob", "dev"), bearer: true);
        Assert.Equal(403, developer.Status);
        Assert.Equal("bob is neither an approver nor a member of admin.operatorGroups", Error(developer));

        RawResponse operatorView = await GetAsync("/tools/observed", gw.Token("carol", "sre"), bearer: true);
        Assert.Equal(200, operatorView.Status);
        Assert.Contains("\"upstreams\"", operatorView.Body, StringComparison.Ordinal);
        // Approvers (approvals.approverGroups, default "approvers") see it too.
        Assert.Equal(200, (await GetAsync("/tools/observed", gw.Token("dave", "approvers"), bearer: true)).Status);

        Assert.Equal(2, await RefusedAsync("tools_observed", 401));
        Assert.Equal(1, await RefusedAsync("tools_observed", 403));
        Assert.Equal(0, await RefusedAsync("metrics", 401));

        // The approvals API goes through the same check: an operator is no approver there, and is counted under its view.
        RawResponse notApprover = await GetAsync("/approvals", gw.Token("carol", "sre"), bearer: true);
        Assert.Equal(403, notApprover.Status);
        Assert.Equal("carol is not an approver", Error(notApprover));
        Assert.Equal(1, await RefusedAsync("approvals", 403));
        Assert.Equal(200, (await GetAsync("/approvals", gw.Token("dave", "approvers"), bearer: true)).Status);
    }

    [Fact]
    public async Task A_dpop_bound_operator_token_needs_a_fresh_proof_for_the_admin_url()
    {
        PolicyGateway gw = await StartAsync();
        using var tokens = new BoundTokens(gw.DevKeyDirectory);
        using var key = new DpopKey();
        string token = tokens.DpopBound("carol", key, "sre");
        string url = $"http://127.0.0.1:{gw.Gateway.AdminEndpoint.Port}/tools/observed";

        RawResponse admitted = await GetAsync("/tools/observed", $"Authorization: DPoP {token}\r\nDPoP: {key.Proof("GET", url, token)}\r\n");
        Assert.True(admitted.Status == 200, admitted.ToString());
        // A proof for the MCP endpoint, or the token sent as a bearer token: refused as the approvals API refuses them.
        RawResponse wrongUrl = await GetAsync("/tools/observed", $"Authorization: DPoP {token}\r\nDPoP: {key.Proof("GET", "http://127.0.0.1/mcp", token)}\r\n");
        Assert.Equal(401, wrongUrl.Status);
        Assert.StartsWith("DPoP error=\"invalid_dpop_proof\"", wrongUrl.Header("WWW-Authenticate"), StringComparison.Ordinal);
        Assert.Equal(401, (await GetAsync("/tools/observed", token, bearer: true)).Status);
    }

    [Fact]
    public async Task Metrics_with_a_scrape_token_answers_it_or_an_operator_and_health_stays_open()
    {
        File.WriteAllText(TokenFile, ScrapeToken + "\n");
        PolicyGateway gw = await StartAsync(o => o.Admin.MetricsTokenFile = TokenFile);

        RawResponse bare = await GetAsync("/metrics");
        Assert.Equal(401, bare.Status);
        Assert.Equal("Bearer realm=\"fastmcp-metrics\"", bare.Header("WWW-Authenticate"));
        Assert.DoesNotContain("fastmcp_", bare.Body, StringComparison.Ordinal);
        Assert.Equal(401, (await GetAsync("/metrics", NextScrapeToken, bearer: true)).Status);
        Assert.Equal(401, (await GetAsync("/metrics", ScrapeToken[..^1], bearer: true)).Status);
        Assert.Equal(401, (await GetAsync("/metrics", $"Authorization: Basic {ScrapeToken}\r\n")).Status);

        RawResponse scraped = await GetAsync("/metrics", ScrapeToken, bearer: true);
        Assert.Equal(200, scraped.Status);
        Assert.Contains("fastmcp_admin_access_refused_total{view=\"metrics\",status=\"401\"} 4\n", scraped.Body, StringComparison.Ordinal);
        // An operator's own token reads it too; someone else's is a 403.
        Assert.Equal(200, (await GetAsync("/metrics", gw.Token("carol", "sre"), bearer: true)).Status);
        Assert.Equal(403, (await GetAsync("/metrics", gw.Token("bob", "dev"), bearer: true)).Status);

        // Kubelet probes carry no token.
        Assert.Equal(200, (await GetAsync("/healthz")).Status);
        Assert.Equal(200, (await GetAsync("/readyz")).Status);
    }

    [Fact]
    public async Task A_rotated_scrape_token_file_admits_the_new_token_and_the_log_never_shows_one()
    {
        using var log = new CapturedLog();
        File.WriteAllText(TokenFile, ScrapeToken + "\n");
        await StartAsync(o => o.Admin.MetricsTokenFile = TokenFile);
        Assert.Equal(200, (await GetAsync("/metrics", ScrapeToken, bearer: true)).Status);

        // Both during the overlap, then only the new one.
        File.WriteAllText(TokenFile, ScrapeToken + "\n" + NextScrapeToken + "\n");
        Assert.True(await AdmittedWithinAsync(NextScrapeToken), "the added token was not admitted within 10 s");
        Assert.Equal(200, (await GetAsync("/metrics", ScrapeToken, bearer: true)).Status);
        File.WriteAllText(TokenFile, NextScrapeToken + "\n");
        Assert.True(await RefusedWithinAsync(ScrapeToken), "the removed token was still admitted after 10 s");

        // A content that holds no usable token keeps the token in force.
        File.WriteAllText(TokenFile, "short\n");
        await Task.Delay(1_200);
        Assert.Equal(200, (await GetAsync("/metrics", NextScrapeToken, bearer: true)).Status);
        Assert.NotEmpty(log.LinesWith("admin.metricsTokenFile: '"));
        Assert.NotEmpty(log.LinesWith("admin: /metrics from 127.0.0.1 refused with 401"));
        Assert.DoesNotContain(ScrapeToken, log.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(NextScrapeToken, log.Text, StringComparison.Ordinal);
    }

    private async Task<bool> AdmittedWithinAsync(string token)
    {
        for (int i = 0; i < 50; i++)
        {
            if ((await GetAsync("/metrics", token, bearer: true)).Status == 200) return true;
            await Task.Delay(200);
        }
        return false;
    }

    private async Task<bool> RefusedWithinAsync(string token)
    {
        for (int i = 0; i < 50; i++)
        {
            if ((await GetAsync("/metrics", token, bearer: true)).Status == 401) return true;
            await Task.Delay(200);
        }
        return false;
    }

    [Fact]
    public async Task Without_a_scrape_token_metrics_is_open_and_the_open_setting_serves_tools_observed_to_anyone()
    {
        await StartAsync(o => o.Admin.ToolsObservedAccess = "open");
        Assert.Equal(200, (await GetAsync("/metrics")).Status);
        Assert.Equal(200, (await GetAsync("/tools/observed")).Status);
    }

    [Fact]
    public async Task In_anonymous_mode_tools_observed_is_refused_unless_served_open()
    {
        await StartAsync(o => o.Identity!.Mode = IdentityModes.Anonymous);
        RawResponse refused = await GetAsync("/tools/observed");
        Assert.Equal(403, refused.Status);
        Assert.Contains("admin.toolsObservedAccess", Error(refused), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tools_pin_sends_the_token_file_and_reports_a_refusal_without_one()
    {
        PolicyGateway gw = await StartAsync();
        string admin = $"http://127.0.0.1:{gw.Gateway.AdminEndpoint.Port}", pins = Path.Combine(_dir, "pins.json");

        var stderr = new StringWriter();
        Assert.Equal(1, await ToolsCommand.RunAsync(["pin", "--admin", admin, "--out", pins], TextWriter.Null, stderr));
        Assert.Contains("401", stderr.ToString(), StringComparison.Ordinal);
        Assert.False(File.Exists(pins));

        stderr = new StringWriter();
        Assert.True(await ToolsCommand.RunAsync(["pin", "--admin", admin, "--out", pins, "--token-file", gw.TokenFile("carol", "sre")], TextWriter.Null, stderr) == 0, stderr.ToString());
        Assert.True(File.Exists(pins));
    }

    [Theory]
    [InlineData("""{"admin":{"operatorGroups":[""]}}""", "admin.operatorGroups[0]")]
    [InlineData("""{"admin":{"operatorGroups":[" sre"]}}""", "admin.operatorGroups[0]")]
    [InlineData("""{"admin":{"toolsObservedAccess":"anyone"}}""", "admin.toolsObservedAccess")]
    [InlineData("""{"admin":{"metricsTokenFile":" "}}""", "admin.metricsTokenFile")]
    [InlineData("""{"admin":{"metricsTokenFile":"/a","metricsTokenEnv":"B"}}""", "admin.metricsTokenEnv")]
    [InlineData("""{"admin":{"maxConnections":0}}""", "admin.maxConnections")]
    [InlineData("""{"admin":{"maxConnections":4097}}""", "admin.maxConnections")]
    [InlineData("""{"admin":{"recordedRequestsPerMinute":0}}""", "admin.recordedRequestsPerMinute")]
    public void Admin_fields_are_validated_by_name(string json, string field)
    {
        ConfigurationException e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Validate(ConfigurationLoader.Parse(System.Text.Encoding.UTF8.GetBytes(json))));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void A_scrape_token_source_that_gives_no_usable_token_stops_the_start_without_quoting_it()
    {
        ConfigurationException Load(AdminOptions o) => Assert.Throws<ConfigurationException>(() => Gateway.Admin.AdminViewRules.From(o));

        Assert.Equal("admin.metricsTokenFile", Load(new AdminOptions { MetricsTokenFile = Path.Combine(_dir, "absent") }).Field);
        File.WriteAllText(TokenFile, "tooShort123\n");
        ConfigurationException shortToken = Load(new AdminOptions { MetricsTokenFile = TokenFile });
        Assert.Equal("admin.metricsTokenFile", shortToken.Field);
        Assert.DoesNotContain("tooShort123", shortToken.Message, StringComparison.Ordinal);
        File.WriteAllText(TokenFile, "has a space in it, quite long\n");
        Assert.Equal("admin.metricsTokenFile", Load(new AdminOptions { MetricsTokenFile = TokenFile }).Field);
        File.WriteAllText(TokenFile, "\n \n");
        Assert.Equal("admin.metricsTokenFile", Load(new AdminOptions { MetricsTokenFile = TokenFile }).Field);
        string variable = "FASTMCP_TEST_METRICS_TOKEN_" + Guid.NewGuid().ToString("N");
        Assert.Equal("admin.metricsTokenEnv", Load(new AdminOptions { MetricsTokenEnv = variable }).Field);
        Environment.SetEnvironmentVariable(variable, ScrapeToken);
        try
        {
            Assert.NotNull(Gateway.Admin.AdminViewRules.From(new AdminOptions { MetricsTokenEnv = variable }).ScrapeToken);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public void The_scrape_token_variable_is_one_a_stdio_server_never_inherits()
    {
        GatewayOptions o = ConfigurationLoader.Parse("""{"admin":{"metricsTokenEnv":"SCRAPE_TOKEN_VAR"}}"""u8);
        Assert.Contains("SCRAPE_TOKEN_VAR", Upstream.Stdio.GatewaySecretVariables.Of(o));
    }
}
