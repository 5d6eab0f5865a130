using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The upstream credential as an OAuth access token (docs/identity.md, "Upstream credential"): obtained by client
/// credentials from a real token endpoint, injected, renewed before it expires; while the gateway holds no unexpired
/// token a call is refused (503, recorded, counted, /readyz not ready) instead of sent without it; a 401 renews it once.
/// </summary>
public sealed class UpstreamOAuthCredentialTests : IDisposable
{
    private const string ClientId = "fastmcp-gateway";
    private const string Secret = "s3cret-of-the-gateway";
    private readonly ClientSecretFolder _secrets = new();

    public void Dispose() => _secrets.Dispose();

    private string SecretFile(string secret) => _secrets.Write(secret);

    private Action<GatewayOptions> OAuth(TokenEndpoint endpoint, string secretFile, Action<OAuthClientCredentialsOptions>? adjust = null) => o =>
    {
        var oauth = new OAuthClientCredentialsOptions
        {
            TokenUrl = endpoint.Url, ClientId = ClientId, ClientSecretFile = secretFile, Scope = "mcp:tools", Resource = "https://mcp.internal/mcp",
            TimeoutMs = 2_000, FileCheckIntervalMilliseconds = 50,
        };
        adjust?.Invoke(oauth);
        o.Identity!.UpstreamCredential = new UpstreamCredentialOptions { OAuth = oauth };
    };

    private static async Task<RawResponse> ReadyzAsync(CardGateway g)
    {
        using RawClient c = await RawClient.ConnectAsync(g.Gateway.AdminEndpoint);
        await c.SendAsync("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        return await c.ReadResponseAsync();
    }

    private static async Task WaitReadyAsync(CardGateway g)
    {
        for (int i = 0; i < 600 && (await ReadyzAsync(g)).Status != 200; i++) await Task.Delay(50);
        Assert.Equal(200, (await ReadyzAsync(g)).Status);
    }

    private const string Policy = "\"policy\":{\"rules\":[{\"name\":\"all\",\"action\":\"allow\"}]}";

    private static string Call(int id) => CardGateway.ToolCall(id.ToString(System.Globalization.CultureInfo.InvariantCulture), "echo", "{}");

    [Fact]
    public async Task The_token_is_obtained_with_client_secret_basic_injected_and_renewed_before_it_expires()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret) { ExpiresInSeconds = 2 }.Start();
        await using CardGateway g = await CardGateway.StartAsync(configure: OAuth(endpoint, SecretFile(Secret)));

        Assert.Equal(200, (await g.PostAsync(Call(1))).Status);
        UpstreamRequest first = g.Upstream.SingleRequest();
        // tok-1, or a later one when this machine took more than the half-life to get here: the renewal may come first.
        string firstToken = first.Header("Authorization")!;
        Assert.StartsWith("Bearer tok-", firstToken, StringComparison.Ordinal);
        int issued = int.Parse(firstToken["Bearer tok-".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.DoesNotContain(g.Token, first.Head.Raw, StringComparison.Ordinal);

        (string? authorization, string form) = endpoint.Requests.First();
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(ClientId + ":" + Secret)), authorization);
        Dictionary<string, string> fields = TokenEndpoint.Parse(form);
        Assert.Equal("client_credentials", fields["grant_type"]);
        Assert.Equal("mcp:tools", fields["scope"]);
        Assert.Equal("https://mcp.internal/mcp", fields["resource"]);
        Assert.False(fields.ContainsKey("client_secret"));

        // A 2 s token is renewed at half-life, before it expires: the next call carries the new one.
        await endpoint.WaitForIssuedAsync(issued + 1);
        for (int i = 0; i < 100 && !g.Upstream.Requests.Any(r => r.Header("Authorization") != firstToken); i++)
            Assert.Equal(200, (await g.PostAsync(Call(2 + i))).Status);
        Assert.Contains(g.Upstream.Requests, r => r.Header("Authorization") is { } sent && sent != firstToken && sent.StartsWith("Bearer tok-", StringComparison.Ordinal));
        string metrics = await AdminGet.TextAsync(g.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_upstream_credential_failures_total{upstream=\"default\"} 0\n", metrics);
        Assert.Contains("fastmcp_upstream_token_remaining_seconds{upstream=\"default\"} ", metrics);
    }

