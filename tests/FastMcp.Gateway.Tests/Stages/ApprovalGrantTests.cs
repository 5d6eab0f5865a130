using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FastMcp.Audit;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Grant-mode approvals over real sockets: the grant admits only the identical call (every params member but the
/// progress token), approvers see everything they approve, and the admin API shows an approval to nobody who may
/// not decide it, not even in a refusal.
/// </summary>
public sealed class ApprovalGrantTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-grants-" + Guid.NewGuid().ToString("N"));
    private ScriptedUpstream _upstream = null!;
    // A second upstream on /mcp/other: a grant for a call to the default upstream does not admit it there.
    private ScriptedUpstream _other = null!;
    private GatewayUnderTest _gateway = null!;
    private HttpClient _http = null!;
    private string _alice = "", _bob = "", _frank = "", _carol = "";

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        _other = new ScriptedUpstream(UpstreamScripts.Echo);
        _gateway = await GatewayUnderTest.StartWithStagesAsync(_upstream.Url, options =>
        {
            options.Identity = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1/mcp", DevKeyDirectory = Path.Combine(_dir, "dev") };
            options.Policy = new PolicyOptions
            {
                Rules =
                [
                    new RuleOptions { Name = "echo-grant", Action = "require_approval", Methods = ["tools/call"], Names = ["echo"], Approvers = ["release"], ApprovalMode = "grant" },
                    new RuleOptions { Name = "add-finance", Action = "require_approval", Methods = ["tools/call"], Names = ["add"], Approvers = ["finance"] },
                    new RuleOptions { Name = "rest", Action = "allow" },
                ],
            };
            options.Approvals.ApproverGroups = ["approvers"];
            // The upstream reads its read-only and toolset selectors from these fields (as GitHub's MCP server does).
            options.Upstream.ForwardHeaders = ["X-MCP-*"];
            options.Upstreams["other"] = new Configuration.UpstreamOptions { Url = _other.Url };
            options.Routes = [new Configuration.RouteOptions { Path = "/mcp/other", Upstream = "other" }];
            options.Audit = new AuditOptions { Directory = Path.Combine(_dir, "audit"), ChainId = "test" };
        });
        using DevKey key = DevKeys.LoadOrCreate(Path.Combine(_dir, "dev"));
        string Mint(string subject, string group) => key.Mint(subject, [group], [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(10));
        _alice = Mint("alice", "dev");
        _bob = Mint("bob", "release");
        _frank = Mint("frank", "finance");
        _carol = Mint("carol", "approvers");
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
    }

    private static string EchoCall(int id, string extra, string meta = "") =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"message\":\"hi\"},\"extra\":\"" + extra + "\"" + meta + "}}";

    private async Task<JsonElement> CallAsync(string json, string path = "/mcp", params (string Name, string Value)[] fields)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"http://127.0.0.1:{_gateway.Endpoint.Port}{path}")) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json");
        foreach ((string name, string value) in fields) request.Headers.TryAddWithoutValidation(name, value);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _alice);
        using HttpResponseMessage response = await _http.SendAsync(request);
        using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }

    private static string PendingId(JsonElement answer)
    {
        Assert.Equal(-32002, answer.GetProperty("error").GetProperty("code").GetInt32());
        return answer.GetProperty("error").GetProperty("data").GetProperty("approvalId").GetString()!;
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> AdminAsync(HttpMethod method, string path, string? body, string token)
    {
        using var request = new HttpRequestMessage(method, new Uri($"http://127.0.0.1:{_gateway.AdminEndpoint.Port}{path}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await _http.SendAsync(request);
        using JsonDocument document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, document.RootElement.Clone());
    }

    [Fact]
    public async Task A_grant_admits_only_the_identical_call_and_approvers_see_every_params_member()
    {
        string id = PendingId(await CallAsync(EchoCall(1, "a")));

        var (shown, view) = await AdminAsync(HttpMethod.Get, $"/approvals/{id}", null, _bob);
        Assert.Equal(HttpStatusCode.OK, shown);
        Assert.Equal("""{"arguments":{"message":"hi"},"extra":"a","name":"echo"}""", view.GetProperty("params").GetString());
        var (approved, _) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}", _bob);
        Assert.Equal(HttpStatusCode.OK, approved);

        // Same name and arguments, another params member changed: not the approved call.
        JsonElement other = await CallAsync(EchoCall(2, "b"));
        Assert.NotEqual(id, PendingId(other));
        Assert.Empty(_upstream.Requests);

        // The identical call is admitted, with or without a progress token of its own.
        JsonElement same = await CallAsync(EchoCall(3, "a"));
        Assert.Equal(3, same.GetProperty("id").GetInt32());
        JsonElement withProgress = await CallAsync(EchoCall(4, "a", ",\"_meta\":{\"progressToken\":\"p4\"}"));
        Assert.Equal(4, withProgress.GetProperty("id").GetInt32());
        Assert.Equal(2, _upstream.Requests.Count);
    }

    [Fact]
    public async Task A_grant_admits_the_identical_call_only_to_the_upstream_it_was_asked_for()
    {
        string id = PendingId(await CallAsync(EchoCall(1, "a")));
        var (approved, _) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}", _bob);
        Assert.Equal(HttpStatusCode.OK, approved);

        // The same call on another route goes to another server: it needs its own approval.
        JsonElement elsewhere = await CallAsync(EchoCall(2, "a"), "/mcp/other");
        Assert.NotEqual(id, PendingId(elsewhere));
        Assert.Empty(_other.Requests);

        JsonElement same = await CallAsync(EchoCall(3, "a"));
        Assert.Equal(3, same.GetProperty("id").GetInt32());
        Assert.Single(_upstream.Requests);
    }

    [Fact]
    public async Task A_grant_admits_the_identical_call_only_with_the_query_it_was_asked_with()
    {
        // The upstream reads the query too (a tenant, a toolset, a config): it is part of the call approvers approve.
        string id = PendingId(await CallAsync(EchoCall(1, "a"), "/mcp?tenant=staging&card=4111111111111111"));
        var (shown, view) = await AdminAsync(HttpMethod.Get, $"/approvals/{id}", null, _bob);
        Assert.Equal(HttpStatusCode.OK, shown);
        Assert.Equal("?tenant=staging&card=411111******1111", view.GetProperty("query").GetString());
        var (approved, _) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}", _bob);
        Assert.Equal(HttpStatusCode.OK, approved);

        foreach (string query in new[] { "?tenant=prod&card=4111111111111111", "", "?tenant=staging&card=5555555555554444", "?tenant=staging" })
        {
            JsonElement other = await CallAsync(EchoCall(2, "a"), "/mcp" + query);
            Assert.NotEqual(id, PendingId(other));
        }
        Assert.Empty(_upstream.Requests);

        JsonElement same = await CallAsync(EchoCall(3, "a"), "/mcp?tenant=staging&card=4111111111111111");
        Assert.Equal(3, same.GetProperty("id").GetInt32());
        Assert.EndsWith("?tenant=staging&card=411111******1111", Assert.Single(_upstream.Requests).Target, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_grant_admits_the_identical_call_only_with_the_forwarded_header_fields_it_was_asked_with()
    {
        // X-MCP-Readonly reaches the upstream (forwardHeaders), so it is part of what approvers approve.
        string id = PendingId(await CallAsync(EchoCall(1, "a"), "/mcp", ("X-MCP-Readonly", "true"), ("X-MCP-Toolsets", "repos")));
        var (shown, view) = await AdminAsync(HttpMethod.Get, $"/approvals/{id}", null, _bob);
        Assert.Equal(HttpStatusCode.OK, shown);
        Assert.Equal("x-mcp-readonly:true,x-mcp-toolsets:repos", view.GetProperty("headers").GetString());
        var (approved, _) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}", _bob);
        Assert.Equal(HttpStatusCode.OK, approved);

        (string, string)[][] others =
        [
            [("X-MCP-Readonly", "false"), ("X-MCP-Toolsets", "repos")],
            [("X-MCP-Readonly", "true"), ("X-MCP-Toolsets", "repos,actions")],
            [("X-MCP-Readonly", "true")],
            [],
        ];
        foreach ((string, string)[] fields in others)
        {
            JsonElement other = await CallAsync(EchoCall(2, "a"), "/mcp", fields);
            Assert.NotEqual(id, PendingId(other));
        }
        Assert.Empty(_upstream.Requests);

        // The same fields, in another order and letter case, plus one the upstream never gets: the approved call.
        JsonElement same = await CallAsync(EchoCall(3, "a"), "/mcp", ("x-mcp-toolsets", "repos"), ("X-Api-Key", "not-forwarded"), ("X-MCP-READONLY", "true"));
        Assert.Equal(3, same.GetProperty("id").GetInt32());
        UpstreamRequest executed = Assert.Single(_upstream.Requests);
        Assert.Equal("true", executed.Header("X-MCP-Readonly"));
        Assert.Null(executed.Header("X-Api-Key"));
    }

    [Fact]
    public async Task An_approver_who_may_not_decide_an_approval_gets_only_an_error_and_never_sees_it()
    {
        string id = PendingId(await CallAsync(EchoCall(5, "secret-content")));

        // frank approves for another rule; carol is in approvals.approverGroups, but the rule names its own approvers.
        foreach (string outsider in new[] { _frank, _carol })
        {
            var (approve, approveBody) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}", outsider);
            Assert.Equal(HttpStatusCode.Forbidden, approve);
            AssertOnlyAnError(approveBody);
            var (deny, denyBody) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/deny", """{"reason":"no"}""", outsider);
            Assert.Equal(HttpStatusCode.Forbidden, deny);
            AssertOnlyAnError(denyBody);
            var (show, showBody) = await AdminAsync(HttpMethod.Get, $"/approvals/{id}", null, outsider);
            Assert.Equal(HttpStatusCode.Forbidden, show);
            AssertOnlyAnError(showBody);
            foreach (string list in new[] { "/approvals", "/approvals?state=all" })
            {
                var (listed, listBody) = await AdminAsync(HttpMethod.Get, list, null, outsider);
                Assert.Equal(HttpStatusCode.OK, listed);
                Assert.DoesNotContain(id, listBody.ToString());
            }
        }

        var (own, ownBody) = await AdminAsync(HttpMethod.Get, "/approvals", null, _bob);
        Assert.Equal(HttpStatusCode.OK, own);
        Assert.Contains(id, ownBody.ToString());
        Assert.Equal(HttpStatusCode.OK, (await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}", _bob)).Status);

        // Once decided, an outsider still gets a bare refusal (not the 409 that shows the approval to its approvers).
        var (late, lateBody) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}", _frank);
        Assert.Equal(HttpStatusCode.Forbidden, late);
        AssertOnlyAnError(lateBody);
        var (again, againBody) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/approve", "{}", _bob);
        Assert.Equal(HttpStatusCode.Conflict, again);
        Assert.Equal(id, againBody.GetProperty("approval").GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_card_number_in_an_approvers_reason_is_masked_everywhere_it_goes()
    {
        string id = PendingId(await CallAsync(EchoCall(6, "x")));
        var (denied, view) = await AdminAsync(HttpMethod.Post, $"/approvals/{id}/deny", """{"reason":"card 4111111111111111 is reported stolen"}""", _bob);
        Assert.Equal(HttpStatusCode.OK, denied);
        Assert.Equal("card 411111******1111 is reported stolen", view.GetProperty("reason").GetString());
        Assert.Equal("card 411111******1111 is reported stolen", _gateway.Stages.Approvals!.Get(id)!.Reason);
    }

    private static void AssertOnlyAnError(JsonElement body)
    {
        Assert.Equal(JsonValueKind.Object, body.ValueKind);
        Assert.Equal(["error"], body.EnumerateObject().Select(p => p.Name).ToArray());
        Assert.DoesNotContain("secret-content", body.ToString());
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
        await _other.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
