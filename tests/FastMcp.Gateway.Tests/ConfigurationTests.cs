using System.Text;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Tests;

/// <summary>Configuration errors name the field at fault, so an operator can fix the file from the message alone.</summary>
public sealed class ConfigurationTests
{
    private static ConfigurationException ParseAndValidateFails(string json) =>
        Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Validate(ConfigurationLoader.Parse(Encoding.UTF8.GetBytes(json))));

    [Fact]
    public void Defaults_are_valid()
    {
        GatewayOptions options = ConfigurationLoader.Parse("{}"u8);
        ConfigurationLoader.Validate(options);
        Assert.Equal("/mcp", options.EndpointPath);
    }

    [Fact]
    public void Unknown_property_is_named()
    {
        ConfigurationException e = ParseAndValidateFails("""{"listen":["127.0.0.1:0"],"upstream":{"url":"http://127.0.0.1:1/mcp","retries":3}}""");
        Assert.Contains("retries", e.Message, StringComparison.Ordinal);
        Assert.Contains("upstream", e.Field, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_listen_address_is_named()
    {
        ConfigurationException e = ParseAndValidateFails("""{"listen":["127.0.0.1:0","no-port-here"]}""");
        Assert.Equal("listen[1]", e.Field);
        Assert.Contains("no-port-here", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://mcp.example.com/mcp")]
    [InlineData("not a url")]
    [InlineData("http://127.0.0.1:3001/mcp?x=1")]
    public void Bad_upstream_url_is_named(string url)
    {
        ConfigurationException e = ParseAndValidateFails("{\"upstream\":{\"url\":\"" + url + "\"}}");
        Assert.Equal("upstream.url", e.Field);
    }

    [Theory]
    [InlineData("""{"timeouts":{"requestHeadersMs":-1}}""", "timeouts.requestHeadersMs")]
    [InlineData("""{"timeouts":{"shutdownMs":0}}""", "timeouts.shutdownMs")]
    [InlineData("""{"upstream":{"responseTimeoutMs":-500}}""", "upstream.responseTimeoutMs")]
    [InlineData("""{"upstream":{"connectTimeoutMs":-1}}""", "upstream.connectTimeoutMs")]
    public void Negative_or_zero_timeout_is_named(string json, string field)
    {
        Assert.Equal(field, ParseAndValidateFails(json).Field);
    }

    [Fact]
    public void Value_of_the_wrong_type_is_named_by_its_path()
    {
        ConfigurationException e = ParseAndValidateFails("""{"upstream":{"connectTimeoutMs":"fast"}}""");
        Assert.Equal("$.upstream.connectTimeoutMs", e.Field);
    }

    [Fact]
    public void ForwardCookies_is_off_by_default_and_loads_per_upstream()
    {
        GatewayOptions defaults = ConfigurationLoader.Parse("{}"u8);
        Assert.False(defaults.Upstream.ForwardCookies);
        GatewayOptions set = ConfigurationLoader.Parse("""
            {"upstream":{"url":"http://127.0.0.1:1/mcp","forwardCookies":true},
             "upstreams":{"a":{"url":"http://127.0.0.1:2/mcp","forwardCookies":true},"b":{"url":"http://127.0.0.1:3/mcp"}},
             "routes":[{"path":"/a","upstream":"a"},{"path":"/b","upstream":"b"},{"path":"/all","federate":["a","b"]}]}
            """u8);
        ConfigurationLoader.Validate(set);
        Assert.True(set.Upstream.ForwardCookies);
        Assert.True(set.Upstreams["a"].ForwardCookies);
        Assert.False(set.Upstreams["b"].ForwardCookies);
    }

    [Fact]
    public void ForwardCookies_of_the_wrong_type_is_named_and_a_change_applies_live()
    {
        Assert.Equal("$.upstream.forwardCookies", ParseAndValidateFails("""{"upstream":{"forwardCookies":"yes"}}""").Field);
        Assert.Equal("$.upstreams.a.forwardCookies", ParseAndValidateFails("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/","forwardCookies":1}},"routes":[{"path":"/a","upstream":"a"}]}""").Field);
        List<string> changed = FastMcp.Gateway.Hosting.ConfigurationDiff.ChangedFields(ConfigurationLoader.Parse("{}"u8), ConfigurationLoader.Parse("""{"upstream":{"forwardCookies":true}}"""u8));
        Assert.Equal(["upstream.forwardCookies"], changed);
        Assert.True(FastMcp.Gateway.Hosting.ConfigurationDiff.IsLive("upstream.forwardCookies"));
        Assert.True(FastMcp.Gateway.Hosting.ConfigurationDiff.IsLive("upstreams.a.forwardCookies"));
    }

    [Theory]
    [InlineData("""{"threads":{"socketLoops":-1}}""", "threads.socketLoops")]
    [InlineData("""{"threads":{"socketLoops":1025}}""", "threads.socketLoops")]
    [InlineData("""{"threads":{"scheduling":"fifo"}}""", "threads.scheduling")]
    [InlineData("""{"threads":{"scheduling":"idle"}}""", "threads.scheduling")]
    [InlineData("""{"threads":{"pinned":true}}""", "$.threads.pinned")]
    public void Bad_thread_settings_are_named(string json, string field)
    {
        Assert.StartsWith(field, ParseAndValidateFails(json).Field, StringComparison.Ordinal);
    }

    [Fact]
    public void Thread_settings_load_and_default_to_one_loop_per_core_at_normal_policy()
    {
        GatewayOptions defaults = ConfigurationLoader.Parse("{}"u8);
        Assert.Equal(0, defaults.Threads.SocketLoops);
        Assert.Equal("normal", defaults.Threads.Scheduling);
        GatewayOptions set = ConfigurationLoader.Parse("""{"threads":{"socketLoops":3,"scheduling":"batch"}}"""u8);
        ConfigurationLoader.Validate(set);
        Assert.Equal(3, set.Threads.SocketLoops);
        Assert.Equal("batch", set.Threads.Scheduling);
    }

    [Theory]
    [InlineData("""{"threads":{"socketLoops":1}}""", "threads.socketLoops")]
    [InlineData("""{"threads":{"scheduling":"batch"}}""", "threads.scheduling")]
    public void A_changed_thread_setting_needs_a_restart(string json, string field)
    {
        List<string> changed = FastMcp.Gateway.Hosting.ConfigurationDiff.ChangedFields(ConfigurationLoader.Parse("{}"u8), ConfigurationLoader.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Equal([field], changed);
        Assert.False(FastMcp.Gateway.Hosting.ConfigurationDiff.IsLive(field));
    }

    [Theory]
    [InlineData("""{"approvals":{"keepAliveSeconds":0}}""", "approvals.keepAliveSeconds")]
    [InlineData("""{"approvals":{"maxPending":0}}""", "approvals.maxPending")]
    [InlineData("""{"approvals":{"approverGroups":[" "]}}""", "approvals.approverGroups[0]")]
    [InlineData("""{"approvals":{"webhook":{"url":"ftp://hooks.example/x","secretEnv":"X"}}}""", "approvals.webhook.url")]
    [InlineData("""{"approvals":{"webhook":{"url":"https://user:pw@hooks.example/x","secretEnv":"X"}}}""", "approvals.webhook.url")]
    [InlineData("""{"approvals":{"webhook":{"url":"https://hooks.example/x"}}}""", "approvals.webhook.secretFile")]
    [InlineData("""{"approvals":{"webhook":{"url":"https://hooks.example/x","secretEnv":"X","maxAttempts":0}}}""", "approvals.webhook.maxAttempts")]
    [InlineData("""{"approvals":{"webhook":{"url":"https://hooks.example/x","secretEnv":"X","caFile":"/nonexistent/fastmcp-ca.pem"}}}""", "approvals.webhook.caFile")]
    [InlineData("""{"approvals":{"webhook":{"url":"http://127.0.0.1:9/x","secretEnv":"X","caFile":"/nonexistent/fastmcp-ca.pem"}}}""", "approvals.webhook.caFile")]
    public void Bad_approvals_settings_are_named(string json, string field)
    {
        Assert.Equal(field, ParseAndValidateFails(json).Field);
    }

    [Theory]
    [InlineData("""{"name":"r","action":"require_approval","approvalMode":"later"}""", "policy.rules[r].approvalMode")]
    [InlineData("""{"name":"r","action":"require_approval","requiredApprovals":0}""", "policy.rules[r].requiredApprovals")]
    [InlineData("""{"name":"r","action":"require_approval","grantWindowSeconds":60}""", "policy.rules[r].grantWindowSeconds")]
    [InlineData("""{"name":"r","action":"allow","requiredApprovals":2}""", "policy.rules[r].requiredApprovals")]
    [InlineData("""{"name":"r","action":"deny","approvalMode":"grant"}""", "policy.rules[r].approvalMode")]
    public void Bad_approval_rule_settings_are_named(string rule, string field)
    {
        GatewayOptions options = ConfigurationLoader.Parse(Encoding.UTF8.GetBytes("{\"policy\":{\"rules\":[" + rule + "]}}"));
        ConfigurationException e = Assert.Throws<ConfigurationException>(() => Hosting.GatewayStages.CompilePolicy(options.Policy));
        Assert.Equal(field, e.Field);
    }

    [Theory]
    [InlineData("""{"rules":[{"name":"r","action":"require_approval","methods":["sampling/*"]}]}""", "policy.serverRequests.rules[r].action")]
    [InlineData("""{"rules":[{"name":"r","action":"deny","names":["x"]}]}""", "policy.serverRequests.rules[r].names")]
    [InlineData("""{"rules":[{"name":"r","action":"deny","methods":[""]}]}""", "policy.serverRequests.rules[r].methods[0]")]
    [InlineData("""{"rules":[{"action":"deny"}]}""", "policy.serverRequests.rules[rules[0]].name")]
    [InlineData("""{"defaultAction":"maybe"}""", "policy.serverRequests.defaultAction")]
    public void Bad_server_request_rules_are_named_in_their_section(string section, string field)
    {
        GatewayOptions options = ConfigurationLoader.Parse(Encoding.UTF8.GetBytes("{\"policy\":{\"rules\":[{\"name\":\"all\",\"action\":\"allow\"}],\"serverRequests\":" + section + "}}"));
        ConfigurationException e = Assert.Throws<ConfigurationException>(() => Hosting.GatewayStages.CompilePolicy(options.Policy));
        Assert.Equal(field, e.Field);
    }

    [Fact]
    public void A_server_request_rule_naming_an_unknown_upstream_is_refused()
    {
        GatewayOptions options = ConfigurationLoader.Parse(Encoding.UTF8.GetBytes(
            """{"upstream":{"url":"http://127.0.0.1:9/mcp"},"policy":{"rules":[],"serverRequests":{"rules":[{"name":"r","action":"deny","upstreams":["nope"]}]}}}"""));
        Policy.PolicyEngine engine = Hosting.GatewayStages.CompilePolicy(options.Policy);
        ConfigurationException e = Assert.Throws<ConfigurationException>(() => Hosting.GatewayStages.CheckRuleUpstreams(engine, options));
        Assert.Equal("policy.serverRequests.rules[r].upstreams[0]", e.Field);
    }

    [Fact]
    public void A_webhook_secret_that_is_too_short_is_refused_without_showing_it()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "short-secret\n");
            var options = new Approvals.WebhookOptions { Url = "http://127.0.0.1:9/hook", SecretFile = file };
            options.Validate();
            ConfigurationException e = Assert.Throws<ConfigurationException>(() => options.LoadSecret());
            Assert.Equal("approvals.webhook.secretFile", e.Field);
            Assert.DoesNotContain("short-secret", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
