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
        Assert.Equal("no-security-codes-or-tracks", engine.Decide(sre, "tools/call", "charge", """{"card":{"cvc2":"123"}}""").Rule!.Name);
        Assert.Equal("pci", engine.Decide(sre, "tools/call", "charge", """{"card":{"cvc2":""}}""").MaskProfile);
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

    [Fact]
    public void Documented_where_and_when_example_compiles_and_decides_as_described()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "FastMcp.sln")))
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("repository root not found");
        string doc = File.ReadAllText(Path.Combine(root, "docs", "policy.md"));
        int section = doc.IndexOf("## Where and when", StringComparison.Ordinal);
        int start = doc.IndexOf("```json", section, StringComparison.Ordinal) + "```json".Length;
        int end = doc.IndexOf("```", start, StringComparison.Ordinal);
        var options = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };
        var engine = PolicyEngine.Compile(JsonSerializer.Deserialize<PolicyOptions>("{" + doc[start..end] + "}", options)!);

        string? Rule(string who, string group, string tool, string address, string instant) => engine.Decide(
            new PolicyRequest(User(who, [group]), "tools/call"u8, System.Text.Encoding.UTF8.GetBytes(tool), default)
            {
                Address = System.Net.IPAddress.Parse(address),
                At = DateTime.Parse(instant, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal),
            }).Rule?.Name;

        Assert.Equal("deploy-from-ci", Rule("ci-bot", "ci", "deploy-api", "10.20.3.4", "2026-12-07T10:00:00Z"));
        Assert.Null(Rule("ci-bot", "ci", "deploy-api", "203.0.113.9", "2026-12-07T10:00:00Z"));      // a stolen token on a laptop
        Assert.Equal("change-freeze", Rule("ci-bot", "ci", "deploy-api", "10.20.3.4", "2026-12-24T10:00:00Z"));
        Assert.Equal("refunds-in-business-hours", Rule("olga", "payments-ops", "refund", "10.8.0.1", "2026-12-07T16:59:00Z"));
        Assert.Null(Rule("olga", "payments-ops", "refund", "10.8.0.1", "2026-12-07T18:00:00Z"));      // 19:00 in Berlin
        Assert.Null(Rule("olga", "payments-ops", "refund", "10.8.0.1", "2026-12-12T10:00:00Z"));      // Saturday
    }
}
