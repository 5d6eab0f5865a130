using System.Globalization;
using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Rules decide on where a call comes from (<c>addresses</c>: the client address clientAddress resolves, the audit's
/// origin.address) and when it is made (<c>time</c>: the gateway's clock). Through the real gateway: the client address
/// is named by a trusted proxy's X-Forwarded-For, the time windows are computed from the test's clock around now.
/// </summary>
public sealed class AddressAndTimePolicyTests
{
    private static string Call(int id, string tool) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":{}}}";

    private static Task Answer(UpstreamExchange x)
    {
        if (x.Request.Body.StartsWith('['))
        {
            // A batch: one empty result per member.
            using JsonDocument batch = JsonDocument.Parse(x.Request.Body);
            string[] results = [.. batch.RootElement.EnumerateArray().Select(m => "{\"jsonrpc\":\"2.0\",\"id\":" + m.GetProperty("id").GetRawText() + ",\"result\":{}}")];
            return x.RespondJsonAsync("[" + string.Join(",", results) + "]");
        }
        return x.Request.Body.Contains("tools/list", StringComparison.Ordinal)
            ? x.RespondJsonAsync(PolicyGateway.ToolsListResult(x.Request.IdJson(), "deploy", "status"))
            : x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}");
    }

    private static Task<PolicyGateway> StartAsync(List<RuleOptions> rules) =>
        PolicyGateway.StartAsync(Answer, rules, o => o.ClientAddress.TrustedProxies = ["127.0.0.1"]);

    private static string From(string address) => $"X-Forwarded-For: {address}\r\n";

    private static List<RuleOptions> DeployFromCiOnly() =>
    [
        new RuleOptions { Name = "lists", Action = "allow", Methods = ["tools/list"] },
        new RuleOptions { Name = "status", Action = "allow", Methods = ["tools/call"], Names = ["status"] },
        new RuleOptions { Name = "deploy-from-ci", Action = "allow", Methods = ["tools/call"], Names = ["deploy"], Addresses = ["10.20.0.0/16", "2001:db8:20::/48"] },
    ];

    [Fact]
    public async Task Deploy_is_allowed_from_the_ci_network_only_and_the_refusal_is_recorded_with_its_origin()
    {
        await using PolicyGateway g = await StartAsync(DeployFromCiOnly());
        string token = g.Token("ci-bot");

        RawResponse inside = await g.PostAsync(Call(1, "deploy"), token, From("10.20.3.4"));
        RawResponse insideV6 = await g.PostAsync(Call(2, "deploy"), token, From("2001:db8:20:1::9"));
        RawResponse laptop = await g.PostAsync(Call(3, "deploy"), token, From("203.0.113.9"));
        RawResponse neighbour = await g.PostAsync(Call(4, "deploy"), token, From("10.21.0.1"));
        RawResponse status = await g.PostAsync(Call(5, "status"), token, From("203.0.113.9"));

        Assert.Equal(200, inside.Status);
        Assert.Contains("\"result\"", inside.Body);
        Assert.Contains("\"result\"", insideV6.Body);
        Assert.Equal((-32001, "3"), laptop.JsonRpcError());
        Assert.Equal((-32001, "4"), neighbour.JsonRpcError());
        Assert.Contains("\"result\"", status.Body);
        Assert.Equal(3, g.Upstream.Requests.Count);

        string denied = (await g.StopAndReadAuditAsync()).First(l => l.Contains("\"type\":\"Denied\"", StringComparison.Ordinal));
        using JsonDocument record = JsonDocument.Parse(denied);
        Assert.Equal("203.0.113.9", record.RootElement.GetProperty("origin").GetProperty("address").GetString());
    }

    [Fact]
    public async Task A_batch_member_is_decided_on_the_address_of_the_batch()
    {
        await using PolicyGateway g = await StartAsync(DeployFromCiOnly());
        string token = g.Token("ci-bot");
        string batch = "[" + Call(1, "deploy") + "," + Call(2, "status") + "]";

        RawResponse outside = await g.PostAsync(batch, token, From("203.0.113.9"));
        Assert.Empty(g.Upstream.Requests);
        RawResponse inside = await g.PostAsync(batch, token, From("10.20.3.4"));

        using JsonDocument refused = JsonDocument.Parse(outside.Body);
        JsonElement deploy = refused.RootElement.EnumerateArray().Single(m => m.GetProperty("id").GetInt32() == 1);
        Assert.Equal(-32001, deploy.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("\"result\"", inside.Body);
        Assert.DoesNotContain("\"error\"", inside.Body);
        Assert.Single(g.Upstream.Requests);
    }

    [Fact]
    public async Task A_grant_given_for_a_call_from_the_ci_network_does_not_admit_the_same_call_from_elsewhere()
    {
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "deploy-from-ci", Action = "require_approval", Methods = ["tools/call"], Names = ["deploy"],
                Addresses = ["10.20.0.0/16"], ApprovalMode = "grant", Approvers = ["release"] },
        ];
        await using PolicyGateway g = await PolicyGateway.StartAsync(Answer, rules, o =>
        {
            o.ClientAddress.TrustedProxies = ["127.0.0.1"];
            o.Approvals.ApproverGroups = ["release"];
        });
        string token = g.Token("ci-bot", "ci");

        RawResponse asked = await g.PostAsync(Call(1, "deploy"), token, From("10.20.3.4"));
        Assert.Equal(-32002, asked.JsonRpcError().Code);
        var broker = g.Gateway.Stages.Approvals!;
        var approval = Assert.Single(broker.List(includeDecided: false));
        var approver = new FastMcp.Identity.Principal("rita", ["release"], [], null, "issuer", DateTimeOffset.MaxValue);
        Assert.Equal(200, (await broker.ApproveAsync(approval.Id, approver, null, "127.0.0.1")).Status);

        RawResponse elsewhere = await g.PostAsync(Call(2, "deploy"), token, From("203.0.113.9"));
        RawResponse again = await g.PostAsync(Call(3, "deploy"), token, From("10.20.3.4"));

        Assert.Equal((-32001, "2"), elsewhere.JsonRpcError());
        Assert.Contains("\"result\"", again.Body);
        Assert.Single(g.Upstream.Requests);
    }

    [Fact]
    public async Task A_tools_list_from_outside_the_network_hides_the_tool_only_reachable_from_inside()
    {
        await using PolicyGateway g = await StartAsync(DeployFromCiOnly());
        string token = g.Token("ci-bot");
        const string list = "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/list\"}";

        RawResponse inside = await g.PostAsync(list, token, From("10.20.200.1"));
        RawResponse outside = await g.PostAsync(list, token, From("192.0.2.1"));

        using JsonDocument insideJson = JsonDocument.Parse(inside.Body);
        using JsonDocument outsideJson = JsonDocument.Parse(outside.Body);
        Assert.Equal(["deploy", "status"], PolicyGateway.ToolNames(insideJson.RootElement));
        Assert.Equal(["status"], PolicyGateway.ToolNames(outsideJson.RootElement));
    }

    [Fact]
    public async Task A_time_window_around_now_allows_and_one_starting_later_does_not()
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        string Instant(TimeSpan offset) => (now + offset).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "deploy-in-window", Action = "allow", Names = ["deploy"],
                Time = new TimeConditionOptions { NotBefore = Instant(TimeSpan.FromHours(-1)), NotAfter = Instant(TimeSpan.FromHours(1)) } },
            new RuleOptions { Name = "status-after-freeze", Action = "allow", Names = ["status"],
                Time = new TimeConditionOptions { NotBefore = Instant(TimeSpan.FromHours(1)) } },
        ];
        await using PolicyGateway g = await StartAsync(rules);
        string token = g.Token("alice");

        RawResponse deploy = await g.PostAsync(Call(1, "deploy"), token);
        RawResponse status = await g.PostAsync(Call(2, "status"), token);

        Assert.Contains("\"result\"", deploy.Body);
        Assert.Equal((-32001, "2"), status.JsonRpcError());
        Assert.Single(g.Upstream.Requests);
    }
}
