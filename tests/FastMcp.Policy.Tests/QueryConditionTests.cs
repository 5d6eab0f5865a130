using System.Text;
using static FastMcp.Policy.Tests.Support;

namespace FastMcp.Policy.Tests;

/// <summary>
/// Rules' query conditions: each names a parameter of the request target's query and tests its value decoded as the
/// upstream reads it (percent escapes, '+' as a space, UTF-8). A query the gateway cannot read that way is refused by
/// the built-in (unreadable-query) rule while any rule reads the query, and not read at all otherwise.
/// </summary>
public sealed class QueryConditionTests
{
    private static readonly FastMcp.Identity.Principal Alice = User("alice", ["sre"]);

    private static PolicyDecision DecideWithQuery(PolicyEngine engine, string query, string method = "tools/call", string name = "deploy") =>
        engine.Decide(new PolicyRequest(Alice, Encoding.UTF8.GetBytes(method), Encoding.UTF8.GetBytes(name), default, null, Encoding.ASCII.GetBytes(query)));

    private static Dictionary<string, ArgumentConditionOptions> Q(string name, ArgumentConditionOptions condition) => new() { [name] = condition };

    private static PolicyEngine StagingOnly() => Compile(
        Rule("deploy-staging", "allow", r => { r.Methods = ["tools/call"]; r.Names = ["deploy"]; r.Query = Q("tenant", new() { EqualsValue = "staging" }); }));

    [Theory]
    [InlineData("tenant=staging", "deploy-staging")]
    [InlineData("tenant=sta%67ing", "deploy-staging")]
    [InlineData("x=1&tenant=staging&y", "deploy-staging")]
    [InlineData("tenant=prod", null)]
    [InlineData("", null)]
    [InlineData("tenant", null)]
    [InlineData("tenant=staging+", null)]
    public void An_equals_condition_reads_the_value_decoded(string query, string? rule)
    {
        PolicyDecision d = DecideWithQuery(StagingOnly(), query);
        Assert.Equal(rule, d.Rule?.Name);
        Assert.Equal(rule is null ? PolicyAction.Deny : PolicyAction.Allow, d.Action);
    }

    [Theory]
    [InlineData("tenant=staging&tenant=prod")]
    [InlineData("tenant=staging&Tenant=prod")]
    [InlineData("TENANT=staging")]
    [InlineData("tenant=%zz")]
    [InlineData("tenant=staging%")]
    [InlineData("tenant=%C3")]
    [InlineData("tenant=%FF%FE")]
    [InlineData("tenant=staging;tenant=prod")]
    public void A_query_the_gateway_cannot_read_as_the_upstream_would_is_refused(string query)
    {
        PolicyDecision d = DecideWithQuery(StagingOnly(), query);
        Assert.Equal(PolicyAction.Deny, d.Action);
        Assert.Same(PolicyEngine.UnreadableQueryRule, d.Rule);
        Assert.Equal("(unreadable-query)", d.Rule!.Name);
    }

    [Fact]
    public void A_query_over_the_bound_is_refused_and_one_at_the_bound_is_read()
    {
        string at = "tenant=staging&pad=" + new string('a', PolicyEngine.MaxQueryBytes - "tenant=staging&pad=".Length);
        Assert.Equal("deploy-staging", DecideWithQuery(StagingOnly(), at).Rule?.Name);
        Assert.Same(PolicyEngine.UnreadableQueryRule, DecideWithQuery(StagingOnly(), at + "a").Rule);
    }

    [Fact]
    public void Other_parameters_may_repeat_and_nothing_is_read_without_a_query_condition()
    {
        Assert.Equal("deploy-staging", DecideWithQuery(StagingOnly(), "tenant=staging&x=1&x=2&X=3").Rule?.Name);
        PolicyEngine plain = Compile(Rule("all", "allow"));
        Assert.Equal("all", DecideWithQuery(plain, "tenant=%zz&tenant=a&tenant=b;").Rule?.Name);
    }

    [Fact]
    public void Every_operator_and_negate_work_on_the_decoded_value()
    {
        PolicyEngine engine = Compile(
            Rule("card", "deny", r => r.Query = Q("note", new() { ContainsCardNumber = true })),
            Rule("not-eu", "deny", r => r.Query = Q("region", new() { In = ["eu", "eu-west"], Negate = true })),
            Rule("admin-profile", "deny", r => r.Query = Q("profile", new() { Regex = "^adm" })),
            Rule("debug-flag", "deny", r => r.Query = Q("debug", new() { Exists = true })),
            Rule("rest", "allow"));
        Assert.Equal("card", DecideWithQuery(engine, "region=eu&note=pay+4111+1111+1111+1111").Rule?.Name);
        Assert.Equal("card", DecideWithQuery(engine, "region=eu&note=%34111111111111111").Rule?.Name);
        Assert.Equal("not-eu", DecideWithQuery(engine, "region=us").Rule?.Name);
        Assert.Equal("not-eu", DecideWithQuery(engine, "").Rule?.Name);
        Assert.Equal("admin-profile", DecideWithQuery(engine, "region=eu-west&profile=%61dmin").Rule?.Name);
        Assert.Equal("debug-flag", DecideWithQuery(engine, "region=eu&debug").Rule?.Name);
        Assert.Equal("rest", DecideWithQuery(engine, "region=eu&profile=user&note=1234").Rule?.Name);
        // A regex meets the value as text: UTF-8 decoded.
        PolicyEngine city = Compile(Rule("munich", "allow", r => r.Query = Q("city", new() { Regex = "^München$" })));
        Assert.Equal("munich", DecideWithQuery(city, "city=M%C3%BCnchen").Rule?.Name);
    }

