using System.Text.Json;
using System.Text.RegularExpressions;
using FastMcp.Gateway.RateLimiting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.RateLimiting;

/// <summary>
/// Request budgets: per client address before the token is validated, per subject before policy and the upstream;
/// past them 429 with Retry-After and a JSON-RPC error, counted in /metrics and recorded in aggregate.
/// </summary>
public sealed class RateLimitTests
{
    private const string Call = """{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}""";

    private static Task<PolicyGateway> StartAsync(Action<Configuration.GatewayOptions> configure) =>
        PolicyGateway.StartAsync(x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[]}}"),
            [new RuleOptions { Name = "all", Action = "allow" }], configure);

    private static long Aggregated(string[] audit, string limit) =>
        audit.Where(l => l.Contains("\"type\":\"Denied\"") && l.Contains(limit))
            .Select(l => Regex.Match(l, @"(\d+) request\(s\) refused with 429")).Where(m => m.Success).Sum(m => long.Parse(m.Groups[1].Value));

    [Fact]
    public async Task A_subject_past_its_budget_gets_429_before_the_upstream_and_the_refusals_are_recorded_in_aggregate()
    {
        await using var gw = await StartAsync(o =>
        {
            o.RateLimits.PerSubject = new BucketOptions { PerMinute = 1, Burst = 3 };
            o.RateLimits.RecordIntervalSeconds = 1;
        });
        string alice = gw.Token("alice");

        var statuses = new List<int>();
        RawResponse? refused = null;
        for (int i = 0; i < 8; i++)
        {
            RawResponse r = await gw.PostAsync(Call, alice);
            statuses.Add(r.Status);
            if (r.Status == 429) refused ??= r;
        }
        Assert.Equal([200, 200, 200, 429, 429, 429, 429, 429], statuses);
        Assert.Equal(3, gw.Upstream.Requests.Count);
        Assert.True(int.Parse(refused!.Header("Retry-After")!) >= 1);
        (int code, string id) = refused.JsonRpcError();
        Assert.Equal(-32007, code);
        Assert.Equal("null", id);
        // Another subject has its own budget.
        Assert.Equal(200, (await gw.PostAsync(Call, gw.Token("bob"))).Status);

        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_rate_limited_total{scope=\"subject\"} 5\n", metrics);

        string[] audit = await gw.StopAndReadAuditAsync();
        Assert.Equal(5, Aggregated(audit, "rate limit per subject"));
        string record = audit.First(l => l.Contains("rate limit per subject"));
        Assert.Equal("alice", JsonDocument.Parse(record).RootElement.GetProperty("user").GetProperty("subject").GetString());
        Assert.True(audit.Count(l => l.Contains("rate limit per subject")) <= 3, "refusals were recorded one by one");
    }

    [Fact]
    public async Task A_client_address_past_its_budget_is_refused_before_its_token_is_validated()
    {
        await using var gw = await StartAsync(o =>
        {
            o.RateLimits.PerClientAddress = new BucketOptions { PerMinute = 1, Burst = 2 };
            o.RateLimits.RecordIntervalSeconds = 1;
        });

        Assert.Equal(200, (await gw.PostAsync(Call, gw.Token("alice"))).Status);
        Assert.Equal(401, (await gw.PostAsync(Call, "not-a-token")).Status);
        // Past the budget even a bad token gets 429, not 401: it was not looked at (no AuthenticationFailed record).
        RawResponse r = await gw.PostAsync(Call, "not-a-token-either");
        Assert.Equal(429, r.Status);
        Assert.Equal(429, (await gw.PostAsync(Call, gw.Token("bob"))).Status);

        string[] audit = await gw.StopAndReadAuditAsync();
        Assert.Single(audit, l => l.Contains("\"type\":\"AuthenticationFailed\""));
        Assert.Equal(2, Aggregated(audit, "rate limit per client address"));
        Assert.Contains(audit, l => l.Contains("rate limit per client address") && l.Contains("\"address\":\"127.0.0.1\""));
    }

    [Fact]
    public void The_table_stays_its_size_under_a_flood_of_keys_and_evicted_refusals_are_still_counted()
    {
        var table = new TokenBucketTable(perMinute: 1, burst: 1, capacity: 64);
        for (int i = 0; i < 10_000; i++)
        {
            string key = "k" + i;
            Assert.True(table.TryTake(key, out _));
            Assert.False(table.TryTake(key, out int wait));
            Assert.True(wait >= 1);
        }
        Assert.Equal(64, table.Capacity);
        List<(string Key, long Refused)> kept = table.DrainRefused(out long evicted);
        Assert.True(kept.Count <= 64);
        Assert.Equal(10_000, kept.Sum(k => k.Refused) + evicted);
    }

    [Fact]
    public void Taking_a_token_for_a_tracked_key_allocates_nothing()
    {
        var table = new TokenBucketTable(perMinute: 60_000_000, burst: 1_000_000, capacity: 1024);
        string key = "203.0.113.9";
        table.TryTake(key, out _);
        Assert.Equal(0, ThreadAllocations.Measure(() => { for (int i = 0; i < 10_000; i++) table.TryTake(key, out _); }));
    }
}

