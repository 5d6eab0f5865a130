using BenchmarkDotNet.Attributes;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Benchmarks.Policy;

/// <summary>Decisions against a 1,000-rule policy (200 tools × 5 rules, the shape of the unit test's LargePolicy).
/// Budget: ≤ 200 ns and 0 B for a typical tools/call.</summary>
[MemoryDiagnoser]
public class PolicyDecisionBenchmarks
{
    private PolicyEngine _engine = null!;
    private readonly Principal _sre = new("alice", ["sre"], ["mcp:tools"], "cli", "https://idp", DateTimeOffset.MaxValue);
    private readonly Principal _dev = new("bob", ["dev"], ["mcp:tools"], "ide", "https://idp", DateTimeOffset.MaxValue);
    private readonly byte[] _method = "tools/call"u8.ToArray();
    private readonly byte[] _name = "tool_0137"u8.ToArray();
    private readonly byte[] _unknownName = "not_a_tool"u8.ToArray();
    private readonly byte[] _arguments = """{"env":"staging","path":"/tmp/report.csv","limit":50}"""u8.ToArray();

    [GlobalSetup]
    public void Setup() => _engine = PolicyEngine.Compile(LargePolicy(200));

    /// <summary>An SRE's call: four candidate rules checked (one argument condition evaluated) before the allow.</summary>
    [Benchmark(Baseline = true)]
    public PolicyAction TypicalToolsCall() => _engine.Decide(new PolicyRequest(_sre, _method, _name, _arguments)).Action;

    /// <summary>A developer's call decided by a non-backtracking regex over a JSON string argument.</summary>
    [Benchmark]
    public PolicyAction RegexConditionCall() => _engine.Decide(new PolicyRequest(_dev, _method, _name, _arguments)).Action;

    /// <summary>A tool no rule names: falls through to the default deny.</summary>
    [Benchmark]
    public PolicyAction UnknownToolDefaultDeny() => _engine.Decide(new PolicyRequest(_sre, _method, _unknownName, _arguments)).Action;

    /// <summary>One entry of a tools/list result filtered for the caller.</summary>
    [Benchmark]
    public bool ListVisibility() => _engine.IsVisible(_dev, _method, _name);

    internal static PolicyOptions LargePolicy(int tools)
    {
        var rules = new List<RuleOptions>();
        for (int t = 0; t < tools; t++)
        {
            string tool = $"tool_{t:D4}";
            rules.Add(new RuleOptions { Name = $"{tool}-contractors", Action = "deny", Groups = ["contractors"], Methods = ["tools/call"], Names = [tool] });
            rules.Add(new RuleOptions { Name = $"{tool}-prod", Action = "require_approval", Groups = ["sre"], Methods = ["tools/call"], Names = [tool],
                Arguments = [new ArgumentConditionOptions { Pointer = "/env", EqualsValue = "prod" }] });
            rules.Add(new RuleOptions { Name = $"{tool}-big", Action = "deny", Methods = ["tools/call"], Names = [tool],
                Arguments = [new ArgumentConditionOptions { Pointer = "/limit", GreaterThan = 1000 }] });
            rules.Add(new RuleOptions { Name = $"{tool}-paths", Action = "allow", Groups = ["dev"], Methods = ["tools/call"], Names = [tool],
                Arguments = [new ArgumentConditionOptions { Pointer = "/path", Regex = "^/(tmp|home)/[a-z0-9_/.-]+$" }] });
            rules.Add(new RuleOptions { Name = $"{tool}-sre", Action = "allow", Groups = ["sre", "admins"], Methods = ["tools/call"], Names = [tool], MaskProfile = "pci" });
        }
        rules.Add(new RuleOptions { Name = "lists", Action = "allow", Methods = ["tools/list", "prompts/list", "resources/list", "resources/templates/list", "initialize", "ping"] });
        return new PolicyOptions { Rules = rules };
    }
}
