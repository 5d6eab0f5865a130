using static FastMcp.Policy.Tests.Support;

namespace FastMcp.Policy.Tests;

public sealed class RuleOrderAndMatchingTests
{
    private static readonly FastMcp.Identity.Principal Alice = User("alice", ["sre", "oncall"], ["mcp:tools"], "cli");
    private static readonly FastMcp.Identity.Principal Bob = User("bob", ["dev"], [], "ide");

    [Fact]
    public void Default_is_deny_with_no_rule()
    {
        var d = Compile().Decide(Alice, "tools/call", "anything");
        Assert.Equal(PolicyAction.Deny, d.Action);
        Assert.Null(d.Rule);
        Assert.True(d.IsDefault);
        Assert.Equal("no policy rule allows this request", d.Message);
    }

    [Fact]
    public void Default_can_be_allow_with_a_custom_message_for_deny()
    {
        var allow = PolicyEngine.Compile(new PolicyOptions { DefaultAction = "allow" });
        Assert.Equal(PolicyAction.Allow, allow.Decide(Alice, "tools/call", "x").Action);
        var deny = PolicyEngine.Compile(new PolicyOptions { DefaultMessage = "ask #platform" });
        Assert.Equal("ask #platform", deny.Decide(Alice, "tools/call", "x").Message);
    }

    [Fact]
    public void First_matching_rule_wins()
    {
        var engine = Compile(
            Rule("deny-delete", "deny", r => { r.Names = ["delete_*"]; r.Message = "no deletes"; }),
            Rule("allow-sre", "allow", r => r.Groups = ["sre"]),
            Rule("deny-all", "deny"));
        var d = engine.Decide(Alice, "tools/call", "delete_bucket");
        Assert.Equal(PolicyAction.Deny, d.Action);
        Assert.Equal("deny-delete", d.Rule!.Name);
        Assert.Equal("no deletes", d.Message);
        Assert.Equal("allow-sre", engine.Decide(Alice, "tools/call", "list_buckets").Rule!.Name);
        Assert.Equal("deny-all", engine.Decide(Bob, "tools/call", "list_buckets").Rule!.Name);
    }

    [Fact]
    public void Later_exact_rule_does_not_jump_ahead_of_an_earlier_glob_rule()
    {
        var engine = Compile(
            Rule("glob-first", "deny", r => { r.Methods = ["tools/*"]; r.Names = ["*"]; }),
            Rule("exact-later", "allow", r => { r.Methods = ["tools/call"]; r.Names = ["echo"]; }));
        Assert.Equal("glob-first", engine.Decide(Alice, "tools/call", "echo").Rule!.Name);
    }

    [Theory]
    [InlineData("tools/call", "echo", "exact")]
    [InlineData("tools/call", "fs_read", "prefix")]
    [InlineData("tools/call", "read_secret", "suffix")]
    [InlineData("tools/call", "a1b", "single")]
    [InlineData("tools/call", "x*y", "escaped")]
    [InlineData("prompts/get", "summary", "any-method-glob")]
    [InlineData("resources/read", "file:///srv/data/x.csv", "resource-uri")]
    [InlineData("custom/method", "thing", "unknown-method-glob")]
    [InlineData("tools/call", "other", null)]
    [InlineData("tools/list", "", "no-name-rule")]
    public void Method_and_name_globs(string method, string name, string? expectedRule)
    {
        var engine = Compile(
            Rule("exact", "allow", r => { r.Methods = ["tools/call"]; r.Names = ["echo"]; }),
            Rule("prefix", "allow", r => { r.Methods = ["tools/call"]; r.Names = ["fs_*"]; }),
            Rule("suffix", "allow", r => { r.Methods = ["tools/call"]; r.Names = ["*_secret"]; }),
            Rule("single", "allow", r => { r.Methods = ["tools/call"]; r.Names = ["a?b"]; }),
            Rule("escaped", "allow", r => { r.Methods = ["tools/call"]; r.Names = ["x\\*y"]; }),
            Rule("any-method-glob", "allow", r => { r.Methods = ["prompts/*"]; r.Names = ["sum*"]; }),
            Rule("resource-uri", "allow", r => { r.Methods = ["resources/read"]; r.Names = ["file:///srv/data/*.csv"]; }),
            Rule("unknown-method-glob", "allow", r => { r.Methods = ["custom/*"]; }),
            Rule("no-name-rule", "allow", r => { r.Methods = ["tools/list"]; }));
        var d = engine.Decide(Alice, method, name);
        Assert.Equal(expectedRule, d.Rule?.Name);
    }

    [Fact]
    public void Escaped_star_is_literal()
    {
        var engine = Compile(Rule("escaped", "allow", r => r.Names = ["a\\*b"]));
        Assert.Null(engine.Decide(Alice, "tools/call", "axxb").Rule);
    }

    [Fact]
    public void Rule_with_names_never_matches_a_request_without_a_name()
    {
        var engine = Compile(Rule("all-names", "allow", r => r.Names = ["*"]));
        Assert.Null(engine.Decide(Alice, "tools/list").Rule);
        Assert.NotNull(engine.Decide(Alice, "tools/call", "x").Rule);
    }

    [Fact]
    public void Question_mark_matches_one_character_not_one_byte()
    {
        var engine = Compile(Rule("q", "allow", r => r.Names = ["caf?"]));
        Assert.NotNull(engine.Decide(Alice, "tools/call", "café").Rule);
        Assert.Null(engine.Decide(Alice, "tools/call", "caféé").Rule);
    }

