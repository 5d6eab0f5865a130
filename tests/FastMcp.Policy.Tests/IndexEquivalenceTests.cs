using static FastMcp.Policy.Tests.Support;

namespace FastMcp.Policy.Tests;

/// <summary>The method/name index must never change which rule decides: compare it with evaluating
/// each rule on its own, in order, over seeded random requests against policies mixing exact and glob patterns.</summary>
public sealed class IndexEquivalenceTests
{
    private static readonly string[] Methods = ["tools/call", "prompts/get", "resources/read", "tools/list", "custom/op", "x"];
    private static readonly string[] Names = ["", "tool_0001", "tool_0002", "tool_0010", "tool_0107", "fs_read", "fs_write", "file:///a/b", "q", "zz"];
    private static readonly string[] Groups = ["sre", "dev", "contractors"];
    private static readonly string[] Args = ["", "{}", """{"env":"prod"}""", """{"env":"dev","limit":5000}""", """{"path":"/tmp/x"}"""];

    private static string? Linear(PolicyEngine[] single, List<RuleOptions> rules, FastMcp.Identity.Principal p, string method, string name, string args)
    {
        for (int i = 0; i < single.Length; i++)
            if (single[i].Decide(p, method, name, args).Rule is not null)
                return rules[i].Name;
        return null;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Random_policies_decide_like_rule_by_rule_evaluation(int seed)
    {
        var random = new Random(seed);
        string[] methodPatterns = ["tools/call", "tools/*", "*", "prompts/get", "resources/*", "custom/op", "t?ols/list"];
        string[] namePatterns = ["tool_0001", "tool_000?", "tool_*", "fs_*", "*_write", "file:///*", "q", "zz", "*"];
        var rules = new List<RuleOptions>();
        for (int i = 0; i < 120; i++)
        {
            var rule = new RuleOptions { Name = "r" + i, Action = random.Next(3) switch { 0 => "allow", 1 => "deny", _ => "require_approval" } };
            if (random.Next(4) > 0)
                rule.Methods = [.. Enumerable.Range(0, random.Next(1, 3)).Select(_ => methodPatterns[random.Next(methodPatterns.Length)]).Distinct()];
            if (random.Next(3) > 0)
                rule.Names = [.. Enumerable.Range(0, random.Next(1, 3)).Select(_ => namePatterns[random.Next(namePatterns.Length)]).Distinct()];
            if (random.Next(3) == 0)
                rule.Groups = [Groups[random.Next(Groups.Length)]];
            if (random.Next(4) == 0)
                rule.Arguments = [random.Next(2) == 0 ? new() { Pointer = "/env", EqualsValue = "prod" } : new() { Pointer = "/limit", GreaterThan = 1000 }];
            rules.Add(rule);
        }
        var engine = PolicyEngine.Compile(new PolicyOptions { Rules = rules });
        var single = rules.Select(r => PolicyEngine.Compile(new PolicyOptions { Rules = [r] })).ToArray();
        for (int i = 0; i < 600; i++)
        {
            var p = User("u", [Groups[random.Next(Groups.Length)]]);
            string method = Methods[random.Next(Methods.Length)], name = Names[random.Next(Names.Length)], args = Args[random.Next(Args.Length)];
            Assert.Equal(Linear(single, rules, p, method, name, args), engine.Decide(p, method, name, args).Rule?.Name);
        }
    }

    [Fact]
    public void Large_policy_decides_like_rule_by_rule_evaluation()
    {
        var rules = LargePolicy(40).Rules;
        var engine = PolicyEngine.Compile(new PolicyOptions { Rules = rules });
        var single = rules.Select(r => PolicyEngine.Compile(new PolicyOptions { Rules = [r] })).ToArray();
        var random = new Random(7);
        for (int i = 0; i < 300; i++)
        {
            var p = User("u", [Groups[random.Next(Groups.Length)]]);
            string method = Methods[random.Next(Methods.Length)];
            string name = random.Next(4) == 0 ? Names[random.Next(Names.Length)] : $"tool_{random.Next(45):D4}";
            string args = Args[random.Next(Args.Length)];
            Assert.Equal(Linear(single, rules, p, method, name, args), engine.Decide(p, method, name, args).Rule?.Name);
        }
    }
}
