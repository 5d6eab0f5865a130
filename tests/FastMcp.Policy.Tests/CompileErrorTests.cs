using static FastMcp.Policy.Tests.Support;

namespace FastMcp.Policy.Tests;

/// <summary>An invalid policy is refused at load, and the error names the rule and the field.</summary>
public sealed class CompileErrorTests
{
    private static PolicyException Refused(params RuleOptions[] rules) => Assert.Throws<PolicyException>(() => Compile(rules));

    private static void AssertNames(PolicyException ex, string rule, string field)
    {
        Assert.Equal(rule, ex.RuleName);
        Assert.Equal(field, ex.Field);
        Assert.Contains($"'{rule}'", ex.Message);
        Assert.Contains($"'{field}'", ex.Message);
    }

    [Fact]
    public void Missing_name_is_reported_by_position()
    {
        var ex = Refused(Rule("ok", "allow"), new RuleOptions { Action = "allow" });
        AssertNames(ex, "rules[1]", "name");
    }

    [Fact]
    public void Duplicate_name() => AssertNames(Refused(Rule("a", "allow"), Rule("a", "deny")), "a", "name");

    [Fact]
    public void Unknown_action() => AssertNames(Refused(Rule("r", "permit")), "r", "action");

    [Fact]
    public void Mask_profile_on_a_deny_rule() =>
        AssertNames(Refused(Rule("r", "deny", r => r.MaskProfile = "pci")), "r", "maskProfile");

    [Fact]
    public void Invalid_regex() =>
        AssertNames(Refused(Rule("r", "deny", r => r.Arguments = [new() { Pointer = "/a", Exists = true }, new() { Pointer = "/p", Regex = "([a-z" }])), "r", "arguments[1].regex");

    [Fact]
    public void Regex_the_non_backtracking_engine_cannot_run() =>
        AssertNames(Refused(Rule("r", "deny", r => r.Arguments = [new() { Pointer = "/p", Regex = @"(a)\1" }])), "r", "arguments[0].regex");

    [Fact]
    public void Invalid_pointer() =>
        AssertNames(Refused(Rule("r", "deny", r => r.Arguments = [new() { Pointer = "env", EqualsValue = "x" }])), "r", "arguments[0].pointer");

    [Fact]
    public void Bad_pointer_escape() =>
        AssertNames(Refused(Rule("r", "deny", r => r.Arguments = [new() { Pointer = "/a~2", EqualsValue = "x" }])), "r", "arguments[0].pointer");

    [Fact]
    public void Condition_without_operator() =>
        AssertNames(Refused(Rule("r", "deny", r => r.Arguments = [new() { Pointer = "/a" }])), "r", "arguments[0]");

    [Fact]
    public void Condition_with_two_operators() =>
        AssertNames(Refused(Rule("r", "deny", r => r.Arguments = [new() { Pointer = "/a", EqualsValue = "x", Regex = "y" }])), "r", "arguments[0]");

    [Fact]
    public void Empty_numeric_range() =>
        AssertNames(Refused(Rule("r", "deny", r => r.Arguments = [new() { Pointer = "/a", GreaterThan = 10, LessThan = 5 }])), "r", "arguments[0]");

    [Fact]
    public void Empty_in_list() =>
        AssertNames(Refused(Rule("r", "deny", r => r.Arguments = [new() { Pointer = "/a", In = [] }])), "r", "arguments[0].in");

    [Fact]
    public void Glob_with_trailing_escape() => AssertNames(Refused(Rule("r", "allow", r => r.Names = ["ok", "bad\\"])), "r", "names[1]");

    [Fact]
    public void Empty_method() => AssertNames(Refused(Rule("r", "allow", r => r.Methods = [""])), "r", "methods[0]");

    [Fact]
    public void Blank_group() => AssertNames(Refused(Rule("r", "allow", r => r.Groups = ["sre", " "])), "r", "groups[1]");

    [Fact]
    public void Approvers_on_an_allow_rule() => AssertNames(Refused(Rule("r", "allow", r => r.Approvers = ["x"])), "r", "approvers");

    [Fact]
    public void Approval_timeout_out_of_range() =>
        AssertNames(Refused(Rule("r", "require_approval", r => r.ApprovalTimeoutSeconds = 0)), "r", "approvalTimeoutSeconds");

    [Fact]
    public void Bad_default_action()
    {
        var ex = Assert.Throws<PolicyException>(() => PolicyEngine.Compile(new PolicyOptions { DefaultAction = "require_approval" }));
        Assert.Equal("defaultAction", ex.Field);
        Assert.Null(ex.RuleName);
    }

    [Fact]
    public void ContainsSensitiveData_without_member_names_or_on_a_query_is_refused_naming_the_field()
    {
        var rule = new RuleOptions { Name = "no-sad", Action = "deny", Arguments = [new ArgumentConditionOptions { ContainsSensitiveData = true }] };
        var ex = Assert.Throws<PolicyException>(() =>
            PolicyEngine.Compile(new PolicyOptions { Rules = [rule] }, TimeProvider.System, new FastMcp.Pan.SensitiveMemberNames([])));
        Assert.Equal("arguments[0].containsSensitiveData", ex.Field);
        Assert.Equal("no-sad", ex.RuleName);

        var query = new RuleOptions { Name = "q", Action = "deny", Query = new() { ["t"] = new ArgumentConditionOptions { ContainsSensitiveData = true } } };
        Assert.Equal("query.t.containsSensitiveData", Assert.Throws<PolicyException>(() => PolicyEngine.Compile(new PolicyOptions { Rules = [query] })).Field);
    }
}
