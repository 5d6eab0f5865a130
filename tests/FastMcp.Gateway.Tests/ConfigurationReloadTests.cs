using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;

namespace FastMcp.Gateway.Tests;

/// <summary>Reloads that say what they did: live fields applied, restart-only fields named and kept, results counted.</summary>
[Collection(LogOutputCollection.Name)]
public sealed class ConfigurationReloadTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-reload-").FullName;
    private readonly StringWriter _log = new();
    private readonly TextWriter _previousOutput = Log.Output;

    public ConfigurationReloadTests() => Log.Output = _log;

    public void Dispose()
    {
        Log.Output = _previousOutput;
        Log.Apply(new LogOptions());
        Directory.Delete(_dir, recursive: true);
    }

    private string Path_ => Path.Combine(_dir, "fastmcp.json");

    private static string Config(string listen = "127.0.0.1:8080", int shutdownMs = 10_000, string upstream = "http://127.0.0.1:3001/mcp", string action = "allow", string level = "info") => $$"""
        {
          "listen": ["{{listen}}"],
          "identity": { "mode": "anonymous" },
          "upstream": { "url": "{{upstream}}" },
          "timeouts": { "shutdownMs": {{shutdownMs}} },
          "log": { "level": "{{level}}" },
          "policy": { "rules": [{ "name": "all", "action": "{{action}}" }] }
        }
        """;

    private (ConfigurationReloader Reloader, PolicyAuthorization Authorization, GatewayOptions InForce) Start(string json)
    {
        File.WriteAllText(Path_, json);
        GatewayOptions inForce = ConfigurationLoader.Load(Path_);
        var authorization = new PolicyAuthorization(GatewayStages.CompilePolicy(inForce.Policy));
        return (new ConfigurationReloader(Path_, authorization, null, null, TimeSpan.FromHours(1), inForce), authorization, inForce);
    }

    [Fact]
    public void Live_fields_are_applied_to_the_options_in_force()
    {
        var (reloader, authorization, inForce) = Start(Config());
        using var _ = reloader;
        var before = authorization.Engine;
        long applied = ReloadCounters.Applied;
        File.WriteAllText(Path_, Config(shutdownMs: 2_500, action: "deny"));
        Assert.True(reloader.Reload("test"));
        Assert.Equal(2_500, inForce.Timeouts.ShutdownMs);
        Assert.NotSame(before, authorization.Engine);
        Assert.Contains("timeouts.shutdownMs", reloader.AppliedLive);
        Assert.Empty(reloader.RestartRequired);
        Assert.True(ReloadCounters.Applied > applied);
        Assert.Contains("configuration reload (test) applied", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Server_request_rules_apply_on_reload_with_the_client_rules_and_a_bad_one_keeps_both()
    {
        var (reloader, authorization, _) = Start(Config());
        using var _r = reloader;
        Assert.True(authorization.Engine.ServerRequests.DecidesNothing);
        string withSection(string rule) => Config().Replace("\"policy\": { \"rules\": [{ \"name\": \"all\", \"action\": \"allow\" }] }",
            "\"policy\": { \"rules\": [{ \"name\": \"all\", \"action\": \"allow\" }], \"serverRequests\": { \"defaultAction\": \"deny\", \"rules\": [" + rule + "] } }",
            StringComparison.Ordinal);
        File.WriteAllText(Path_, withSection("""{ "name": "roots", "action": "allow", "methods": ["roots/list"] }"""));
        Assert.True(reloader.Reload("test"));
        Assert.Empty(reloader.RestartRequired);
        Policy.ServerRequestPolicy applied = authorization.Engine.ServerRequests;
        Assert.Equal(Policy.PolicyAction.Deny, applied.DefaultAction);
        Assert.Equal("roots", Assert.Single(applied.Rules).Name);

        File.WriteAllText(Path_, withSection("""{ "name": "ask", "action": "require_approval" }"""));
        Assert.False(reloader.Reload("test"));
        Assert.Same(applied, authorization.Engine.ServerRequests);
        Assert.Contains("policy.serverRequests.rules[ask].action", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Query_conditions_apply_on_reload_with_the_rules_and_a_bad_one_keeps_the_policy_in_force()
    {
        var (reloader, authorization, _) = Start(Config());
        using var _r = reloader;
        Assert.False(authorization.Engine.ReadsQuery);
        string withQuery(string condition) => Config().Replace("[{ \"name\": \"all\", \"action\": \"allow\" }]",
            "[{ \"name\": \"staging\", \"action\": \"allow\", \"query\": { \"tenant\": " + condition + " } }]", StringComparison.Ordinal);
        var alice = new Identity.Principal("alice", [], [], null, "issuer", DateTimeOffset.MaxValue);
        Policy.PolicyDecision Decide(string query) => Policy.McpCallDecision.Decide(authorization.Engine, alice, "tools/call"u8, "deploy"u8, default, "default",
            System.Text.Encoding.ASCII.GetBytes(query));

        File.WriteAllText(Path_, withQuery("""{ "equals": "staging" }"""));
        Assert.True(reloader.Reload("test"));
        Assert.True(authorization.Engine.ReadsQuery);
        Assert.Equal("staging", Decide("?tenant=staging").Rule?.Name);
        Assert.Equal(Policy.PolicyAction.Deny, Decide("?tenant=prod").Action);
        Assert.Equal("(unreadable-query)", Decide("?tenant=a&tenant=b").Rule?.Name);

        Policy.PolicyEngine applied = authorization.Engine;
        File.WriteAllText(Path_, withQuery("""{ "regex": "([a-z" }"""));
        Assert.False(reloader.Reload("test"));
        Assert.Same(applied, authorization.Engine);
        Assert.Contains("policy.rules[staging].query.tenant.regex", _log.ToString(), StringComparison.Ordinal);

        File.WriteAllText(Path_, Config());
        Assert.True(reloader.Reload("test"));
        Assert.False(authorization.Engine.ReadsQuery);
        Assert.Equal("all", Decide("?tenant=a&tenant=b").Rule?.Name);
    }

    [Fact]
    public void Address_and_time_conditions_apply_on_reload_and_a_bad_one_keeps_the_policy_in_force()
    {
        var (reloader, authorization, _) = Start(Config());
        using var _r = reloader;
        string withRule(string conditions) => Config().Replace("[{ \"name\": \"all\", \"action\": \"allow\" }]",
            "[{ \"name\": \"ci\", \"action\": \"allow\", " + conditions + " }]", StringComparison.Ordinal);
        var bot = new Identity.Principal("ci-bot", [], [], null, "issuer", DateTimeOffset.MaxValue);
        Policy.PolicyDecision Decide(string address) => Policy.McpCallDecision.Decide(authorization.Engine, bot, "tools/call"u8, "deploy"u8, default, "default",
            default, System.Net.IPAddress.Parse(address));

        Assert.Equal("all", Decide("192.0.2.1").Rule?.Name);
        File.WriteAllText(Path_, withRule("\"addresses\": [\"10.20.0.0/16\"], \"time\": { \"notBefore\": \"2000-01-01T00:00:00Z\" }"));
        Assert.True(reloader.Reload("test"));
        Assert.Equal("ci", Decide("10.20.0.9").Rule?.Name);
        Assert.Equal(Policy.PolicyAction.Deny, Decide("192.0.2.1").Action);

        Policy.PolicyEngine applied = authorization.Engine;
        File.WriteAllText(Path_, withRule("\"addresses\": [\"10.20.0.0/16\"], \"time\": { \"timeZone\": \"Nowhere/Town\", \"days\": [\"mon\"] }"));
        Assert.False(reloader.Reload("test"));
        Assert.Same(applied, authorization.Engine);
        Assert.Contains("policy.rules[ci].time.timeZone", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_restart_only_field_is_named_and_keeps_its_old_value()
    {
        var (reloader, _, inForce) = Start(Config());
        using var _r = reloader;
        long partial = ReloadCounters.Partial;
        File.WriteAllText(Path_, Config(listen: "127.0.0.1:8181", upstream: "http://127.0.0.1:3002/mcp", shutdownMs: 3_000));
        Assert.True(reloader.Reload("test"));
        Assert.Equal(["listen", "upstream.url"], reloader.RestartRequired);
        Assert.Equal("127.0.0.1:8080", inForce.Listen[0]);
        Assert.Equal("http://127.0.0.1:3001/mcp", inForce.Upstream.Url);
        Assert.Equal(3_000, inForce.Timeouts.ShutdownMs);
        Assert.True(ReloadCounters.Partial > partial);
        string log = _log.ToString();
        Assert.Contains("field listen changed; restart required to apply", log, StringComparison.Ordinal);
        Assert.Contains("field upstream.url changed; restart required to apply", log, StringComparison.Ordinal);
        Assert.Contains("partially applied", log, StringComparison.Ordinal);
        Assert.DoesNotContain("configuration reloaded", log, StringComparison.Ordinal);

        // Still pending after another reload that changes only a live field.
        File.WriteAllText(Path_, Config(listen: "127.0.0.1:8181", upstream: "http://127.0.0.1:3002/mcp", shutdownMs: 4_000));
        Assert.True(reloader.Reload("test"));
        Assert.Equal(["listen", "upstream.url"], reloader.RestartRequired);
    }

    [Fact]
    public async Task A_changed_upstream_url_and_timeout_apply_live_to_the_running_route()
    {
        await using var first = new FastMcp.Gateway.Tests.Support.ScriptedUpstream(FastMcp.Gateway.Tests.Support.UpstreamScripts.Echo);
        await using var second = new FastMcp.Gateway.Tests.Support.ScriptedUpstream(FastMcp.Gateway.Tests.Support.UpstreamScripts.Echo);
        await using var gateway = FastMcp.Gateway.Tests.Support.GatewayUnderTest.Start(first.Url);
        File.WriteAllText(Path_, Config(upstream: first.Url));
        var authorization = new PolicyAuthorization(GatewayStages.CompilePolicy(ConfigurationLoader.Load(Path_).Policy));
        using var reloader = new ConfigurationReloader(Path_, authorization, null, null, TimeSpan.FromHours(1), gateway.Options, gateway.Host.Routes);

        string answer = await SendAsync(gateway, "1");
        Assert.Contains("\"id\":1", answer, StringComparison.Ordinal);
        Assert.Single(first.Requests);

        File.WriteAllText(Path_, Config(upstream: second.Url).Replace("\"upstream\": { \"url\": \"" + second.Url + "\" }",
            "\"upstream\": { \"url\": \"" + second.Url + "\", \"responseTimeoutMs\": 7000 }", StringComparison.Ordinal));
        Assert.True(reloader.Reload("test"));
        Assert.Contains("upstream.url", reloader.AppliedLive);
        Assert.Contains("upstream.responseTimeoutMs", reloader.AppliedLive);
        Assert.Empty(reloader.RestartRequired);
        Assert.Equal(second.Url, gateway.Options.Upstream.Url);
        Assert.Equal(7_000, gateway.Options.Upstream.ResponseTimeoutMs);
        Assert.Contains($"upstream 'default': new exchanges go to {second.Url}", _log.ToString(), StringComparison.Ordinal);

        Assert.Contains("\"id\":2", await SendAsync(gateway, "2"), StringComparison.Ordinal);
        Assert.Single(second.Requests);
        Assert.Single(first.Requests); // nothing more went to the old upstream

        // Put back: the url follows the file again (the value in force is the file's, so it stays live).
        File.WriteAllText(Path_, Config(upstream: first.Url));
        Assert.True(reloader.Reload("test"));
        Assert.Contains("\"id\":3", await SendAsync(gateway, "3"), StringComparison.Ordinal);
        Assert.Equal(2, first.Requests.Count);
    }

    /// <summary>A gateway whose upstream answers every call with <paramref name="result"/>, allowing everyone.</summary>
    private static Task<FastMcp.Gateway.Tests.Support.PolicyGateway> MaskingGatewayAsync(string result) =>
        FastMcp.Gateway.Tests.Support.PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":" + result + "}"),
            [new FastMcp.Policy.RuleOptions { Name = "all", Action = "allow" }]);

    /// <summary>A reloader of this test's configuration file (written anew) that reloads into <paramref name="gw"/>'s masking stage.</summary>
    private ConfigurationReloader MaskingReloader(FastMcp.Gateway.Tests.Support.PolicyGateway gw)
    {
        File.WriteAllText(Path_, Config());
        var authorization = new PolicyAuthorization(GatewayStages.CompilePolicy(ConfigurationLoader.Load(Path_).Policy));
        return new ConfigurationReloader(Path_, authorization, null, gw.Gateway.Stages.Masking!, TimeSpan.FromHours(1), gw.Gateway.Options);
    }

    [Fact]
    public async Task Masking_settings_apply_live_to_the_next_exchange_and_turning_masking_off_needs_a_restart()
    {
        await using var gw = await MaskingGatewayAsync("{\"card\":\"4111111111111111\"}");
        PanMasking running = gw.Gateway.Stages.Masking!;
        using var reloader = MaskingReloader(gw);
        string token = gw.Token("alice");
        byte[]? key = running.FingerprintKey;

        string first = (await gw.PostAsync(ToolCall(1), token)).Body;
        Assert.True(first.Contains("\"card\":\"411111******1111\"", StringComparison.Ordinal), first);

        File.WriteAllText(Path_, Config().Replace("\"timeouts\"", "\"masking\": { \"keepFirst\": 0, \"keepLast\": 2 },\n  \"timeouts\"", StringComparison.Ordinal));
        Assert.True(reloader.Reload("test"));
        Assert.Contains("masking.keepFirst", reloader.AppliedLive);
        Assert.Contains("masking.keepLast", reloader.AppliedLive);
        Assert.Empty(reloader.RestartRequired);
        Assert.Contains("\"card\":\"**************11\"", (await gw.PostAsync(ToolCall(2), token)).Body);
        Assert.Same(key, running.FingerprintKey); // no key configured: the running one is kept, fingerprints still correlate

        // A bad value rejects the whole reload; masking stays as it was.
        File.WriteAllText(Path_, Config().Replace("\"timeouts\"", "\"masking\": { \"keepFirst\": 7 },\n  \"timeouts\"", StringComparison.Ordinal));
        Assert.False(reloader.Reload("test"));
        Assert.Contains("\"card\":\"**************11\"", (await gw.PostAsync(ToolCall(3), token)).Body);

        // Off is a restart: the stage stays and keeps masking.
        File.WriteAllText(Path_, Config().Replace("\"timeouts\"", "\"masking\": { \"enabled\": false },\n  \"timeouts\"", StringComparison.Ordinal));
        Assert.True(reloader.Reload("test"));
        Assert.Contains("masking.enabled", reloader.RestartRequired);
        Assert.DoesNotContain("4111111111111111", (await gw.PostAsync(ToolCall(4), token)).Body);
    }

    [Fact]
    public async Task Sensitive_member_names_reload_live_and_a_bad_name_rejects_the_reload_naming_it()
    {
        await using var gw = await MaskingGatewayAsync("{\"cvv\":\"123\",\"otp\":\"9876\"}");
        PanMasking running = gw.Gateway.Stages.Masking!;
        using var reloader = MaskingReloader(gw);
        string token = gw.Token("alice");

        string first = (await gw.PostAsync(ToolCall(1), token)).Body;
        Assert.Contains("\"cvv\":\"***\",\"otp\":\"9876\"", first, StringComparison.Ordinal);

        File.WriteAllText(Path_, Config().Replace("\"timeouts\"", "\"masking\": { \"sensitiveMembers\": [\"cvv\", \"OTP\"] },\n  \"timeouts\"", StringComparison.Ordinal));
        Assert.True(reloader.Reload("test"));
        Assert.Contains("masking.sensitiveMembers", reloader.AppliedLive);
        Assert.Contains("\"cvv\":\"***\",\"otp\":\"****\"", (await gw.PostAsync(ToolCall(2), token)).Body, StringComparison.Ordinal);

        File.WriteAllText(Path_, Config().Replace("\"timeouts\"", "\"masking\": { \"sensitiveMembers\": [\"cvv\", \"\"] },\n  \"timeouts\"", StringComparison.Ordinal));
        Assert.False(reloader.Reload("test"));
        Assert.Contains("\"otp\":\"****\"", (await gw.PostAsync(ToolCall(3), token)).Body, StringComparison.Ordinal);
    }

    private static string ToolCall(int id) => "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{}}}";

    private static async Task<string> SendAsync(FastMcp.Gateway.Tests.Support.GatewayUnderTest gateway, string id)
    {
        using FastMcp.Gateway.Tests.Support.RawClient client = await gateway.ConnectAsync();
        await client.SendAsync(gateway.Post(FastMcp.Gateway.Tests.Support.GatewayUnderTest.ToolsList(id)));
        FastMcp.Gateway.Tests.Support.RawResponse response = await client.ReadResponseAsync("the answer through the gateway");
        Assert.Equal(200, response.Status);
        return response.Body;
    }

    [Fact]
    public async Task ForwardCookies_applies_live_to_the_next_exchange_both_ways()
    {
        await using var upstream = new FastMcp.Gateway.Tests.Support.ScriptedUpstream(x =>
            x.RespondJsonAsync(FastMcp.Gateway.Tests.Support.UpstreamScripts.EchoJson(x.Request), "Set-Cookie: lb=node-7\r\n"));
        await using var gateway = FastMcp.Gateway.Tests.Support.GatewayUnderTest.Start(upstream.Url);
        File.WriteAllText(Path_, Config(upstream: upstream.Url));
        var authorization = new PolicyAuthorization(GatewayStages.CompilePolicy(ConfigurationLoader.Load(Path_).Policy));
        using var reloader = new ConfigurationReloader(Path_, authorization, null, null, TimeSpan.FromHours(1), gateway.Options, gateway.Host.Routes);

        async Task<(bool UpstreamSawCookie, bool ClientGotCookie)> ExchangeAsync(string id)
        {
            using FastMcp.Gateway.Tests.Support.RawClient client = await gateway.ConnectAsync();
            await client.SendAsync(gateway.Post(FastMcp.Gateway.Tests.Support.GatewayUnderTest.ToolsList(id), "Cookie: lb=node-7\r\n"));
            FastMcp.Gateway.Tests.Support.RawResponse response = await client.ReadResponseAsync("the answer through the gateway");
            Assert.Equal(200, response.Status);
            FastMcp.Gateway.Tests.Support.UpstreamRequest seen = upstream.Requests.Last();
            return (seen.Head.Has("Cookie"), response.Head.Has("Set-Cookie"));
        }

        Assert.Equal((false, false), await ExchangeAsync("1"));

        File.WriteAllText(Path_, Config(upstream: upstream.Url).Replace("\"upstream\": { \"url\": \"" + upstream.Url + "\" }",
            "\"upstream\": { \"url\": \"" + upstream.Url + "\", \"forwardCookies\": true }", StringComparison.Ordinal));
        Assert.True(reloader.Reload("test"));
        Assert.Contains("upstream.forwardCookies", reloader.AppliedLive);
        Assert.Empty(reloader.RestartRequired);
        Assert.Equal((true, true), await ExchangeAsync("2"));

        File.WriteAllText(Path_, Config(upstream: upstream.Url));
        Assert.True(reloader.Reload("test"));
        Assert.Equal((false, false), await ExchangeAsync("3"));
    }

    [Fact]
    public async Task ForwardHeaders_applies_live_to_the_next_exchange()
    {
        await using var upstream = new FastMcp.Gateway.Tests.Support.ScriptedUpstream(FastMcp.Gateway.Tests.Support.UpstreamScripts.Echo);
        await using var gateway = FastMcp.Gateway.Tests.Support.GatewayUnderTest.Start(upstream.Url);
        File.WriteAllText(Path_, Config(upstream: upstream.Url));
        var authorization = new PolicyAuthorization(GatewayStages.CompilePolicy(ConfigurationLoader.Load(Path_).Policy));
        using var reloader = new ConfigurationReloader(Path_, authorization, null, null, TimeSpan.FromHours(1), gateway.Options, gateway.Host.Routes);

        async Task<string?> ToolsetsSeenAsync(string id)
        {
            using FastMcp.Gateway.Tests.Support.RawClient client = await gateway.ConnectAsync();
            await client.SendAsync(gateway.Post(FastMcp.Gateway.Tests.Support.GatewayUnderTest.ToolsList(id), "X-MCP-Toolsets: repos\r\n"));
            Assert.Equal(200, (await client.ReadResponseAsync("the answer through the gateway")).Status);
            return upstream.Requests.Last().Header("X-MCP-Toolsets");
        }

        Assert.Null(await ToolsetsSeenAsync("1"));

        File.WriteAllText(Path_, Config(upstream: upstream.Url).Replace("\"upstream\": { \"url\": \"" + upstream.Url + "\" }",
            "\"upstream\": { \"url\": \"" + upstream.Url + "\", \"forwardHeaders\": [\"X-MCP-*\"] }", StringComparison.Ordinal));
        Assert.True(reloader.Reload("test"));
        Assert.Contains("upstream.forwardHeaders", reloader.AppliedLive);
        Assert.Empty(reloader.RestartRequired);
        Assert.Equal("repos", await ToolsetsSeenAsync("2"));

        File.WriteAllText(Path_, Config(upstream: upstream.Url));
        Assert.True(reloader.Reload("test"));
        Assert.Null(await ToolsetsSeenAsync("3"));
    }

    [Fact]
    public void Limits_sized_into_connections_at_start_need_a_restart()
    {
        var (reloader, _, inForce) = Start(Config());
        using var _r = reloader;
        File.WriteAllText(Path_, Config().Replace("\"timeouts\"", "\"limits\": { \"maxHeaderCount\": 50, \"maxTargetLength\": 4096 },\n  \"timeouts\"", StringComparison.Ordinal));
        Assert.True(reloader.Reload("test"));
        Assert.Equal(["limits.maxHeaderCount"], reloader.RestartRequired);
        Assert.Contains("limits.maxTargetLength", reloader.AppliedLive);
        Assert.Equal(100, inForce.Limits.MaxHeaderCount);
        Assert.Equal(4096, inForce.Limits.MaxTargetLength);
    }

    [Fact]
    public void An_invalid_file_is_rejected_and_counted()
    {
        var (reloader, authorization, inForce) = Start(Config());
        using var _ = reloader;
        var before = authorization.Engine;
        long rejected = ReloadCounters.Rejected;
        File.WriteAllText(Path_, Config(shutdownMs: -1));
        Assert.False(reloader.Reload("test"));
        Assert.Same(before, authorization.Engine);
        Assert.Equal(10_000, inForce.Timeouts.ShutdownMs);
        Assert.True(ReloadCounters.Rejected > rejected);
        Assert.Contains("rejected, nothing changed", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_log_level_applies_on_reload()
    {
        var (reloader, _, inForce) = Start(Config());
        using var _r = reloader;
        Log.Apply(inForce.Log);
        File.WriteAllText(Path_, Config(level: "error"));
        Assert.True(reloader.Reload("test"));
        Assert.Equal("error", inForce.Log.Level);
        Log.Warn("reload-level-probe");
        Assert.DoesNotContain("reload-level-probe", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Metrics_render_the_reload_counter_by_result()
    {
        var sb = new System.Text.StringBuilder();
        ReloadCounters.Render(sb);
        string text = sb.ToString();
        Assert.Contains("fastmcp_config_reloads_total{result=\"applied\"}", text, StringComparison.Ordinal);
        Assert.Contains("fastmcp_config_reloads_total{result=\"partially_applied\"}", text, StringComparison.Ordinal);
        Assert.Contains("fastmcp_config_reloads_total{result=\"rejected\"}", text, StringComparison.Ordinal);
    }
}

/// <summary>Tests that swap the process-wide log output or level run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LogOutputCollection
{
    public const string Name = "log output";
}
