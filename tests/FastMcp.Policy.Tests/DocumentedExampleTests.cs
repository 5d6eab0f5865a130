using System.Text.Json;
using System.Text.Json.Serialization;
using static FastMcp.Policy.Tests.Support;

namespace FastMcp.Policy.Tests;

/// <summary>The example in docs/policy.md binds to the options classes (camelCase, no unknown fields) and behaves as described.</summary>
public sealed class DocumentedExampleTests
{
    private static PolicyEngine LoadDocumentedPolicy()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "FastMcp.sln")))
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("repository root not found");
        string doc = File.ReadAllText(Path.Combine(root, "docs", "policy.md"));
        int start = doc.IndexOf("```json", StringComparison.Ordinal) + "```json".Length;
        int end = doc.IndexOf("```", start, StringComparison.Ordinal);
        using var json = JsonDocument.Parse("{" + doc[start..end] + "}");
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        };
        var policy = json.RootElement.GetProperty("policy").Deserialize<PolicyOptions>(options)!;
        return PolicyEngine.Compile(policy);
    }

    [Fact]
    public void Documented_example_compiles_and_decides_as_described()
    {
        var engine = LoadDocumentedPolicy();
        var contractor = User("eve", ["contractors", "sre"]);
        var sre = User("alice", ["sre"]);
        var dev = User("bob", ["dev"]);
        var ci = User("ci", [], ["mcp:read"], "ci-pipeline");

        Assert.Equal("contractors-no-admin", engine.Decide(contractor, "tools/call", "admin_reset").Rule!.Name);
        Assert.Equal("no-cards-in-arguments", engine.Decide(sre, "tools/call", "lookup", """{"q":"4111111111111111"}""").Rule!.Name);
        var deploy = engine.Decide(sre, "tools/call", "deploy", """{"environment":"prod"}""");
        Assert.Equal(PolicyAction.RequireApproval, deploy.Action);
        Assert.Equal("production deploy", deploy.Message);
        Assert.Equal("no-huge-queries", engine.Decide(sre, "tools/call", "sql_query", """{"limit":50000}""").Rule!.Name);
        Assert.Equal("dev-reads-own-files", engine.Decide(dev, "tools/call", "read_file", """{"path":"/home/bob/x"}""").Rule!.Name);
        var devEtc = engine.Decide(dev, "tools/call", "read_file", """{"path":"/etc/passwd"}""");
        Assert.True(devEtc.IsDefault);
        Assert.Equal("not allowed by policy; ask #platform-access", devEtc.Message);
        Assert.Equal("pci", engine.Decide(sre, "tools/call", "anything", "{}").MaskProfile);
        Assert.Equal(PolicyAction.Allow, engine.Decide(ci, "resources/read", "file:///x").Action);
        Assert.Equal(PolicyAction.Deny, engine.Decide(ci, "tools/call", "x").Action);
        Assert.Equal("everyone-lists", engine.Decide(dev, "tools/list").Rule!.Name);
    }
}
