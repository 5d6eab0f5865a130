using static FastMcp.Policy.Tests.Support;

namespace FastMcp.Policy.Tests;

public sealed class ArgumentConditionTests
{
    private static readonly FastMcp.Identity.Principal Alice = User("alice", ["sre"]);

    private static bool Matches(ArgumentConditionOptions condition, string args)
    {
        var engine = Compile(Rule("c", "allow", r => r.Arguments = [condition]));
        return engine.Decide(Alice, "tools/call", "t", args).Rule is not null;
    }

    [Theory]
    [InlineData("""{"env":"prod"}""", true)]
    [InlineData("""{"env":"production"}""", false)]
    [InlineData("""{"env":"pr\u006fd"}""", true)]
    [InlineData("""{"other":"prod"}""", false)]
    [InlineData("""{"env":["prod"]}""", false)]
    [InlineData("", false)]
    public void Equals_string(string args, bool expected) =>
        Assert.Equal(expected, Matches(new() { Pointer = "/env", EqualsValue = "prod" }, args));

    [Theory]
    [InlineData("""{"n":5}""", true)]
    [InlineData("""{"n":5.0}""", true)]
    [InlineData("""{"n":5e0}""", true)]
    [InlineData("""{"n":"5"}""", true)]
    [InlineData("""{"n":6}""", false)]
    public void Equals_number(string args, bool expected) =>
        Assert.Equal(expected, Matches(new() { Pointer = "/n", EqualsValue = "5" }, args));

    [Theory]
    [InlineData("""{"f":true}""", "true", true)]
    [InlineData("""{"f":false}""", "true", false)]
    [InlineData("""{"f":null}""", "null", true)]
    public void Equals_literals(string args, string literal, bool expected) =>
        Assert.Equal(expected, Matches(new() { Pointer = "/f", EqualsValue = literal }, args));

    [Theory]
    [InlineData("""{"region":"eu-west-1"}""", true)]
    [InlineData("""{"region":"us-east-1"}""", true)]
    [InlineData("""{"region":"ap-south-1"}""", false)]
    public void In_list(string args, bool expected) =>
        Assert.Equal(expected, Matches(new() { Pointer = "/region", In = ["eu-west-1", "us-east-1"] }, args));

    [Theory]
    [InlineData("""{"path":"/tmp/a.txt"}""", true)]
    [InlineData("""{"path":"/etc/passwd"}""", false)]
    [InlineData("""{"path":"\/tmp\/escaped"}""", true)]
    [InlineData("""{"path":42}""", false)]
    public void Regex_over_decoded_string(string args, bool expected) =>
        Assert.Equal(expected, Matches(new() { Pointer = "/path", Regex = "^/tmp/" }, args));

    [Fact]
    public void Regex_over_a_long_string_uses_a_pooled_buffer()
    {
        string longValue = new string('a', 5000) + "needle";
        Assert.True(Matches(new() { Pointer = "/q", Regex = "needle$" }, $$"""{"q":"{{longValue}}"}"""));
    }

    [Theory]
    [InlineData("""{"limit":1001}""", true)]
    [InlineData("""{"limit":1000}""", false)]
    [InlineData("""{"limit":"2000"}""", false)]
    public void Greater_than(string args, bool expected) =>
        Assert.Equal(expected, Matches(new() { Pointer = "/limit", GreaterThan = 1000 }, args));

    [Theory]
    [InlineData("""{"n":10}""", true)]
    [InlineData("""{"n":20}""", true)]
    [InlineData("""{"n":9.99}""", false)]
    [InlineData("""{"n":20.5}""", false)]
    public void Inclusive_range(string args, bool expected) =>
        Assert.Equal(expected, Matches(new() { Pointer = "/n", GreaterThanOrEqual = 10, LessThanOrEqual = 20 }, args));

    [Theory]
    [InlineData("""{"n":-1}""", true)]
    [InlineData("""{"n":0}""", false)]
    public void Less_than(string args, bool expected) =>
        Assert.Equal(expected, Matches(new() { Pointer = "/n", LessThan = 0 }, args));

    [Theory]
    [InlineData("""{"opts":{"force":false}}""", true, true)]
    [InlineData("""{"opts":{}}""", true, false)]
    [InlineData("""{"opts":{}}""", false, true)]
    [InlineData("", false, true)]
    public void Exists(string args, bool exists, bool expected) =>
        Assert.Equal(expected, Matches(new() { Pointer = "/opts/force", Exists = exists }, args));

    [Theory]
    [InlineData("""{"items":[{"name":"a"},{"name":"b"}]}""", "/items/1/name", "b", true)]
    [InlineData("""{"items":[{"name":"a"},{"name":"b"}]}""", "/items/2/name", "b", false)]
    [InlineData("""{"items":[{"name":"a"}]}""", "/items/01/name", "a", false)]
    [InlineData("""{"a/b":{"m~n":"x"}}""", "/a~1b/m~0n", "x", true)]
    [InlineData("""{"":"empty-key"}""", "/", "empty-key", true)]
    [InlineData("""{"skip":{"deep":[1,{"x":2}]},"k":"v"}""", "/k", "v", true)]
    public void Pointers(string args, string pointer, string value, bool expected) =>
        Assert.Equal(expected, Matches(new() { Pointer = pointer, EqualsValue = value }, args));

