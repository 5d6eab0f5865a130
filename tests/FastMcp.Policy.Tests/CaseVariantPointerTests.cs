using static FastMcp.Policy.Tests.Support;

namespace FastMcp.Policy.Tests;

/// <summary>
/// A pointer step that finds no member of its exact name but one with the same letter-case fold (<c>"PATH"</c> for
/// <c>/path</c>) cannot be compared: a case-insensitive decoder (Go's encoding/json) reads that member as the one the
/// condition names. Such a condition holds in a deny or require_approval rule and fails in an allow rule, negated or not.
/// </summary>
public sealed class CaseVariantPointerTests
{
    private static readonly FastMcp.Identity.Principal Alice = User("alice", ["dev"]);

    private static PolicyAction DecideWithDenyFirst(ArgumentConditionOptions condition, string args) =>
        Compile(Rule("guard", "deny", r => r.Arguments = [condition]), Rule("rest", "allow")).Decide(Alice, "tools/call", "t", args).Action;

    private static bool AllowMatches(ArgumentConditionOptions condition, string args) =>
        Compile(Rule("only", "allow", r => r.Arguments = [condition])).Decide(Alice, "tools/call", "t", args).Rule is not null;

    [Theory]
    [InlineData("/path", """{"PATH":"/etc/passwd"}""")]
    [InlineData("/path", """{"Path":"/etc/passwd"}""")]
    [InlineData("/path", """{"P\u0041TH":"/etc/passwd"}""")]
    [InlineData("/path", """{"a":{"path":"/tmp"},"b":[1,2],"paTh":"/etc/passwd"}""")]
    [InlineData("/options/path", """{"OPTIONS":{"path":"/etc/passwd"}}""")]
    [InlineData("/options/path", """{"options":{"mode":"r","Path":"/etc/passwd"}}""")]
    [InlineData("/files/0", """{"Files":["/etc/passwd"]}""")]
    [InlineData("/files/0/path", """{"files":[{"PATH":"/etc/passwd"}]}""")]
    [InlineData("/key", """{"\u212Aey":"/etc/passwd"}""")]
    [InlineData("/key", """{"Key":"/etc/passwd"}""")]
    [InlineData("/source", """{"\u017Fource":"/etc/passwd"}""")]
    [InlineData("/source", """{"ſource":"/etc/passwd"}""")]
    [InlineData("/σχήμα", """{"ΣΧΉΜΑ":"/etc/passwd"}""")]
    [InlineData("/\u00e9t\u00e9", """{"\u00c9T\u00c9":"/etc/passwd"}""")]
    // A name holding a control character has no fold: some decoders ignore the character when matching.
    [InlineData("/path", """{"path\u0000":"/etc/passwd"}""")]
    public void A_lone_case_variant_makes_the_condition_uncomparable(string pointer, string args)
    {
        Assert.Equal(PolicyAction.Deny, DecideWithDenyFirst(new() { Pointer = pointer, Regex = "^/etc/" }, args));
        Assert.Equal(PolicyAction.Deny, DecideWithDenyFirst(new() { Pointer = pointer, Regex = "^/etc/", Negate = true }, args));
        Assert.Equal(PolicyAction.Deny, DecideWithDenyFirst(new() { Pointer = pointer, Exists = true }, args));
        Assert.Equal(PolicyAction.Deny, DecideWithDenyFirst(new() { Pointer = pointer, Exists = false }, args));
        Assert.Equal(PolicyAction.Deny, DecideWithDenyFirst(new() { Pointer = pointer, EqualsValue = "x" }, args));
        Assert.Equal(PolicyAction.Deny, DecideWithDenyFirst(new() { Pointer = pointer, GreaterThan = 1 }, args));
        Assert.Equal(PolicyAction.Deny, DecideWithDenyFirst(new() { Pointer = pointer, ContainsCardNumber = true }, args));

        Assert.False(AllowMatches(new() { Pointer = pointer, Regex = "^/tmp/" }, args));
        Assert.False(AllowMatches(new() { Pointer = pointer, Regex = "^/etc/", Negate = true }, args));
        Assert.False(AllowMatches(new() { Pointer = pointer, Exists = false }, args));
        Assert.False(AllowMatches(new() { Pointer = pointer, ContainsCardNumber = false }, args));
        Assert.False(AllowMatches(new() { Pointer = pointer, EqualsValue = "x", Negate = true }, args));
    }

    [Fact]
    public void An_approval_rule_holds_a_case_variant()
    {
        var engine = Compile(
            Rule("prod", "require_approval", r => { r.Approvers = ["sre"]; r.Arguments = [new() { Pointer = "/env", In = ["prod"] }]; }),
            Rule("rest", "allow"));
        Assert.Equal(PolicyAction.RequireApproval, engine.Decide(Alice, "tools/call", "t", """{"ENV":"prod"}""").Action);
        Assert.Equal(PolicyAction.Allow, engine.Decide(Alice, "tools/call", "t", """{"env":"dev"}""").Action);
    }

    [Theory]
    [InlineData("/path", """{"path":"/tmp/a"}""")]
    [InlineData("/path", """{}""")]
    [InlineData("/path", """{"paths":"/etc/","pathPrefix":"/etc/","PATH2":"/etc/","pat":"/etc/","":"/etc/"}""")]
    [InlineData("/path", """{"nested":{"PATH":"/etc/passwd"},"list":[{"Path":"/etc/passwd"}]}""")]
    [InlineData("/options/path", """{"options":{"mode":"r"},"PATH":"/etc/passwd"}""")]
    [InlineData("/files/0", """{"files":[],"FILES2":["/etc/passwd"]}""")]
    [InlineData("/strasse", """{"straße":"/etc/passwd","STRASSEN":"/etc/"}""")]
    [InlineData("/path", """["PATH"]""")]
    [InlineData("/path", "\"PATH\"")]
    public void Names_of_another_fold_leave_the_condition_as_before(string pointer, string args)
    {
        Assert.Equal(PolicyAction.Allow, DecideWithDenyFirst(new() { Pointer = pointer, Regex = "^/etc/" }, args));
        Assert.Equal(PolicyAction.Allow, DecideWithDenyFirst(new() { Pointer = pointer, ContainsCardNumber = true }, args));
    }

    [Fact]
    public void The_exact_name_is_compared_as_before()
    {
        Assert.Equal(PolicyAction.Deny, DecideWithDenyFirst(new() { Pointer = "/path", Regex = "^/etc/" }, """{"path":"/etc/passwd"}"""));
        Assert.Equal(PolicyAction.Allow, DecideWithDenyFirst(new() { Pointer = "/path", Regex = "^/etc/" }, """{"path":"/tmp/a"}"""));
        Assert.True(AllowMatches(new() { Pointer = "/path", Regex = "^/tmp/" }, """{"path":"/tmp/a"}"""));
        Assert.True(AllowMatches(new() { Pointer = "/force", Exists = false }, """{"path":"/tmp/a"}"""));
    }

    [Fact]
    public void A_pointer_step_holding_a_control_character_is_refused_at_load()
    {
        var ex = Assert.Throws<PolicyException>(() => Compile(Rule("r", "deny", r => r.Arguments = [new() { Pointer = "/pa\u0001th", Exists = true }])));
        Assert.Equal("arguments[0].pointer", ex.Field);
    }
}