    [Fact]
    public async Task Client_secret_post_sends_the_secret_in_the_form()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret).Start();
        await using CardGateway g = await CardGateway.StartAsync(configure: OAuth(endpoint, SecretFile(Secret),
            o => o.ClientAuthentication = OAuthClientCredentialsOptions.ClientSecretPost));

        Assert.Equal(200, (await g.PostAsync(Call(1))).Status);
        Assert.Equal("Bearer tok-1", g.Upstream.SingleRequest().Header("Authorization"));
        (string? authorization, string form) = Assert.Single(endpoint.Requests);
        Assert.Null(authorization);
        Assert.Equal(Secret, TokenEndpoint.Parse(form)["client_secret"]);
        Assert.Equal(ClientId, TokenEndpoint.Parse(form)["client_id"]);
    }

    [Fact]
    public async Task With_the_token_endpoint_down_at_start_a_call_is_refused_recorded_and_counted_until_it_comes_back()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret);
        CardGateway g = await CardGateway.StartAsync(configure: OAuth(endpoint, SecretFile(Secret)));
        await using (g)
        {
            RawResponse refused = await g.PostAsync(Call(7));
            Assert.Equal(503, refused.Status);
            Assert.Equal((-32003, "7"), refused.JsonRpcError());
            Assert.Empty(g.Upstream.Requests);

            RawResponse notReady = await ReadyzAsync(g);
            Assert.Equal(503, notReady.Status);
            Assert.Contains("\"name\":\"default\"", notReady.Body, StringComparison.Ordinal);
            Assert.Contains("no upstream access token", notReady.Body, StringComparison.Ordinal);
            string metrics = await AdminGet.TextAsync(g.Gateway.AdminEndpoint, "/metrics");
            Assert.Contains("fastmcp_upstream_credential_failures_total{upstream=\"default\"} 1\n", metrics);
            Assert.Contains("fastmcp_upstream_token_remaining_seconds{upstream=\"default\"} 0\n", metrics);
            Assert.DoesNotContain("fastmcp_upstream_token_fetch_failures_total{upstream=\"default\"} 0\n", metrics);

            endpoint.Start();
            await WaitReadyAsync(g);
            Assert.Equal(200, (await g.PostAsync(Call(8))).Status);
            Assert.Equal("Bearer tok-1", g.Upstream.SingleRequest().Header("Authorization"));

            List<JsonElement> records = AuditRecordFields.Parse([.. await g.StopAndReadAuditAsync()]);
            JsonElement failed = Assert.Single(records, r => r.GetProperty("type").GetString() == "McpExchange"
                && r.TryGetProperty("detail", out JsonElement d) && d.GetString()!.Contains("UpstreamCredentialUnavailable", StringComparison.Ordinal));
            Assert.Equal(503, failed.GetProperty("httpStatus").GetInt32());
            Assert.Equal("7", failed.GetProperty("jsonrpcId").GetRawText());
        }
    }

    [Fact]
    public async Task A_refused_client_secret_is_logged_without_the_secret_and_a_rotated_secret_file_is_used()
    {
        var lines = new SynchronizedLines();
        TextWriter previous = Log.Output;
        Log.Output = lines;
        try
        {
            await using var endpoint = new TokenEndpoint(ClientId, "the-new-secret").Start();
            string file = SecretFile("the-old-secret");
            await using CardGateway g = await CardGateway.StartAsync(configure: OAuth(endpoint, file));

            Assert.Equal(503, (await g.PostAsync(Call(1))).Status);
            Assert.Equal(503, (await ReadyzAsync(g)).Status);
            Assert.Contains("answered 401 invalid_client", lines.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("the-old-secret", lines.Text, StringComparison.Ordinal);

            File.WriteAllText(file, "the-new-secret");
            await WaitReadyAsync(g);
            Assert.Equal(200, (await g.PostAsync(Call(2))).Status);
            Assert.Equal("Bearer tok-1", g.Upstream.SingleRequest().Header("Authorization"));
            Assert.DoesNotContain("the-new-secret", lines.Text, StringComparison.Ordinal);
        }
        finally
        {
            Log.Output = previous;
        }
    }

    [Fact]
    public async Task An_upstream_401_renews_the_token_once_without_repeating_the_call()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret).Start();
        await using CardGateway g = await CardGateway.StartAsync(configure: OAuth(endpoint, SecretFile(Secret)),
            upstreamScript: x => x.SendAsync("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 0\r\n\r\n"));

        Assert.Equal(502, (await g.PostAsync(Call(1))).Status);
        await endpoint.WaitForIssuedAsync(2);
        Assert.Equal(502, (await g.PostAsync(Call(2))).Status);
        Assert.Equal(502, (await g.PostAsync(Call(3))).Status);
        // Each call went up once, the first with tok-1 and the next with the renewed one; the later 401s renew nothing
        // (one renewal per rejection interval), so an upstream refusing every token does not turn calls into token requests.
        string[] sent = [.. g.Upstream.Requests.Select(r => r.Header("Authorization") ?? "")];
        Assert.Equal(["Bearer tok-1", "Bearer tok-2", "Bearer tok-2"], sent);
        Assert.Equal(2, endpoint.Issued);
    }

    [Theory]
    [InlineData("""{"tokenUrl":"http://login.example.com/token","clientId":"g","clientSecretEnv":"S"}""", "oauth.tokenUrl")]
    [InlineData("""{"tokenUrl":"not a url","clientId":"g","clientSecretEnv":"S"}""", "oauth.tokenUrl")]
    [InlineData("""{"clientId":"g","clientSecretEnv":"S"}""", "oauth.tokenUrl")]
    [InlineData("""{"tokenUrl":"https://login.example.com/token","clientSecretEnv":"S"}""", "oauth.clientId")]
    [InlineData("""{"tokenUrl":"https://login.example.com/token","clientId":"g"}""", "oauth.clientSecretFile")]
    [InlineData("""{"tokenUrl":"https://login.example.com/token","clientId":"g","clientSecretEnv":"S","clientAuthentication":"private_key_jwt"}""", "oauth.clientAuthentication")]
    [InlineData("""{"tokenUrl":"https://login.example.com/token","clientId":"g","clientSecretEnv":"S","resource":"mcp"}""", "oauth.resource")]
    [InlineData("""{"tokenUrl":"https://login.example.com/token","clientId":"g","clientSecretEnv":"S","timeoutMs":0}""", "oauth.timeoutMs")]
    public void A_malformed_oauth_section_is_a_configuration_error_naming_the_field(string oauth, string field)
    {
        Environment.SetEnvironmentVariable("S", null);
        GatewayOptions o = ConfigurationLoader.Parse(Encoding.UTF8.GetBytes(
            """{"identity":{"mode":"anonymous","upstreamCredential":{"oauth":""" + oauth + """}},"upstream":{"url":"http://127.0.0.1:1/mcp"},""" + Policy + "}"));
        ConfigurationLoader.Validate(o);
        var e = Assert.Throws<ConfigurationException>(() => GatewayStages.Check(o, [new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0)]));
        Assert.Contains("identity.upstreamCredential." + field, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_sources_are_refused_and_a_named_upstreams_field_is_named_under_it()
    {
        GatewayOptions both = ConfigurationLoader.Parse("""
            {"identity":{"mode":"anonymous","upstreamCredential":{"valueEnv":"X","oauth":{"tokenUrl":"https://l.example/t","clientId":"g","clientSecretEnv":"S"}}},
             "upstream":{"url":"http://127.0.0.1:1/mcp"},"policy":{"rules":[{"name":"all","action":"allow"}]}}
            """u8);
        ConfigurationLoader.Validate(both);
        var e = Assert.Throws<ConfigurationException>(() => GatewayStages.Check(both, [new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0)]));
        Assert.Contains("exactly one of valueFile, valueEnv, oauth and tokenExchange", e.Message, StringComparison.Ordinal);

        GatewayOptions named = ConfigurationLoader.Parse("""
            {"identity":{"mode":"anonymous"},"upstream":{"url":"http://127.0.0.1:1/mcp"},
             "upstreams":{"pay":{"url":"http://127.0.0.1:2/mcp","credential":{"oauth":{"tokenUrl":"ftp://l.example/t","clientId":"g","clientSecretEnv":"S"}}}},
             "routes":[{"path":"/pay","upstream":"pay"}],"policy":{"rules":[{"name":"all","action":"allow"}]}}
            """u8);
        ConfigurationLoader.Validate(named);
        e = Assert.Throws<ConfigurationException>(() => GatewayStages.Check(named, [new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0)]));
        Assert.Equal("upstreams.pay.credential", e.Field);
        Assert.Contains("oauth.tokenUrl", e.Problem, StringComparison.Ordinal);
    }

    private sealed class SynchronizedLines : StringWriter
    {
        public string Text { get { lock (this) return ToString(); } }
    }
}
