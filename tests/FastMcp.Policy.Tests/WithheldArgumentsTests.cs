using System.Text;
using static FastMcp.Policy.Tests.Support;

namespace FastMcp.Policy.Tests;

/// <summary>
/// A call decided again without its arguments (PolicyRequest.ArgumentsWithheld: a task's creating call whose arguments the
/// gateway did not keep): rules that do not read arguments decide as ever; the first one that matches on everything else
/// and reads them refuses with the built-in (arguments-not-kept), never skipped as "not matching".
/// </summary>
public sealed class WithheldArgumentsTests
{
    private static readonly FastMcp.Identity.Principal Alice = User("alice", ["analysts"]);

    private static PolicyDecision DecideWithheld(PolicyEngine engine, string name) =>
        engine.Decide(new PolicyRequest(Alice, "tools/call"u8, Encoding.UTF8.GetBytes(name), default) { ArgumentsWithheld = true });

    private static readonly PolicyEngine Engine = Compile(
        Rule("interns-out", "deny", r => { r.Groups = ["interns"]; }),
        Rule("no-large-refunds", "deny", r =>
        {
            r.Methods = ["tools/call"];
            r.Names = ["refund"];
            r.Arguments = [new ArgumentConditionOptions { Pointer = "/amount", GreaterThan = 100 }];
        }),
        Rule("analysts", "allow", r => r.Groups = ["analysts"]));

    [Fact]
    public void A_rule_reading_arguments_on_the_path_refuses_the_call_instead_of_being_skipped()
    {
        PolicyDecision refund = DecideWithheld(Engine, "refund");
        Assert.Equal(PolicyAction.Deny, refund.Action);
        Assert.Same(PolicyEngine.ArgumentsNotKeptRule, refund.Rule);
        // Without the flag the same empty arguments are simply not matched by the condition, and the call is allowed.
        Assert.Equal("analysts", Engine.Decide(Alice, "tools/call", "refund").Rule!.Name);
    }

    [Fact]
    public void Rules_that_do_not_read_arguments_decide_as_ever()
    {
        Assert.Equal("analysts", DecideWithheld(Engine, "research").Rule!.Name);
        PolicyDecision intern = Compile(Rule("interns-out", "deny", r => r.Subjects = ["alice"])).Decide(
            new PolicyRequest(Alice, "tools/call"u8, "refund"u8, default) { ArgumentsWithheld = true });
        Assert.Equal("interns-out", intern.Rule!.Name);
    }
}
