using static FastMcp.Policy.Tests.Support;

namespace FastMcp.Policy.Tests;

public sealed class PolicyTestCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-policy-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static readonly PolicyOptions Policy = new()
    {
        Rules =
        [
            Rule("deny-prod-delete", "deny", r => { r.Names = ["delete_*"]; r.Arguments = [new() { Pointer = "/env", EqualsValue = "prod" }]; r.Message = "no prod deletes"; }),
            Rule("deploys-need-two", "require_approval", r => { r.Names = ["deploy"]; r.Approvers = ["release"]; r.RequiredApprovals = 2; r.ApprovalMode = "grant"; r.GrantWindowSeconds = 900; r.ApprovalTimeoutSeconds = 600; }),
            Rule("sre-all", "allow", r => { r.Groups = ["sre"]; r.MaskProfile = "pci"; }),
        ],
    };

    private (int Code, string Out, string Err) Run(string claims, string request, params string[] extra)
    {
        string c = Path.Combine(_dir, "claims.json"), r = Path.Combine(_dir, "request.json");
        File.WriteAllText(c, claims);
        File.WriteAllText(r, request);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PolicyTestCommand.Run(Policy, ["policy", "test", "--claims", c, "--request", r, .. extra], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Prints_the_decision_and_the_rule()
    {
        var (code, output, _) = Run("""{"sub":"alice","groups":["sre"]}""",
            """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_db","arguments":{"env":"prod"}}}""");
        Assert.Equal(0, code);
        Assert.Contains("decision: deny", output);
        Assert.Contains("rule: deny-prod-delete (#1)", output);
        Assert.Contains("message: no prod deletes", output);
    }

    [Fact]
    public void Shows_what_an_approval_would_need()
    {
        var (code, output, _) = Run("""{"sub":"alice","groups":["sre"]}""", """{"method":"tools/call","params":{"name":"deploy","arguments":{}}}""");
        Assert.Equal(0, code);
        Assert.Contains("decision: require_approval", output);
        Assert.Contains("approval: grant, window 900s; 2 of [release] within 600s", output);
    }

    [Fact]
    public void Reports_mask_profile_and_default()
    {
        var (_, allowed, _) = Run("""{"sub":"alice","groups":["sre"]}""", """{"method":"tools/call","params":{"name":"x"}}""");
        Assert.Contains("decision: allow", allowed);
        Assert.Contains("mask-profile: pci", allowed);
        var (_, denied, _) = Run("""{"sub":"bob"}""", """{"method":"resources/read","params":{"uri":"file:///x"}}""");
        Assert.Contains("decision: deny", denied);
        Assert.Contains("rule: (default)", denied);
    }

    [Fact]
    public void Expect_mismatch_exits_1()
    {
        var (code, _, err) = Run("""{"sub":"bob"}""", """{"method":"tools/call","params":{"name":"x"}}""", "--expect", "allow");
        Assert.Equal(1, code);
        Assert.Contains("expected allow, got deny", err);
    }

    [Fact]
    public void Bad_input_exits_2()
    {
        Assert.Equal(2, Run("""{"groups":["sre"]}""", """{"method":"tools/call"}""").Code);
        Assert.Equal(2, Run("""{"sub":"a"}""", """{"params":{}}""").Code);
        Assert.Equal(2, PolicyTestCommand.Run(Policy, ["--claims"], new StringWriter(), new StringWriter()));
    }
}
