using System.Text;
using FastMcp.Identity;

namespace FastMcp.Policy.Tests;

internal static class Support
{
    public static Principal User(string sub, string[]? groups = null, string[]? scopes = null, string? client = null) =>
        new(sub, groups ?? [], scopes ?? [], client, "https://idp.example", DateTimeOffset.MaxValue);

    public static PolicyDecision Decide(this PolicyEngine engine, Principal p, string method, string name = "", string args = "") =>
        engine.Decide(new PolicyRequest(p, Encoding.UTF8.GetBytes(method), Encoding.UTF8.GetBytes(name), Encoding.UTF8.GetBytes(args)));

    public static bool Visible(this PolicyEngine engine, Principal p, string method, string name) =>
        engine.IsVisible(p, Encoding.UTF8.GetBytes(method), Encoding.UTF8.GetBytes(name));

    public static PolicyEngine Compile(params RuleOptions[] rules) => PolicyEngine.Compile(new PolicyOptions { Rules = [.. rules] });

    public static RuleOptions Rule(string name, string action, Action<RuleOptions>? configure = null)
    {
        var r = new RuleOptions { Name = name, Action = action };
        configure?.Invoke(r);
        return r;
    }

    /// <summary>A policy shaped like a large real one: 200 tools with five rules each (1,000 rules), the
    /// generic rules last. The same shape is used by the benchmark.</summary>
    public static PolicyOptions LargePolicy(int tools = 200)
    {
        var rules = new List<RuleOptions>();
        for (int t = 0; t < tools; t++)
        {
            string tool = $"tool_{t:D4}";
            rules.Add(new RuleOptions { Name = $"{tool}-contractors", Action = "deny", Groups = ["contractors"], Methods = ["tools/call"], Names = [tool], Message = "contractors may not" });
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
