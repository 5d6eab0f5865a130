using System.Text;
using FastMcp.Identity;
using static FastMcp.Policy.Tests.Support;

namespace FastMcp.Policy.Tests;

/// <summary>Rules scoped with "upstreams": the gateway's policy stage, list filtering and `fastmcp policy test` decide alike.</summary>
public sealed class UpstreamScopeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-upstream-scope-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static readonly PolicyOptions Policy = new()
    {
        Rules =
        [
            Rule("no-delete-on-github", "deny", r => { r.Names = ["delete_*"]; r.Upstreams = ["github"]; }),
            Rule("everything-else", "allow"),
        ],
    };

    private static readonly Principal Alice = User("alice");

    [Theory]
    [InlineData("github", PolicyAction.Deny)]
    [InlineData("payments", PolicyAction.Allow)]
    [InlineData(null, PolicyAction.Allow)]
    public void A_scoped_rule_matches_only_calls_to_its_upstreams(string? upstream, PolicyAction expected)
    {
        PolicyEngine engine = PolicyEngine.Compile(Policy);
        PolicyDecision d = McpCallDecision.Decide(engine, Alice, "tools/call"u8, "delete_repo"u8, "{}"u8, upstream);
        Assert.Equal(expected, d.Action);
        Assert.Equal(expected == PolicyAction.Deny, engine.IsVisible(Alice, "tools/call"u8, "delete_repo"u8, upstream) == false);
    }

    [Fact]
    public void A_blank_upstream_name_in_a_rule_is_refused()
    {
        var e = Assert.Throws<PolicyException>(() => PolicyEngine.Compile(new PolicyOptions { Rules = [Rule("r", "deny", r => r.Upstreams = [" "])] }));
        Assert.Equal("upstreams[0]", e.Field);
    }

    [Theory]
    [InlineData("github", "decision: deny", "rule: no-delete-on-github (#1)")]
    [InlineData("payments", "decision: allow", "rule: everything-else (#2)")]
    public void Policy_test_decides_for_the_upstream_given(string upstream, string decision, string rule)
    {
        string claims = Path.Combine(_dir, "claims.json"), request = Path.Combine(_dir, "request.json");
        File.WriteAllText(claims, """{"sub":"alice"}""");
        File.WriteAllText(request, """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_repo","arguments":{}}}""");
        var stdout = new StringWriter();
        int code = PolicyTestCommand.Run(Policy, ["policy", "test", "--claims", claims, "--request", request, "--upstream", upstream], stdout, new StringWriter());
        Assert.Equal(0, code);
        Assert.Contains(decision, stdout.ToString());
        Assert.Contains(rule, stdout.ToString());
        Assert.Contains($"upstream: {upstream}", stdout.ToString());
    }

    [Fact]
    public void Policy_test_without_upstream_decides_for_the_default_upstream()
    {
        string claims = Path.Combine(_dir, "claims.json"), request = Path.Combine(_dir, "request.json");
        File.WriteAllText(claims, """{"sub":"alice"}""");
        File.WriteAllText(request, """{"method":"tools/call","params":{"name":"delete_repo"}}""");
        var stdout = new StringWriter();
        var policy = new PolicyOptions { Rules = [Rule("default-only", "deny", r => r.Upstreams = ["default"]), Rule("rest", "allow")] };
        Assert.Equal(0, PolicyTestCommand.Run(policy, ["policy", "test", "--claims", claims, "--request", request], stdout, new StringWriter()));
        Assert.Contains("decision: deny", stdout.ToString());
        Assert.Contains("upstream: default", stdout.ToString());
    }
}
