using System.Text;
using static FastMcp.Policy.Tests.Support;

namespace FastMcp.Policy.Tests;

/// <summary>
/// policy.serverRequests: the rules for requests upstreams send the client, compiled and matched by the same compiler and
/// engine as the client rules. Absent: everything allowed (the behaviour before the section); errors name the section.
/// </summary>
public sealed class ServerRequestRuleTests
{
    private static readonly FastMcp.Identity.Principal Alice = User("alice", ["staff"], ["mcp"], "cli");

    private static ServerRequestPolicy Compile(string defaultAction, params RuleOptions[] rules) =>
        PolicyEngine.Compile(new PolicyOptions { Rules = [Rule("all", "allow")], ServerRequests = new() { DefaultAction = defaultAction, Rules = [.. rules] } }).ServerRequests;

    private static PolicyDecision Decide(ServerRequestPolicy policy, string method, string parameters = "", string? upstream = "default", FastMcp.Identity.Principal? who = null) =>
        policy.Decide(who ?? Alice, Encoding.UTF8.GetBytes(method), Encoding.UTF8.GetBytes(parameters), upstream);

    private static PolicyException Refused(ServerRequestPolicyOptions section) =>
        Assert.Throws<PolicyException>(() => PolicyEngine.Compile(new PolicyOptions { Rules = [Rule("all", "allow")], ServerRequests = section }));

    [Fact]
    public void Without_the_section_every_server_request_is_allowed_and_nothing_is_read()
    {
        ServerRequestPolicy policy = PolicyEngine.Compile(new PolicyOptions { Rules = [Rule("all", "deny")] }).ServerRequests;
        Assert.True(policy.DecidesNothing);
        Assert.Equal(PolicyAction.Allow, Decide(policy, "elicitation/create").Action);
        // The client rules' default deny is not the section's: it stays allow.
        Assert.Equal(PolicyAction.Allow, PolicyEngine.Compile(new PolicyOptions { Rules = [], ServerRequests = new() }).ServerRequests.DefaultAction);
    }

    [Fact]
    public void A_default_deny_refuses_what_no_rule_allows_and_names_the_default()
    {
        ServerRequestPolicy policy = Compile("deny", Rule("roots-ok", "allow", r => r.Methods = ["roots/list", "ping"]));
        Assert.False(policy.DecidesNothing);
        Assert.Equal(PolicyAction.Allow, Decide(policy, "roots/list").Action);
        PolicyDecision denied = Decide(policy, "sampling/createMessage");
        Assert.Equal(PolicyAction.Deny, denied.Action);
        Assert.True(denied.IsDefault);
        Assert.Contains("policy.serverRequests.defaultAction", ServerRequestPolicy.DenialMessage(denied));
    }

    [Fact]
    public void Rules_match_methods_upstreams_and_the_caller()
    {
        ServerRequestPolicy policy = Compile("allow",
            Rule("no-sampling-from-github", "deny", r => { r.Methods = ["sampling/*"]; r.Upstreams = ["github"]; }),
            Rule("no-elicitation-for-contractors", "deny", r => { r.Methods = ["elicitation/create"]; r.Groups = ["contractors"]; }));
        Assert.Equal("no-sampling-from-github", Decide(policy, "sampling/createMessage", upstream: "github").Rule?.Name);
        Assert.Equal(PolicyAction.Allow, Decide(policy, "sampling/createMessage", upstream: "payments").Action);
        Assert.Equal(PolicyAction.Allow, Decide(policy, "elicitation/create").Action);
        PolicyDecision contractor = Decide(policy, "elicitation/create", who: User("bob", ["contractors"]));
        Assert.Equal(PolicyAction.Deny, contractor.Action);
        Assert.Contains("no-elicitation-for-contractors", ServerRequestPolicy.DenialMessage(contractor));
    }

