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

    private (int Code, string Out, string Err) Run(string claims, string request, params string[] extra) => Run(Policy, claims, request, extra);

    private (int Code, string Out, string Err) Run(PolicyOptions policy, string claims, string request, params string[] extra)
    {
        string c = Path.Combine(_dir, "claims.json"), r = Path.Combine(_dir, "request.json");
        File.WriteAllText(c, claims);
        File.WriteAllText(r, request);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PolicyTestCommand.Run(policy, ["policy", "test", "--claims", c, "--request", r, .. extra], stdout, stderr);
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

    private static readonly PolicyOptions WhereAndWhen = new()
    {
        Rules =
        [
            Rule("freeze", "deny", r => r.Time = new() { NotBefore = "2026-12-20T00:00:00Z", NotAfter = "2027-01-04T00:00:00Z" }),
            Rule("deploy-from-ci", "allow", r => { r.Names = ["deploy"]; r.Addresses = ["10.20.0.0/16"]; }),
            Rule("refunds-in-hours", "allow", r => { r.Names = ["refund"]; r.Time = new() { TimeZone = "Europe/Berlin", Days = ["mon", "tue", "wed", "thu", "fri"], From = "08:00", To = "18:00" }; }),
        ],
    };

    private const string DeployCall = """{"method":"tools/call","params":{"name":"deploy","arguments":{}}}""";
    private const string RefundCall = """{"method":"tools/call","params":{"name":"refund","arguments":{}}}""";

    [Fact]
    public void Address_decides_rules_with_addresses_and_defaults_to_loopback()
    {
        var (_, inside, _) = Run(WhereAndWhen, """{"sub":"ci"}""", DeployCall, "--address", "10.20.1.2", "--at", "2026-12-07T10:00:00Z");
        Assert.Contains("address: 10.20.1.2", inside);
        Assert.Contains("rule: deploy-from-ci (#2)", inside);
        var (_, mapped, _) = Run(WhereAndWhen, """{"sub":"ci"}""", DeployCall, "--address", "::ffff:10.20.1.2", "--at", "2026-12-07T10:00:00Z");
        Assert.Contains("address: 10.20.1.2", mapped);
        Assert.Contains("decision: allow", mapped);
        var (code, loopback, _) = Run(WhereAndWhen, """{"sub":"ci"}""", DeployCall, "--at", "2026-12-07T10:00:00Z", "--expect", "deny");
        Assert.Equal(0, code);
        Assert.Contains("address: 127.0.0.1", loopback);
        Assert.Contains("rule: (default)", loopback);
    }

    [Fact]
    public void At_decides_rules_with_time_and_defaults_to_now_printed()
    {
        var (_, monday, _) = Run(WhereAndWhen, """{"sub":"alice"}""", RefundCall, "--at", "2026-12-07T09:30:00+01:00");
        Assert.Contains("at: 2026-12-07T08:30:00Z", monday);
        Assert.Contains("rule: refunds-in-hours (#3)", monday);
        var (_, frozen, _) = Run(WhereAndWhen, """{"sub":"alice"}""", RefundCall, "--at", "2026-12-21T09:30:00Z");
        Assert.Contains("rule: freeze (#1)", frozen);
        var (_, saturday, _) = Run(WhereAndWhen, """{"sub":"alice"}""", RefundCall, "--at", "2026-12-12T09:30:00Z");
        Assert.Contains("rule: (default)", saturday);

        DateTime before = DateTime.UtcNow.AddSeconds(-1);
        var (_, now, _) = Run(WhereAndWhen, """{"sub":"alice"}""", RefundCall);
        string printed = now.Split('\n').Single(l => l.StartsWith("at: ", StringComparison.Ordinal))[4..].Trim();
        DateTime at = DateTime.Parse(printed, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal);
        Assert.InRange(at, before.AddSeconds(-1), DateTime.UtcNow.AddSeconds(1));
    }

    [Theory]
    [InlineData("--address", "10.20.1")]
    [InlineData("--address", "ci-runner")]
    [InlineData("--at", "2026-12-07T09:30:00")]
    [InlineData("--at", "tomorrow")]
    public void An_address_or_instant_that_cannot_be_read_is_a_usage_error(string option, string value)
    {
        var (code, _, err) = Run(WhereAndWhen, """{"sub":"alice"}""", RefundCall, option, value);
        Assert.Equal(2, code);
        Assert.Contains(option, err);
    }
}