    [Fact]
    public void Principal_conditions()
    {
        var engine = Compile(
            Rule("subject", "allow", r => { r.Names = ["s"]; r.Subjects = ["alice"]; }),
            Rule("any-group", "allow", r => { r.Names = ["g"]; r.Groups = ["admins", "oncall"]; }),
            Rule("all-groups", "allow", r => { r.Names = ["ag"]; r.AllGroups = ["sre", "oncall"]; }),
            Rule("scopes", "allow", r => { r.Names = ["sc"]; r.Scopes = ["mcp:tools"]; }),
            Rule("clients", "allow", r => { r.Names = ["c"]; r.Clients = ["ide"]; }));
        foreach (var (name, alice, bob) in new[] { ("s", true, false), ("g", true, false), ("ag", true, false), ("sc", true, false), ("c", false, true) })
        {
            Assert.Equal(alice, engine.Decide(Alice, "tools/call", name).Rule is not null);
            Assert.Equal(bob, engine.Decide(Bob, "tools/call", name).Rule is not null);
        }
        var partial = User("carol", ["sre"]);
        Assert.Null(engine.Decide(partial, "tools/call", "ag").Rule);
    }

    [Fact]
    public void Anonymous_principal_can_be_targeted()
    {
        var engine = Compile(Rule("anon-read", "allow", r => { r.Subjects = ["anonymous"]; r.Methods = ["resources/read"]; }));
        Assert.Equal(PolicyAction.Allow, engine.Decide(FastMcp.Identity.Principal.Anonymous, "resources/read", "file:///x").Action);
        Assert.Equal(PolicyAction.Deny, engine.Decide(FastMcp.Identity.Principal.Anonymous, "tools/call", "x").Action);
    }

    [Fact]
    public void Require_approval_and_mask_profile_are_reported()
    {
        var engine = Compile(
            Rule("approve-prod", "require_approval", r => { r.Names = ["deploy"]; r.Approvers = ["release-managers"]; r.ApprovalTimeoutSeconds = 120; }),
            Rule("masked", "allow", r => { r.Names = ["lookup_customer"]; r.MaskProfile = "pci-strict"; }),
            Rule("approve-refund", "require_approval", r => { r.Names = ["refund"]; r.MaskProfile = "contractor"; }));
        var approval = engine.Decide(Alice, "tools/call", "deploy");
        Assert.Equal(PolicyAction.RequireApproval, approval.Action);
        Assert.Equal(["release-managers"], approval.Rule!.Approvers);
        Assert.Equal(TimeSpan.FromMinutes(2), approval.Rule.ApprovalTimeout);
        Assert.Equal("approval required by policy rule 'approve-prod'", approval.Message);
        Assert.Equal("pci-strict", engine.Decide(Alice, "tools/call", "lookup_customer").MaskProfile);
        Assert.Null(approval.MaskProfile);
        // A require_approval rule's profile masks the call once approved or granted.
        PolicyDecision refund = engine.Decide(Alice, "tools/call", "refund");
        Assert.Equal(PolicyAction.RequireApproval, refund.Action);
        Assert.Equal("contractor", refund.MaskProfile);
    }

    [Fact]
    public void Index_agrees_with_rule_by_rule_evaluation()
    {
        // Cross-check the method/name index against evaluating each rule alone, in order.
        string[] methods = ["tools/call", "tools/list", "prompts/get", "resources/read", "custom/x", "tools/other"];
        string[] names = ["", "echo", "fs_read", "fs_write", "tool_7", "deploy", "file:///a", "zzz"];
        var rules = new List<RuleOptions>
        {
            Rule("r0", "deny", r => { r.Methods = ["tools/call"]; r.Names = ["fs_write"]; r.Groups = ["dev"]; }),
            Rule("r1", "allow", r => { r.Methods = ["tools/*"]; r.Names = ["fs_*"]; }),
            Rule("r2", "require_approval", r => { r.Names = ["deploy", "tool_?"]; }),
            Rule("r3", "allow", r => { r.Methods = ["prompts/get", "custom/*"]; }),
            Rule("r4", "deny", r => { r.Methods = ["resources/read"]; r.Names = ["file:*"]; r.Subjects = ["bob"]; }),
            Rule("r5", "allow", r => { r.Methods = ["tools/call"]; r.Names = ["echo"]; }),
            Rule("r6", "allow", r => { r.Methods = ["*"]; r.Names = ["zzz"]; r.Groups = ["sre"]; }),
            Rule("r7", "allow", r => { r.Methods = ["resources/read"]; }),
            Rule("r8", "allow", r => { r.Methods = ["tools/list"]; }),
        };
        var engine = PolicyEngine.Compile(new PolicyOptions { Rules = rules });
        var single = rules.Select(r => PolicyEngine.Compile(new PolicyOptions { Rules = [r] })).ToArray();
        int checkedCount = 0;
        foreach (var p in new[] { Alice, Bob })
        foreach (var m in methods)
        foreach (var n in names)
        {
            string? expected = null;
            for (int i = 0; i < single.Length && expected is null; i++)
                if (single[i].Decide(p, m, n).Rule is not null)
                    expected = rules[i].Name;
            Assert.Equal(expected, engine.Decide(p, m, n).Rule?.Name);
            checkedCount++;
        }
        Assert.Equal(2 * methods.Length * names.Length, checkedCount);
    }
}