    [Fact]
    public void All_of_a_rules_query_conditions_must_hold()
    {
        PolicyEngine engine = Compile(Rule("both", "allow", r => r.Query = new()
        {
            ["tenant"] = new() { EqualsValue = "staging" },
            ["profile"] = new() { EqualsValue = "ops" },
        }));
        Assert.Equal("both", DecideWithQuery(engine, "profile=ops&tenant=staging").Rule?.Name);
        Assert.Null(DecideWithQuery(engine, "tenant=staging").Rule);
    }

    [Fact]
    public void List_visibility_applies_the_lists_query()
    {
        PolicyEngine engine = Compile(
            Rule("deploy-staging", "allow", r => { r.Methods = ["tools/call"]; r.Names = ["deploy"]; r.Query = Q("tenant", new() { EqualsValue = "staging" }); }),
            Rule("no-admin-tenant", "deny", r => { r.Methods = ["tools/call"]; r.Names = ["read"]; r.Query = Q("tenant", new() { EqualsValue = "admin" }); }),
            Rule("read", "allow", r => { r.Methods = ["tools/call"]; r.Names = ["read"]; }));
        Assert.True(engine.IsVisible(Alice, "tools/call"u8, "deploy"u8, null, "tenant=staging"u8));
        Assert.False(engine.IsVisible(Alice, "tools/call"u8, "deploy"u8, null, "tenant=prod"u8));
        Assert.False(engine.IsVisible(Alice, "tools/call"u8, "deploy"u8, null, default));
        Assert.True(engine.IsVisible(Alice, "tools/call"u8, "read"u8, null, "tenant=prod"u8));
        Assert.False(engine.IsVisible(Alice, "tools/call"u8, "read"u8, null, "tenant=admin"u8));
        Assert.False(engine.IsVisible(Alice, "tools/call"u8, "read"u8, null, "tenant=prod&tenant=x"u8));
    }

    [Fact]
    public void Load_errors_name_the_query_field()
    {
        static PolicyException Refused(Action<RuleOptions> configure) => Assert.Throws<PolicyException>(() => Compile(Rule("x", "allow", configure)));
        Assert.Equal("query.tenant.regex", Refused(r => r.Query = Q("tenant", new() { Regex = "([a-z" })).Field);
        Assert.Equal("query.tenant", Refused(r => r.Query = Q("tenant", new())).Field);
        Assert.Equal("query.tenant.pointer", Refused(r => r.Query = Q("tenant", new() { Pointer = "/a", Exists = true })).Field);
        Assert.Equal("query.limit.greaterThan", Refused(r => r.Query = Q("limit", new() { GreaterThan = 5 })).Field);
        Assert.Equal("query", Refused(r => r.Query = Q("", new() { Exists = true })).Field);
        Assert.Equal("query.tenant.in", Refused(r => r.Query = Q("tenant", new() { In = [] })).Field);
        // A server's request has no query.
        var ex = Assert.Throws<PolicyException>(() => PolicyEngine.Compile(new PolicyOptions
        {
            Rules = [Rule("all", "allow")],
            ServerRequests = new ServerRequestPolicyOptions { Rules = [Rule("s", "deny", r => r.Query = Q("tenant", new() { Exists = true }))] },
        }));
        Assert.Equal("serverRequests", ex.Section);
        Assert.Equal("query", ex.Field);
    }

    [Fact]
    public void The_call_decision_reads_the_target_query_with_or_without_its_question_mark()
    {
        PolicyEngine engine = StagingOnly();
        Assert.Equal("deploy-staging", McpCallDecision.Decide(engine, Alice, "tools/call"u8, "deploy"u8, default, null, "?tenant=staging"u8).Rule?.Name);
        Assert.Equal("deploy-staging", McpCallDecision.Decide(engine, Alice, "tools/call"u8, "deploy"u8, default, null, "tenant=staging"u8).Rule?.Name);
        Assert.Same(PolicyEngine.UnreadableQueryRule, McpCallDecision.Decide(engine, Alice, "tools/call"u8, "deploy"u8, default, null, "?tenant=%"u8).Rule);
    }
}