    [Theory]
    [InlineData("""{"note":"card 4111111111111111 please"}""", "/note", true)]
    [InlineData("""{"note":"order 1234567890123456"}""", "/note", false)]
    [InlineData("""{"note":"\u0034111111111111111"}""", "/note", true)]
    [InlineData("""{"pan":4111111111111111}""", "/pan", true)]
    [InlineData("""{"customer":{"cards":[{"n":"5500000000000004"}]}}""", "/customer", true)]
    [InlineData("""{"customer":{"cards":[{"n":"5500000000000004"}]}}""", "", true)]
    [InlineData("""{"customer":{"name":"x"}}""", "", false)]
    public void Contains_card_number(string args, string pointer, bool expected) =>
        Assert.Equal(expected, Matches(new() { Pointer = pointer, ContainsCardNumber = true }, args));

    [Fact]
    public void Contains_card_number_false_means_no_card()
    {
        Assert.True(Matches(new() { Pointer = "/note", ContainsCardNumber = false }, """{"note":"hello"}"""));
        Assert.False(Matches(new() { Pointer = "/note", ContainsCardNumber = false }, """{"note":"4111111111111111"}"""));
    }

    [Fact]
    public void Negate_inverts_and_matches_missing_values()
    {
        var notProd = new ArgumentConditionOptions { Pointer = "/env", EqualsValue = "prod", Negate = true };
        Assert.False(Matches(notProd, """{"env":"prod"}"""));
        Assert.True(Matches(notProd, """{"env":"dev"}"""));
        Assert.True(Matches(notProd, """{}"""));
    }

    [Fact]
    public void All_conditions_of_a_rule_must_hold()
    {
        var engine = Compile(Rule("both", "deny", r => r.Arguments =
        [
            new() { Pointer = "/env", EqualsValue = "prod" },
            new() { Pointer = "/force", EqualsValue = "true" },
        ]));
        Assert.NotNull(engine.Decide(Alice, "tools/call", "t", """{"env":"prod","force":true}""").Rule);
        Assert.Null(engine.Decide(Alice, "tools/call", "t", """{"env":"prod","force":false}""").Rule);
    }

    [Fact]
    public void Malformed_arguments_are_denied_even_when_a_deny_rule_would_be_skipped()
    {
        var engine = Compile(
            Rule("deny-prod", "deny", r => r.Arguments = [new() { Pointer = "/env", EqualsValue = "prod" }]),
            Rule("allow-rest", "allow"));
        var d = engine.Decide(Alice, "tools/call", "t", """{"other": [1, 2 "env": "prod"}""");
        Assert.Equal(PolicyAction.Deny, d.Action);
        Assert.Same(PolicyEngine.MalformedArgumentsRule, d.Rule);
    }

    // A number beyond a double's range cannot be compared: it never satisfies an allow rule's bound, and always
    // satisfies a deny or require_approval rule's bound, negated or not (issue: 1e999 was "not > 100" and passed).
    [Theory]
    [InlineData("""{"amount":1e999}""")]
    [InlineData("""{"amount":-1e999}""")]
    [InlineData("""{"amount":1E400}""")]
    public void A_number_no_bound_can_compare_fails_closed(string args)
    {
        Assert.False(Matches(new() { Pointer = "/amount", LessThan = 100 }, args));
        Assert.False(Matches(new() { Pointer = "/amount", LessThan = 100, Negate = true }, args));

        var deny = Compile(
            Rule("big", "deny", r => r.Arguments = [new() { Pointer = "/amount", GreaterThan = 100 }]),
            Rule("rest", "allow"));
        Assert.Equal(PolicyAction.Deny, deny.Decide(Alice, "tools/call", "t", args).Action);

        var negatedDeny = Compile(
            Rule("small-only", "deny", r => r.Arguments = [new() { Pointer = "/amount", LessThanOrEqual = 100, Negate = true }]),
            Rule("rest", "allow"));
        Assert.Equal(PolicyAction.Deny, negatedDeny.Decide(Alice, "tools/call", "t", args).Action);

        var approval = Compile(
            Rule("review", "require_approval", r => { r.Approvers = ["sre"]; r.Arguments = [new() { Pointer = "/amount", GreaterThan = 100 }]; }),
            Rule("rest", "allow"));
        Assert.Equal(PolicyAction.RequireApproval, approval.Decide(Alice, "tools/call", "t", args).Action);
    }

    [Fact]
    public void A_large_finite_number_is_still_compared()
    {
        var deny = Compile(
            Rule("big", "deny", r => r.Arguments = [new() { Pointer = "/amount", GreaterThan = 100 }]),
            Rule("rest", "allow"));
        Assert.Equal(PolicyAction.Allow, deny.Decide(Alice, "tools/call", "t", """{"amount":99}""").Action);
        Assert.Equal(PolicyAction.Deny, deny.Decide(Alice, "tools/call", "t", """{"amount":1e300}""").Action);
    }

    [Fact]
    public void ContainsSensitiveData_sees_what_masking_blanks_and_a_walk_too_deep_denies()
    {
        var engine = Compile(
            Rule("sad-allowed-only-without", "allow", r => r.Arguments = [new() { Pointer = "", ContainsSensitiveData = false }]));
        var alice = User("alice");
        Assert.Equal(PolicyAction.Allow, engine.Decide(alice, "tools/call", "t", """{"card":{"cvv":""},"pins":3}""").Action);
        Assert.True(engine.Decide(alice, "tools/call", "t", """{"card":{"CVV":"1"}}""").IsDefault);
        Assert.True(engine.Decide(alice, "tools/call", "t", """{"t":"%B4111111111111111^DOE/J^2812?"}""").IsDefault);
        string deep = new string('[', 100) + new string(']', 100);
        Assert.Equal("(malformed-arguments)", engine.Decide(alice, "tools/call", "t", "{\"a\":" + deep + "}").Rule!.Name);
    }
}