    [Fact]
    public void Argument_conditions_are_evaluated_over_the_requests_params()
    {
        ServerRequestPolicy policy = Compile("allow",
            Rule("no-card-phishing", "deny", r =>
            {
                r.Methods = ["elicitation/create"];
                r.Message = "the gateway does not let servers ask for card numbers";
                r.Arguments = [new ArgumentConditionOptions { Pointer = "/message", Regex = "(?i)card" }];
            }),
            Rule("no-system-prompts", "deny", r => { r.Methods = ["sampling/createMessage"]; r.Arguments = [new ArgumentConditionOptions { Pointer = "/systemPrompt", Exists = true }]; }));
        PolicyDecision phishing = Decide(policy, "elicitation/create", """{"message":"Please type your Card number","requestedSchema":{"type":"object"}}""");
        Assert.Equal("no-card-phishing", phishing.Rule?.Name);
        Assert.Equal("the gateway does not let servers ask for card numbers (gateway policy, server request rule 'no-card-phishing')", ServerRequestPolicy.DenialMessage(phishing));
        Assert.Equal(PolicyAction.Allow, Decide(policy, "elicitation/create", """{"message":"Which branch?","requestedSchema":{"type":"object"}}""").Action);
        Assert.Equal("no-system-prompts", Decide(policy, "sampling/createMessage", """{"messages":[],"systemPrompt":"obey","maxTokens":5}""").Rule?.Name);
        Assert.Equal(PolicyAction.Allow, Decide(policy, "sampling/createMessage", """{"messages":[],"maxTokens":5}""").Action);
        // Params that are not valid JSON decide nothing: denied.
        Assert.Equal(PolicyAction.Deny, Decide(policy, "sampling/createMessage", """{"messages":[""").Action);
    }

    [Fact]
    public void Require_approval_is_refused_naming_the_section_the_rule_and_the_field()
    {
        PolicyException e = Refused(new() { Rules = [Rule("ask", "require_approval", r => r.Methods = ["sampling/*"])] });
        Assert.Equal("serverRequests", e.Section);
        Assert.Equal("ask", e.RuleName);
        Assert.Equal("action", e.Field);
        Assert.Contains("serverRequests", e.Message);
        Assert.Contains("nobody can approve", e.Message);
    }

    [Theory]
    [InlineData("names")]
    [InlineData("maskProfile")]
    [InlineData("rateLimitPerMinute")]
    [InlineData("approvers")]
    public void Fields_that_cannot_apply_to_a_server_request_are_refused(string field)
    {
        RuleOptions rule = Rule("r", "deny", r =>
        {
            if (field == "names") r.Names = ["x"];
            if (field == "maskProfile") r.MaskProfile = "pci";
            if (field == "rateLimitPerMinute") r.RateLimitPerMinute = 5;
            if (field == "approvers") r.Approvers = ["sre"];
        });
        PolicyException e = Refused(new() { Rules = [rule] });
        Assert.Equal(("serverRequests", "r", field), (e.Section, e.RuleName, e.Field));
    }

    [Fact]
    public void Names_must_be_present_and_unique_and_the_default_must_be_allow_or_deny()
    {
        PolicyException unnamed = Refused(new() { Rules = [Rule("", "deny")] });
        Assert.Equal(("serverRequests", "rules[0]", "name"), (unnamed.Section, unnamed.RuleName, unnamed.Field));
        PolicyException twice = Refused(new() { Rules = [Rule("r", "deny"), Rule("r", "allow")] });
        Assert.Equal(("r", "name"), (twice.RuleName, twice.Field));
        PolicyException badDefault = Refused(new() { DefaultAction = "require_approval" });
        Assert.Equal(("serverRequests", null, "defaultAction"), (badDefault.Section, badDefault.RuleName, badDefault.Field));
    }

    [Fact]
    public void A_decision_allocates_nothing()
    {
        ServerRequestPolicy policy = Compile("deny",
            Rule("no-card-phishing", "deny", r => { r.Methods = ["elicitation/create"]; r.Arguments = [new ArgumentConditionOptions { Pointer = "/message", Regex = "(?i)card" }]; }),
            Rule("sampling", "allow", r => r.Methods = ["sampling/createMessage"]));
        byte[] method = "elicitation/create"u8.ToArray();
        byte[] parameters = """{"message":"Which branch?","requestedSchema":{"type":"object"}}"""u8.ToArray();
        for (int i = 0; i < 50_000; i++) _ = policy.Decide(Alice, method, parameters, "default");
        long allocated = ThreadAllocations.Measure(() => { for (int i = 0; i < 10_000; i++) _ = policy.Decide(Alice, method, parameters, "default"); });
        Assert.Equal(PolicyAction.Deny, policy.Decide(Alice, method, parameters, "default").Action);
        Assert.Equal(0, allocated);
    }
}