/// <summary>A policy rule's own budget: calls that rule allows, per subject, past it 429 with the request's id.</summary>
public sealed class RuleRateLimitTests
{
    private static string ToolCall(int id, string tool) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":{}}}";

    [Fact]
    public async Task Calls_past_the_allowing_rules_budget_get_429_while_other_rules_calls_pass()
    {
        await using var gw = await PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[]}}"),
            [
                new RuleOptions { Name = "expensive", Action = "allow", Methods = ["tools/call"], Names = ["render_video"], RateLimitPerMinute = 1, RateLimitBurst = 2 },
                new RuleOptions { Name = "all", Action = "allow" },
            ],
            o => o.RateLimits.RecordIntervalSeconds = 1);
        string alice = gw.Token("alice");

        Assert.Equal(200, (await gw.PostAsync(ToolCall(1, "render_video"), alice)).Status);
        Assert.Equal(200, (await gw.PostAsync(ToolCall(2, "render_video"), alice)).Status);
        RawResponse refused = await gw.PostAsync(ToolCall(3, "render_video"), alice);
        Assert.Equal(429, refused.Status);
        Assert.NotNull(refused.Header("Retry-After"));
        (int code, string id) = refused.JsonRpcError();
        Assert.Equal(-32007, code);
        Assert.Equal("3", id);
        Assert.Equal(200, (await gw.PostAsync(ToolCall(4, "search"), alice)).Status);                  // another rule
        Assert.Equal(200, (await gw.PostAsync(ToolCall(5, "render_video"), gw.Token("bob"))).Status); // another subject
        // A batch cannot go around it either.
        string batch = "[" + ToolCall(6, "render_video") + "," + ToolCall(7, "search") + "]";
        Assert.Equal(429, (await gw.PostAsync(batch, alice, "MCP-Protocol-Version: 2025-03-26\r\n")).Status);
        Assert.Equal(4, gw.Upstream.Requests.Count);

        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_rate_limited_total{scope=\"rule\"} 2\n", metrics);
        string[] audit = await gw.StopAndReadAuditAsync();
        string[] records = [.. audit.Where(l => l.Contains("rate limit of policy rule") && l.Contains("\"rule\":\"expensive\""))];
        Assert.NotEmpty(records);
        Assert.Equal(2, records.Sum(l => long.Parse(Regex.Match(l, @"(\d+) request\(s\) refused with 429").Groups[1].Value)));
    }

    [Fact]
    public void A_budget_on_a_rule_that_does_not_allow_is_refused_at_load()
    {
        var e = Assert.Throws<PolicyException>(() => PolicyEngine.Compile(new PolicyOptions
        {
            Rules = [new RuleOptions { Name = "no", Action = "deny", RateLimitPerMinute = 5 }],
        }));
        Assert.Contains("rateLimitPerMinute", e.Message);
    }
}
