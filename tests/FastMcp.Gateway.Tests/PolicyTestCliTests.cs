using System.Text.Json;
using FastMcp.Gateway.Cli;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// `fastmcp policy test` matched a resource URI as written while the gateway decides the normalized one (RFC 3986
/// section 6), so the CLI said "allow" for <c>file:///tmp/../etc/passwd</c> that the gateway denies. The CLI now
/// decides through the same code as the policy stage: same normalization, same refusal of URIs with no single form.
/// </summary>
public sealed class PolicyTestCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastmcp-policy-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly List<RuleOptions> Rules =
    [
        new RuleOptions { Name = "no-etc", Action = "deny", Methods = ["resources/*"], Names = ["file:///etc/*"] },
        new RuleOptions { Name = "everything-else", Action = "allow" },
    ];

    private const string ConfigJson = """
        {
          "upstream": { "url": "http://127.0.0.1:9/mcp" },
          "identity": { "mode": "dev", "resource": "http://127.0.0.1/mcp" },
          "policy": { "rules": [
            { "name": "no-etc", "action": "deny", "methods": ["resources/*"], "names": ["file:///etc/*"] },
            { "name": "everything-else", "action": "allow" }
          ] }
        }
        """;

    private static string Read(string uri) =>
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/read\",\"params\":{\"uri\":" + JsonSerializer.Serialize(uri) + "}}";

    private (int Code, string Out, string Err) RunCli(string request, string configJson = ConfigJson, params string[] extra)
    {
        string config = Path.Combine(_dir, "fastmcp.json"), claims = Path.Combine(_dir, "claims.json"), req = Path.Combine(_dir, "request.json");
        File.WriteAllText(config, configJson);
        File.WriteAllText(claims, """{"sub":"alice","groups":["sre"]}""");
        File.WriteAllText(req, request);
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = PolicyTestCli.Run(["test", "--config", config, "--claims", claims, "--request", req, .. extra], stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    public static TheoryData<string, string, string> Spellings => new()
    {
        { "file:///etc/passwd", "deny", "no-etc" },
        { "file:///tmp/../etc/passwd", "deny", "no-etc" },
        { "file://localhost/etc/passwd", "deny", "no-etc" },
        { "FILE:///%65tc/passwd", "deny", "no-etc" },
        { "file:///tmp/%2e%2e/etc/passwd", "deny", "no-etc" },
        { "file:///tmp%2F..%2Fetc/passwd", "deny", "(unnormalizable-uri)" },
        { "file:///tmp\\..\\etc\\passwd", "deny", "(unnormalizable-uri)" },
        { "file:///tmp/ok.txt", "allow", "everything-else" },
    };

    [Theory]
    [MemberData(nameof(Spellings))]
    public void The_cli_decides_every_spelling_of_a_resource_as_the_normalized_uri(string uri, string action, string rule)
    {
        var (code, output, error) = RunCli(Read(uri));
        Assert.True(code == 0, error);
        Assert.Contains($"decision: {action}", output);
        Assert.Contains($"rule: {rule} ", output);
    }

    [Fact]
    public void The_cli_shows_the_uri_as_rules_see_it()
    {
        var (_, output, _) = RunCli(Read("FILE://localhost/tmp/../%65tc/passwd"));
        Assert.Contains("resource: file:///etc/passwd", output);
        var (_, refused, _) = RunCli(Read("file:///tmp%2F..%2Fetc/passwd"));
        Assert.Contains("resource: (cannot be normalized: refused)", refused);
    }

    [Theory]
    [MemberData(nameof(Spellings))]
    public async Task The_gateway_decides_the_same(string uri, string action, string rule)
    {
        await using PolicyGateway gw = await PolicyGateway.StartAsync(
            x => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"contents\":[]}}"), Rules);
        RawResponse response = await gw.PostAsync(Read(uri), gw.Token("alice", "sre"));
        Assert.Equal(200, response.Status);
        using JsonDocument body = JsonDocument.Parse(response.Body);
        if (action == "allow")
        {
            Assert.True(body.RootElement.TryGetProperty("result", out _), response.Body);
            Assert.Single(gw.Upstream.Requests);
        }
        else
        {
            Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
            Assert.Empty(gw.Upstream.Requests);
            string[] audit = await gw.StopAndReadAuditAsync();
            Assert.Contains(audit, line => line.Contains("\"rule\":\"" + rule + "\"", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///tmp/ok.txt","URI":"file:///etc/passwd"}}""", "letter case")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///tmp/ok.txt","uri":"file:///etc/passwd"}}""", "duplicate member")]
    public void A_request_the_gateway_refuses_for_its_member_names_is_not_decided_on_one_reading(string request, string why)
    {
        // JsonDocument would take one of the two names; the gateway refuses the message before any policy runs.
        var (code, output, error) = RunCli(request);
        Assert.True(code == 0, error);
        Assert.Contains("decision: deny", output);
        Assert.Contains("rule: (refused-before-policy)", output);
        Assert.Contains(why, output);
    }

    [Theory]
    [InlineData("""{"type":"ref/prompt","name":"admin_accounts"}""", "deny", "no-admin")]
    [InlineData("""{"type":"ref/resource","uri":"admin://{account}"}""", "deny", "no-admin")]
    [InlineData("""{"type":"ref/prompt","name":"team_accounts"}""", "allow", "everything-else")]
    public void A_completion_is_decided_on_what_it_completes_as_the_gateway_decides_it(string reference, string decision, string rule)
    {
        const string config = """
            {
              "upstream": { "url": "http://127.0.0.1:9/mcp" },
              "identity": { "mode": "dev", "resource": "http://127.0.0.1/mcp" },
              "policy": { "rules": [
                { "name": "no-admin", "action": "deny", "names": ["admin_*", "admin://*"] },
                { "name": "everything-else", "action": "allow" }
              ] }
            }
            """;
        string request = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"completion/complete\",\"params\":{\"ref\":" + reference
            + ",\"argument\":{\"name\":\"account\",\"value\":\"a\"}}}";

        var (_, output, _) = RunCli(request, config);

        Assert.Contains($"decision: {decision}", output);
        Assert.Contains($"rule: {rule} ", output);
    }

    [Theory]
    [InlineData("sampling/createMessage", "{\"systemPrompt\":\"x\",\"messages\":[]}", "deny", "rule: no-sampling-for-sre (#1 of policy.serverRequests)")]
    [InlineData("sampling/createMessage", "{\"messages\":[]}", "allow", "rule: (policy.serverRequests.defaultAction)")]
    [InlineData("elicitation/create", "{\"message\":\"card?\"}", "allow", "rule: (policy.serverRequests.defaultAction)")]
    public void A_server_request_is_decided_by_the_server_request_rules(string method, string parameters, string decision, string rule)
    {
        const string config = """
            {
              "upstream": { "url": "http://127.0.0.1:9/mcp" },
              "identity": { "mode": "dev", "resource": "http://127.0.0.1/mcp" },
              "policy": {
                "rules": [ { "name": "no-sampling-calls", "action": "deny", "methods": ["sampling/*"] }, { "name": "all", "action": "allow" } ],
                "serverRequests": { "rules": [
                  { "name": "no-sampling-for-sre", "action": "deny", "groups": ["sre"], "methods": ["sampling/*"],
                    "arguments": [ { "pointer": "/systemPrompt", "exists": true } ] }
                ] }
              }
            }
            """;
        string request = "{\"jsonrpc\":\"2.0\",\"id\":\"s-1\",\"method\":\"" + method + "\",\"params\":" + parameters + "}";

        var (code, output, _) = RunCli(request, config, "--server-request", "--expect", decision);

        Assert.Equal(0, code);
        Assert.Contains($"decision: {decision}", output);
        Assert.Contains(rule, output);
        if (decision == "deny") Assert.Contains("message to the upstream: denied by the gateway's policy (server request rule 'no-sampling-for-sre')", output);
        // Without --server-request the same message is a client's call, decided by the client rules.
        var (_, asCall, _) = RunCli(request, config);
        Assert.Contains(method == "sampling/createMessage" ? "rule: no-sampling-calls " : "rule: all ", asCall);
    }

    private const string QueryConfig = """
        {
          "upstream": { "url": "http://127.0.0.1:9/mcp" },
          "identity": { "mode": "dev", "resource": "http://127.0.0.1/mcp" },
          "policy": { "rules": [
            { "name": "deploy-staging", "action": "allow", "methods": ["tools/call"], "names": ["deploy"],
              "query": { "tenant": { "equals": "staging" } } }
          ] }
        }
        """;

    private const string Deploy = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"deploy\",\"arguments\":{}}}";

    [Theory]
    [InlineData("?tenant=staging", "allow", "rule: deploy-staging (#1)")]
    [InlineData("tenant=sta%67ing&x=1", "allow", "rule: deploy-staging (#1)")]
    [InlineData("?tenant=prod", "deny", "rule: (default)")]
    [InlineData(null, "deny", "rule: (default)")]
    [InlineData("?tenant=staging&tenant=prod", "deny", "rule: (unreadable-query)")]
    [InlineData("?tenant=%zz", "deny", "rule: (unreadable-query)")]
    public void The_query_option_is_decided_as_the_gateway_decides_the_request_targets_query(string? query, string decision, string rule)
    {
        var (code, output, err) = query is null
            ? RunCli(Deploy, QueryConfig, "--expect", decision)
            : RunCli(Deploy, QueryConfig, "--query", query, "--expect", decision);

        Assert.True(code == 0, output + err);
        Assert.Contains($"decision: {decision}", output);
        Assert.Contains(rule, output);
        if (query is not null) Assert.Contains("query: ?" + query.TrimStart('?'), output);
        else Assert.DoesNotContain("query:", output);
    }

    [Theory]
    [InlineData("tenant=a b")]
    [InlineData("tenant=\u00e9")]
    [InlineData("tenant=a#frag")]
    public void A_query_no_request_target_could_carry_is_a_usage_error(string query)
    {
        var (code, _, err) = RunCli(Deploy, QueryConfig, "--query", query);
        Assert.Equal(2, code);
        Assert.Contains("--query", err);
    }

    [Fact]
    public void A_server_request_has_no_query()
    {
        var (code, _, err) = RunCli("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", QueryConfig, "--server-request", "--query", "tenant=eu");
        Assert.Equal(2, code);
        Assert.Contains("--query", err);
    }
}
