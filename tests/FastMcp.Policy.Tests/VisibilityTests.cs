using static FastMcp.Policy.Tests.Support;

namespace FastMcp.Policy.Tests;

public sealed class VisibilityTests
{
    private static readonly FastMcp.Identity.Principal Sre = User("alice", ["sre"]);
    private static readonly FastMcp.Identity.Principal Dev = User("bob", ["dev"]);

    private static readonly PolicyEngine Engine = Compile(
        Rule("deny-contractor-tools", "deny", r => { r.Names = ["admin_*"]; r.Groups = ["dev"]; }),
        Rule("deny-prod-writes", "deny", r => { r.Names = ["write_file"]; r.Arguments = [new() { Pointer = "/env", EqualsValue = "prod" }]; }),
        Rule("approve-deploy", "require_approval", r => r.Names = ["deploy"]),
        Rule("allow-dev-reads", "allow", r => { r.Names = ["read_*"]; r.Arguments = [new() { Pointer = "/path", Regex = "^/tmp/" }]; }),
        Rule("allow-sre", "allow", r => { r.Methods = ["tools/call", "prompts/get", "resources/read"]; r.Groups = ["sre"]; }),
        Rule("allow-write-file", "allow", r => r.Names = ["write_file"]),
        Rule("allow-public-prompts", "allow", r => { r.Methods = ["prompts/get"]; r.Names = ["public_*"]; }));

    [Theory]
    [InlineData("tools/call", "admin_reset", true, false)]     // a group-scoped deny hides it from dev only
    [InlineData("tools/call", "write_file", true, true)]      // denied only for some arguments: still callable
    [InlineData("tools/call", "deploy", true, true)]          // approval-gated tools are visible
    [InlineData("tools/call", "read_logs", true, true)]       // allowed for some arguments
    [InlineData("tools/call", "rm_rf", true, false)]          // nothing allows dev: hidden
    [InlineData("prompts/get", "public_help", true, true)]
    [InlineData("prompts/get", "internal_help", true, false)]
    [InlineData("resources/read", "file:///etc/x", true, false)]
    public void Nobody_sees_what_they_may_not_call(string method, string name, bool sre, bool dev)
    {
        Assert.Equal(sre, Engine.Visible(Sre, method, name));
        Assert.Equal(dev, Engine.Visible(Dev, method, name));
    }

    [Fact]
    public void Visibility_agrees_with_decisions_for_rules_without_argument_conditions()
    {
        foreach (var name in new[] { "admin_reset", "deploy", "rm_rf" })
            foreach (var p in new[] { Sre, Dev })
                Assert.Equal(Engine.Decide(p, "tools/call", name, "{}").Action != PolicyAction.Deny, Engine.Visible(p, "tools/call", name));
    }

    [Fact]
    public void Default_allow_makes_unmatched_items_visible()
    {
        var open = PolicyEngine.Compile(new PolicyOptions { DefaultAction = "allow", Rules = [Rule("hide", "deny", r => r.Names = ["secret"])] });
        Assert.True(open.Visible(Dev, "tools/call", "anything"));
        Assert.False(open.Visible(Dev, "tools/call", "secret"));
    }
}
