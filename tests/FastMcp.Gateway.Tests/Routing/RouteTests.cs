using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// Named upstreams behind paths of one gateway (docs/configuration.md, "Routes and federation"): each path reaches its
/// own upstream with its own credential, rules scoped with "upstreams" see which one, and audit records name it.
/// </summary>
public sealed class RouteTests
{
    private static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow" }];

    private static string Call(string tool, int id = 1) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":{}}}";

    private static async Task<RawResponse> PostAsync(PolicyGateway gw, string path, string json, string token, string extraHeaders = "")
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(json, $"Authorization: Bearer {token}\r\n{extraHeaders}", path));
        return await client.ReadResponseAsync();
    }

    /// <summary>Two named upstreams on /mcp/a and /mcp/b beside the default route on /mcp.</summary>
    private static Action<GatewayOptions> TwoRoutes(ScriptedUpstream a, ScriptedUpstream b, Action<GatewayOptions>? more = null) => o =>
    {
        o.Upstreams["a"] = new UpstreamOptions { Url = a.Url };
        o.Upstreams["b"] = new UpstreamOptions { Url = b.Url };
        o.Routes = [new RouteOptions { Path = "/mcp/a", Upstream = "a" }, new RouteOptions { Path = "/mcp/b", Upstream = "b" }];
        more?.Invoke(o);
    };

    [Fact]
    public async Task Each_path_reaches_its_own_upstream_and_an_unknown_path_is_404()
    {
        await using var a = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var b = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, TwoRoutes(a, b));
        string token = gw.Token("alice");

        RawResponse viaA = await PostAsync(gw, "/mcp/a", Call("one"), token);
        RawResponse viaB = await PostAsync(gw, "/mcp/b", Call("two"), token);
        RawResponse viaDefault = await PostAsync(gw, "/mcp", Call("three"), token);
        RawResponse nowhere = await PostAsync(gw, "/mcp/c", Call("four"), token);

        Assert.Equal(200, viaA.Status);
        Assert.Equal(200, viaB.Status);
        Assert.Equal(200, viaDefault.Status);
        Assert.Equal(404, nowhere.Status);
        Assert.Contains("\"one\"", Assert.Single(a.Requests).Body);
        Assert.Contains("\"two\"", Assert.Single(b.Requests).Body);
        Assert.Contains("\"three\"", Assert.Single(gw.Upstream.Requests).Body);
        // Each upstream gets the request on its own URL's path, whatever path the client used.
        Assert.Equal("/mcp", a.SingleRequest().Target);
    }

    [Theory]
    [InlineData("X-Api-Key: chosen-by-the-client\r\n")]
    [InlineData("x-api-key: chosen-by-the-client\r\n")]
    [InlineData("X-Api-Key: chosen-by-the-client\r\nX-API-KEY: chosen-by-the-client-too\r\n")]
    public async Task A_client_cannot_present_its_own_value_in_the_upstream_credentials_field(string clientLines)
    {
        // An upstream reading the first of two fields would take the client's value for the gateway's credential.
        string dir = Path.Combine(Path.GetTempPath(), "fastmcp-routes-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "b"), "secret-of-b");
            await using var a = new ScriptedUpstream(UpstreamScripts.Echo);
            await using var b = new ScriptedUpstream(UpstreamScripts.Echo);
            await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, TwoRoutes(a, b, o =>
                o.Upstreams["b"].Credential = new UpstreamCredentialOptions { HeaderName = "X-Api-Key", Scheme = "", ValueFile = Path.Combine(dir, "b") }));

            Assert.Equal(200, (await PostAsync(gw, "/mcp/b", Call("y"), gw.Token("alice"), clientLines)).Status);

            UpstreamRequest seen = b.SingleRequest();
            Assert.DoesNotContain("chosen-by-the-client", seen.Head.Raw, StringComparison.Ordinal);
            Assert.Equal("secret-of-b", seen.Header("X-Api-Key"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Each_upstream_sees_its_own_credential_and_never_the_clients_token()
    {
        string dir = Path.Combine(Path.GetTempPath(), "fastmcp-routes-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "a"), "secret-of-a\n");
            File.WriteAllText(Path.Combine(dir, "b"), "secret-of-b");
            await using var a = new ScriptedUpstream(UpstreamScripts.Echo);
            await using var b = new ScriptedUpstream(UpstreamScripts.Echo);
            await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, TwoRoutes(a, b, o =>
            {
                o.Upstreams["a"].Credential = new UpstreamCredentialOptions { ValueFile = Path.Combine(dir, "a") };
                o.Upstreams["b"].Credential = new UpstreamCredentialOptions { HeaderName = "X-Api-Key", Scheme = "", ValueFile = Path.Combine(dir, "b") };
            }));
            string token = gw.Token("alice");

            Assert.Equal(200, (await PostAsync(gw, "/mcp/a", Call("x"), token)).Status);
            Assert.Equal(200, (await PostAsync(gw, "/mcp/b", Call("y"), token)).Status);
            Assert.Equal(200, (await PostAsync(gw, "/mcp", Call("z"), token)).Status);

            UpstreamRequest seenByA = a.SingleRequest(), seenByB = b.SingleRequest(), seenByDefault = gw.Upstream.SingleRequest();
            Assert.Equal("Bearer secret-of-a", seenByA.Header("Authorization"));
            Assert.Equal("secret-of-b", seenByB.Header("X-Api-Key"));
            Assert.Null(seenByB.Header("Authorization"));
            // The default upstream has no credential configured: nothing, and never the client's token.
            Assert.Null(seenByDefault.Header("Authorization"));
            foreach (UpstreamRequest r in new[] { seenByA, seenByB, seenByDefault })
                Assert.DoesNotContain(token, r.Head.Raw, StringComparison.Ordinal);
            Assert.DoesNotContain("secret-of-a", seenByB.Head.Raw, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_rule_scoped_to_one_upstream_decides_only_its_calls_and_the_audit_names_the_upstream()
    {
        await using var a = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var b = new ScriptedUpstream(UpstreamScripts.Echo);
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "no-delete-on-a", Action = "deny", Methods = ["tools/call"], Names = ["delete"], Upstreams = ["a"] },
            new RuleOptions { Name = "all", Action = "allow" },
        ];
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, rules, TwoRoutes(a, b));
        string token = gw.Token("alice");

        RawResponse onA = await PostAsync(gw, "/mcp/a", Call("delete", 7), token);
        RawResponse onB = await PostAsync(gw, "/mcp/b", Call("delete", 8), token);

        Assert.Equal(JsonRpcErrorCodes.Forbidden, onA.JsonRpcError().Code);
        Assert.Empty(a.Requests);
        Assert.Equal(200, onB.Status);
        Assert.Contains("\"delete\"", b.SingleRequest().Body);

        string[] records = await gw.StopAndReadAuditAsync();
        JsonElement denied = Component(records, "Denied").Single();
        Assert.Equal("a", denied.GetProperty("upstreamName").GetString());
        Assert.Equal(a.Url, denied.GetProperty("upstream").GetString());
        JsonElement[] onBRecords = Component(records, "McpExchange").Where(c => c.GetProperty("upstreamName").GetString() == "b").ToArray();
        Assert.Equal(2, onBRecords.Length); // request and response
        Assert.All(onBRecords, c => Assert.Equal(b.Url, c.GetProperty("upstream").GetString()));
    }

    private static IEnumerable<JsonElement> Component(string[] records, string type)
    {
        foreach (string line in records)
        {
            using JsonDocument doc = JsonDocument.Parse(line);
            if (doc.RootElement.GetProperty("type").GetString() == type) yield return doc.RootElement.GetProperty("component").Clone();
        }
    }

    [Fact]
    public async Task A_rule_naming_an_upstream_the_gateway_does_not_have_is_refused_at_start()
    {
        List<RuleOptions> rules = [new RuleOptions { Name = "typo", Action = "deny", Upstreams = ["githbu"] }];
        var e = await Assert.ThrowsAsync<ConfigurationException>(() => PolicyGateway.StartAsync(UpstreamScripts.Echo, rules));
        Assert.Equal("policy.rules[typo].upstreams[0]", e.Field);
        Assert.Contains("no upstream named 'githbu'", e.Problem);
    }

    [Theory]
    [InlineData("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/mcp"}},"routes":[{"path":"/mcp/a","upstream":"a"},{"path":"/mcp/x","upstream":"x"}]}""",
        "routes[1].upstream", "no upstream named 'x'")]
    [InlineData("""{"upstream":{"url":"http://127.0.0.1:2/mcp"},"upstreams":{"a":{"url":"http://127.0.0.1:1/mcp"}},"routes":[{"path":"/mcp","upstream":"a"}]}""",
        "routes[0].path", "endpointPath")]
    [InlineData("""{"upstream":{"url":"http://127.0.0.1:2/mcp"},"upstreams":{"a":{"url":"http://127.0.0.1:1/mcp"}},"routes":[{"path":"/a","upstream":"a"},{"path":"/a","upstream":"a"}]}""",
        "routes[1].path", "another route")]
    [InlineData("""{"upstreams":{"a":{"url":"ftp://x"}},"routes":[{"path":"/a","upstream":"a"}]}""", "upstreams.a.url", "http://")]
    [InlineData("""{"upstreams":{"a":{}},"routes":[{"path":"/a","upstream":"a"}]}""", "upstreams.a.url", "required")]
    [InlineData("""{"upstreams":{"a b":{"url":"http://127.0.0.1:1/"}},"routes":[{"path":"/a","upstream":"a b"}]}""", "upstreams.a b", "letters, digits")]
    [InlineData("""{"upstreams":{"default":{"url":"http://127.0.0.1:1/"}},"routes":[{"path":"/a","upstream":"default"}]}""", "upstreams.default", "default")]
    [InlineData("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/"},"b":{"url":"http://127.0.0.1:2/"}},"routes":[{"path":"/a","upstream":"a"}]}""",
        "upstreams.b", "no route uses it")]
    [InlineData("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/","responseTimeoutMs":0}},"routes":[{"path":"/a","upstream":"a"}]}""",
        "upstreams.a.responseTimeoutMs", "greater than 0")]
    [InlineData("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/","credential":{"headerName":"X"}}},"routes":[{"path":"/a","upstream":"a"}]}""",
        "upstreams.a.credential", "valueFile, valueEnv, oauth or tokenExchange")]
    [InlineData("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/"}},"routes":[{"path":"a","upstream":"a"}]}""", "routes[0].path", "start with '/'")]
    [InlineData("""{"upstream":{"credential":{"valueEnv":"X"}}}""", "upstream.credential", "identity.upstreamCredential")]
    [InlineData("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/","forwardCookies":true},"b":{"url":"http://127.0.0.1:2/"}},"routes":[{"path":"/all","federate":["a","b"]}]}""",
        "upstreams.a.forwardCookies", "federated path passes no cookies")]
    public void Bad_routes_and_upstreams_are_refused_naming_the_field(string json, string field, string problem)
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Validate(ConfigurationLoader.Parse(System.Text.Encoding.UTF8.GetBytes(json))));
        Assert.Equal(field, e.Field);
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public void Without_routes_the_default_route_is_all_there_is_and_routes_without_an_upstream_url_have_none()
    {
        var plain = new GatewayOptions();
        ConfigurationLoader.Validate(plain);
        Assert.True(RouteValidation.HasDefaultRoute(plain));
        Assert.Equal(["default"], RouteValidation.UpstreamNames(plain));

        GatewayOptions routesOnly = ConfigurationLoader.Parse("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/"}},"routes":[{"path":"/mcp","upstream":"a"}]}"""u8);
        ConfigurationLoader.Validate(routesOnly);
        Assert.False(RouteValidation.HasDefaultRoute(routesOnly));
        Assert.Equal(["a"], RouteValidation.UpstreamNames(routesOnly));
    }

    [Fact]
    public async Task A_gateway_with_routes_only_serves_them_and_nothing_on_the_endpoint_path()
    {
        await using var a = new ScriptedUpstream(UpstreamScripts.Echo);
        var options = new GatewayOptions { Listen = ["127.0.0.1:0"], Admin = new AdminOptions { Listen = "" } };
        options.Upstreams["a"] = new UpstreamOptions { Url = a.Url };
        options.Routes = [new RouteOptions { Path = "/tools", Upstream = "a" }];
        ConfigurationLoader.Validate(options);
        await using var host = new Hosting.GatewayHost(options, upstream: null, new Hosting.GatewayStages());
        IPEndPoint ep = host.Endpoints[0];
        string Post(string path) =>
            $"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{ep.Port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {Call("t").Length}\r\n\r\n{Call("t")}";

        using (RawClient c = await RawClient.ConnectAsync(ep))
        {
            await c.SendAsync(Post("/tools"));
            Assert.Equal(200, (await c.ReadResponseAsync()).Status);
        }
        using (RawClient c = await RawClient.ConnectAsync(ep))
        {
            await c.SendAsync(Post("/mcp"));
            Assert.Equal(404, (await c.ReadResponseAsync()).Status);
        }
        Assert.Single(a.Requests);
    }
}
