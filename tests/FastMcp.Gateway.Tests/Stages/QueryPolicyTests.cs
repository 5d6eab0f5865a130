using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Rules decide on the request target's query (docs/policy.md, "Query conditions"): the value is read decoded as the
/// upstream reads it, and while any rule reads the query one the gateway cannot read is refused (-32602, rule
/// (unreadable-query)) and never reaches the upstream. Through the real gateway, its upstream and its audit log.
/// </summary>
public sealed class QueryPolicyTests
{
    private static string Call(int id, string tool) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":{}}}";

    private static Task EmptyResult(UpstreamExchange x) => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}");

    private static List<RuleOptions> StagingDeploys() =>
    [
        new RuleOptions
        {
            Name = "deploy-staging", Action = "allow", Methods = ["tools/call"], Names = ["deploy"],
            Query = new() { ["tenant"] = new ArgumentConditionOptions { EqualsValue = "staging" } },
        },
    ];

    private static (string? Type, string? Rule, string? Query) Record(string line)
    {
        using JsonDocument d = JsonDocument.Parse(line);
        JsonElement r = d.RootElement;
        string? query = r.TryGetProperty("component", out JsonElement c) && c.TryGetProperty("query", out JsonElement q) ? q.GetString() : null;
        return (r.GetProperty("type").GetString(), r.TryGetProperty("rule", out JsonElement rule) ? rule.GetString() : null, query);
    }

    [Fact]
    public async Task Deploy_is_allowed_for_tenant_staging_only_and_the_refusals_are_recorded()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(EmptyResult, StagingDeploys());
        string token = g.Token("alice", "sre");

        RawResponse staging = await g.PostAsync(Call(1, "deploy"), token, path: "/mcp?tenant=staging");
        RawResponse escaped = await g.PostAsync(Call(2, "deploy"), token, path: "/mcp?tenant=sta%67ing&x=1");
        RawResponse prod = await g.PostAsync(Call(3, "deploy"), token, path: "/mcp?tenant=prod");
        RawResponse none = await g.PostAsync(Call(4, "deploy"), token);

        Assert.Equal(200, staging.Status);
        Assert.Equal(200, escaped.Status);
        Assert.Equal((-32001, "3"), prod.JsonRpcError());
        Assert.Equal((-32001, "4"), none.JsonRpcError());
        Assert.Equal(["/mcp?tenant=staging", "/mcp?tenant=sta%67ing&x=1"], g.Upstream.Requests.Select(r => r.Target).ToArray());

        (string? Type, string? Rule, string? Query)[] records = [.. (await g.StopAndReadAuditAsync()).Select(Record).Where(r => r.Type is "Denied" or "McpExchange")];
        Assert.Contains(("Denied", "(default)", "tenant=prod"), records);
        Assert.Contains(("Denied", "(default)", null), records);
        Assert.Contains(("McpExchange", "deploy-staging", "tenant=sta%67ing&x=1"), records);
    }

    [Theory]
    [InlineData("?tenant=staging&tenant=prod")]
    [InlineData("?tenant=staging&TENANT=prod")]
    [InlineData("?tenant=%zzstaging")]
    [InlineData("?tenant=%FFstaging")]
    [InlineData("?tenant=staging;tenant=prod")]
    public async Task A_query_the_gateway_cannot_read_as_the_upstream_would_is_refused_as_unreadable(string query)
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(EmptyResult, StagingDeploys());
        RawResponse answer = await g.PostAsync(Call(7, "deploy"), g.Token("alice"), path: "/mcp" + query);

        Assert.Equal(200, answer.Status);
        Assert.Equal((-32602, "7"), answer.JsonRpcError());
        Assert.Contains("query could not be read", answer.Body);
        Assert.Empty(g.Upstream.Requests);
        string denied = Assert.Single(await g.StopAndReadAuditAsync(), r => r.Contains("\"type\":\"Denied\""));
        Assert.Equal(("Denied", "(unreadable-query)", query[1..]), Record(denied));
    }

    [Fact]
    public async Task Without_a_rule_that_reads_the_query_an_unreadable_one_passes_as_before()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(EmptyResult, [new RuleOptions { Name = "all", Action = "allow" }]);
        RawResponse answer = await g.PostAsync(Call(1, "deploy"), g.Token("alice"), path: "/mcp?tenant=a&tenant=%zz;");

        Assert.Equal(200, answer.Status);
        Assert.Equal("/mcp?tenant=a&tenant=%zz;", g.Upstream.SingleRequest().Target);
    }

    [Fact]
    public async Task A_deny_rule_with_a_query_condition_refuses_only_the_queries_it_names()
    {
        List<RuleOptions> rules =
        [
            new RuleOptions
            {
                Name = "no-admin-profile", Action = "deny", Methods = ["tools/call"], Message = "the admin profile is not for agents",
                Query = new() { ["profile"] = new ArgumentConditionOptions { Regex = "^admin" } },
            },
            new RuleOptions { Name = "rest", Action = "allow" },
        ];
        await using PolicyGateway g = await PolicyGateway.StartAsync(EmptyResult, rules);
        string token = g.Token("alice");

        RawResponse admin = await g.PostAsync(Call(1, "read"), token, path: "/mcp?profile=%61dmin-eu");
        RawResponse user = await g.PostAsync(Call(2, "read"), token, path: "/mcp?profile=user");

        Assert.Equal((-32001, "1"), admin.JsonRpcError());
        Assert.Contains("the admin profile is not for agents", admin.Body);
        Assert.Equal(200, user.Status);
        Assert.Equal("/mcp?profile=user", g.Upstream.SingleRequest().Target);
        Assert.Contains(await g.StopAndReadAuditAsync(), r => Record(r) == ("Denied", "no-admin-profile", "profile=%61dmin-eu"));
    }

    [Fact]
    public async Task A_list_shows_what_the_calls_with_the_lists_query_may_call()
    {
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "lists", Action = "allow", Methods = ["tools/list"] },
            new RuleOptions
            {
                Name = "deploy-staging", Action = "allow", Methods = ["tools/call"], Names = ["deploy"],
                Query = new() { ["tenant"] = new ArgumentConditionOptions { EqualsValue = "staging" } },
            },
            new RuleOptions { Name = "read", Action = "allow", Methods = ["tools/call"], Names = ["read"] },
        ];
        await using PolicyGateway g = await PolicyGateway.StartAsync(x => x.RespondJsonAsync(PolicyGateway.ToolsListResult(x.Request.IdJson(), "deploy", "read")), rules);
        string token = g.Token("alice");
        const string list = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}";

        RawResponse staging = await g.PostAsync(list, token, path: "/mcp?tenant=staging");
        RawResponse prod = await g.PostAsync(list, token, path: "/mcp?tenant=prod");

        using JsonDocument s = JsonDocument.Parse(staging.Body);
        using JsonDocument p = JsonDocument.Parse(prod.Body);
        Assert.Equal(["deploy", "read"], PolicyGateway.ToolNames(s.RootElement));
        Assert.Equal(["read"], PolicyGateway.ToolNames(p.RootElement));
    }

    [Fact]
    public async Task Each_member_of_a_batch_is_decided_with_the_batchs_query()
    {
        static Task AnswerEach(UpstreamExchange x)
        {
            using JsonDocument d = JsonDocument.Parse(x.Request.Body);
            string answers = string.Join(",", d.RootElement.EnumerateArray().Select(m => "{\"jsonrpc\":\"2.0\",\"id\":" + m.GetProperty("id").GetRawText() + ",\"result\":{}}"));
            return x.RespondJsonAsync("[" + answers + "]");
        }
        await using PolicyGateway g = await PolicyGateway.StartAsync(AnswerEach, StagingDeploys());
        string token = g.Token("alice");
        string batch = "[" + Call(1, "deploy") + "," + Call(2, "deploy") + "]";

        RawResponse staging = await g.PostAsync(batch, token, path: "/mcp?tenant=staging");
        RawResponse twice = await g.PostAsync(batch, token, path: "/mcp?tenant=staging&tenant=prod");

        Assert.Equal(200, staging.Status);
        Assert.Equal("/mcp?tenant=staging", g.Upstream.SingleRequest().Target);
        using JsonDocument refused = JsonDocument.Parse(twice.Body);
        int[] codes = [.. refused.RootElement.EnumerateArray().Select(m => m.GetProperty("error").GetProperty("code").GetInt32())];
        Assert.Equal([-32602, -32602], codes);
    }

    [Fact]
    public async Task Load_errors_name_the_query_field()
    {
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "x", Action = "allow", Query = new() { ["tenant"] = new ArgumentConditionOptions { Regex = "([a-z" } } },
        ];
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => PolicyGateway.StartAsync(EmptyResult, rules));
        Assert.Equal("policy.rules[x].query.tenant.regex", e.Field);

        var server = await Assert.ThrowsAsync<ConfigurationException>(() => PolicyGateway.StartAsync(EmptyResult, [new RuleOptions { Name = "all", Action = "allow" }],
            o => o.Policy!.ServerRequests = new ServerRequestPolicyOptions
            {
                Rules = [new RuleOptions { Name = "s", Action = "deny", Query = new() { ["tenant"] = new ArgumentConditionOptions { Exists = true } } }],
            }));
        Assert.Equal("policy.serverRequests.rules[s].query", server.Field);
    }

    [Fact]
    public async Task A_rule_reading_the_query_is_written_in_the_configuration_file_as_an_object()
    {
        const string json = """
            { "policy": { "rules": [ { "name": "deploy-staging", "action": "allow", "names": ["deploy"],
                "query": { "tenant": { "equals": "staging" }, "debug": { "exists": true, "negate": true } } } ] } }
            """;
        GatewayOptions options = System.Text.Json.JsonSerializer.Deserialize(json, GatewayJsonContext.Default.GatewayOptions)!;
        RuleOptions rule = Assert.Single(options.Policy!.Rules);
        Assert.Equal(["tenant", "debug"], rule.Query!.Keys.ToArray());
        Assert.Equal("staging", rule.Query["tenant"].EqualsValue);
        Assert.True(rule.Query["debug"].Negate);
    }
}
