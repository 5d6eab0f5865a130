using System.Text.Json;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A number no double holds (1e999, -1e999, 1e400, a 400-digit integer) cannot be compared with a bound:
/// through the real gateway it never satisfies an allow rule's numeric condition and always satisfies a
/// deny or require_approval rule's, so an overflowing amount is refused or held, never let through.
/// </summary>
public sealed class UncomparableNumberTests
{
    private static readonly string FourHundredDigits = "9" + new string('0', 399);

    public static TheoryData<string> Uncomparable => new() { "1e999", "-1e999", "1e400", FourHundredDigits, "-" + FourHundredDigits };

    private static string Pay(string id, string amount) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"pay\",\"arguments\":{\"amount\":" + amount + "}}}";

    private static Task<PolicyGateway> StartAsync(List<RuleOptions> rules) => PolicyGateway.StartAsync(
        x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[]}}"), rules);

    private static void AssertDeniedByPolicy(RawResponse response)
    {
        Assert.Equal(200, response.Status);
        using JsonDocument body = JsonDocument.Parse(response.Body);
        Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
    }

    [Theory]
    [MemberData(nameof(Uncomparable))]
    public async Task An_allow_rule_with_a_bound_refuses_a_number_it_cannot_compare(string amount)
    {
        await using PolicyGateway gw = await StartAsync(
        [
            new RuleOptions { Name = "small-payments", Action = "allow", Methods = ["tools/call"], Names = ["pay"],
                Arguments = [new ArgumentConditionOptions { Pointer = "/amount", LessThanOrEqual = 100 }] },
        ]);

        Assert.Equal(200, (await gw.PostAsync(Pay("1", "50"), gw.Token("alice", "dev"))).Status);
        AssertDeniedByPolicy(await gw.PostAsync(Pay("2", amount), gw.Token("alice", "dev")));
        Assert.Single(gw.Upstream.Requests);
    }

    [Theory]
    [MemberData(nameof(Uncomparable))]
    public async Task A_negated_allow_condition_refuses_it_too(string amount)
    {
        await using PolicyGateway gw = await StartAsync(
        [
            new RuleOptions { Name = "not-large", Action = "allow", Methods = ["tools/call"], Names = ["pay"],
                Arguments = [new ArgumentConditionOptions { Pointer = "/amount", GreaterThan = 100, Negate = true }] },
        ]);

        AssertDeniedByPolicy(await gw.PostAsync(Pay("3", amount), gw.Token("alice", "dev")));
        Assert.Empty(gw.Upstream.Requests);
    }

    [Theory]
    [MemberData(nameof(Uncomparable))]
    public async Task A_deny_rule_with_a_bound_fires_on_a_number_it_cannot_compare(string amount)
    {
        await using PolicyGateway gw = await StartAsync(
        [
            new RuleOptions { Name = "large-payments", Action = "deny", Methods = ["tools/call"], Names = ["pay"],
                Arguments = [new ArgumentConditionOptions { Pointer = "/amount", GreaterThan = 100 }] },
            new RuleOptions { Name = "rest", Action = "allow" },
        ]);

        Assert.Equal(200, (await gw.PostAsync(Pay("4", "50"), gw.Token("alice", "dev"))).Status);
        RawResponse refused = await gw.PostAsync(Pay("5", amount), gw.Token("alice", "dev"));
        AssertDeniedByPolicy(refused);
        Assert.Contains("large-payments", refused.Body);
        Assert.Single(gw.Upstream.Requests);
    }

    [Theory]
    [MemberData(nameof(Uncomparable))]
    public async Task An_approval_rule_with_a_bound_holds_a_number_it_cannot_compare(string amount)
    {
        await using PolicyGateway gw = await StartAsync(
        [
            new RuleOptions { Name = "large-needs-approval", Action = "require_approval", Methods = ["tools/call"], Names = ["pay"],
                Arguments = [new ArgumentConditionOptions { Pointer = "/amount", GreaterThan = 100 }], Approvers = ["finance"] },
            new RuleOptions { Name = "rest", Action = "allow" },
        ]);

        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(Pay("6", amount), $"Authorization: Bearer {gw.Token("alice", "dev")}\r\n"));
        PendingApproval? held = null;
        for (int i = 0; i < 200 && held is null; i++)
        {
            List<PendingApproval> pending = gw.Gateway.Stages.Approvals!.List(includeDecided: false);
            if (pending.Count > 0) held = pending[0];
            else await Task.Delay(50);
        }
        Assert.NotNull(held);
        Assert.Equal("large-needs-approval", held.RuleName);
        Assert.Empty(gw.Upstream.Requests);
    }
}
