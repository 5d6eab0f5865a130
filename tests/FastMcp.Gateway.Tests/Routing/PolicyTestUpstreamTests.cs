using FastMcp.Gateway.Cli;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>`fastmcp policy test --upstream` decides as the gateway decides a call on that upstream's route, and refuses a name the configuration lacks.</summary>
public sealed class PolicyTestUpstreamTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-policy-upstream-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string ConfigJson = """
        {
          "upstream": { "url": "http://127.0.0.1:9/mcp" },
          "upstreams": { "github": { "url": "http://127.0.0.1:10/mcp" } },
          "routes": [ { "path": "/mcp/github", "upstream": "github" } ],
          "identity": { "mode": "dev", "resource": "http://127.0.0.1/mcp" },
          "policy": { "rules": [
            { "name": "no-delete-on-github", "action": "deny", "methods": ["tools/call"], "names": ["delete_*"], "upstreams": ["github"] },
            { "name": "everything-else", "action": "allow" }
          ] }
        }
        """;

    private (int Code, string Out) Run(params string[] extra)
    {
        string config = Path.Combine(_dir, "fastmcp.json"), claims = Path.Combine(_dir, "claims.json"), req = Path.Combine(_dir, "request.json");
        File.WriteAllText(config, ConfigJson);
        File.WriteAllText(claims, """{"sub":"alice"}""");
        File.WriteAllText(req, """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_repo","arguments":{}}}""");
        var stdout = new StringWriter();
        int code = PolicyTestCli.Run(["test", "--config", config, "--claims", claims, "--request", req, .. extra], stdout, new StringWriter());
        return (code, stdout.ToString());
    }

    [Fact]
    public void Decides_for_the_upstream_named_and_the_default_one_without_it()
    {
        (int code, string onGithub) = Run("--upstream", "github");
        Assert.Equal(0, code);
        Assert.Contains("decision: deny", onGithub);
        Assert.Contains("rule: no-delete-on-github", onGithub);
        Assert.Contains("decision: allow", Run().Out);
        Assert.Contains("upstream: default", Run().Out);
    }

    [Fact]
    public void An_upstream_the_configuration_lacks_is_a_usage_error()
    {
        var e = Assert.Throws<UsageException>(() => Run("--upstream", "gitlab"));
        Assert.Contains("no upstream named 'gitlab'", e.Message);
        Assert.Contains("default, github", e.Message);
    }
}
