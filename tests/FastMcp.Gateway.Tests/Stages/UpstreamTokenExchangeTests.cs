using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// The upstream credential as a per-caller token exchange (docs/identity.md, "Token exchange"): through the real gateway,
/// a real token endpoint answering RFC 8693 requests and an upstream that records the Authorization header it gets, each
/// caller's own verified token is exchanged, the exchanged token (never the caller's) goes upstream, and it is kept per
/// caller until it expires; a failed exchange refuses the request (503 or 403), recorded and counted.
/// </summary>
[Collection(LogOutputCollection.Name)]
public sealed class UpstreamTokenExchangeTests : IDisposable
{
    private const string ClientId = "fastmcp-gateway";
    private const string Secret = "s3cret-of-the-gateway";
    private readonly ClientSecretFolder _secrets = new();

    public void Dispose() => _secrets.Dispose();

    private string SecretFile() => _secrets.Write(Secret);

    private Action<GatewayOptions> Exchange(TokenEndpoint endpoint, Action<TokenExchangeOptions>? adjust = null) => o =>
    {
        var exchange = new TokenExchangeOptions
        {
            TokenUrl = endpoint.Url, ClientId = ClientId, ClientSecretFile = SecretFile(), Audience = "payments-mcp", Resource = "https://mcp.internal/mcp",
            Scope = "mcp:tools", TimeoutMs = 2_000,
        };
        adjust?.Invoke(exchange);
        o.Identity!.UpstreamCredential = new UpstreamCredentialOptions { TokenExchange = exchange };
    };

    private static Task<PolicyGateway> StartAsync(Action<GatewayOptions> configure, Func<UpstreamExchange, Task>? script = null) =>
        PolicyGateway.StartAsync(script ?? CardGateway.EmptyResult, [new RuleOptions { Name = "all", Action = "allow" }], configure);

    private static string Call(int id) => CardGateway.ToolCall(id.ToString(System.Globalization.CultureInfo.InvariantCulture), "echo", "{}");

    private static string SentToken(UpstreamRequest r)
    {
        string header = r.Header("Authorization") ?? "";
        Assert.StartsWith("Bearer ", header, StringComparison.Ordinal);
        return header["Bearer ".Length..];
    }

    [Fact]
    public async Task Two_callers_get_two_upstream_tokens_exchanged_from_their_own_and_a_cached_one_is_not_exchanged_again()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret).Start();
        await using PolicyGateway g = await StartAsync(Exchange(endpoint));
        string alice = g.Token("alice"), bob = g.Token("bob");

        Assert.Equal(200, (await g.PostAsync(Call(1), alice)).Status);
        Assert.Equal(200, (await g.PostAsync(Call(2), bob)).Status);
        Assert.Equal(200, (await g.PostAsync(Call(3), alice)).Status);
        Assert.Equal(200, (await g.PostAsync(Call(4), bob)).Status);

        UpstreamRequest[] sent = [.. g.Upstream.Requests];
        Assert.Equal(4, sent.Length);
        string forAlice = SentToken(sent[0]), forBob = SentToken(sent[1]);
        Assert.NotEqual(forAlice, forBob);
        Assert.Equal(alice, endpoint.ExchangedFor[forAlice]);
        Assert.Equal(bob, endpoint.ExchangedFor[forBob]);
        // The second call of each caller used the cached token: two exchanges in all.
        Assert.Equal(forAlice, SentToken(sent[2]));
        Assert.Equal(forBob, SentToken(sent[3]));
        Assert.Equal(2, endpoint.Issued);
        // The caller's own token never reaches the upstream.
        foreach (UpstreamRequest r in sent)
        {
            Assert.DoesNotContain(alice, r.Head.Raw, StringComparison.Ordinal);
            Assert.DoesNotContain(bob, r.Head.Raw, StringComparison.Ordinal);
        }

        (string? authorization, string form) = endpoint.Requests.First();
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(ClientId + ":" + Secret)), authorization);
        Dictionary<string, string> fields = TokenEndpoint.Parse(form);
        Assert.Equal(TokenEndpoint.ExchangeGrant, fields["grant_type"]);
        Assert.Equal(alice, fields["subject_token"]);
        Assert.Equal(TokenEndpoint.AccessTokenType, fields["subject_token_type"]);
        Assert.Equal(TokenEndpoint.AccessTokenType, fields["requested_token_type"]);
        Assert.Equal("payments-mcp", fields["audience"]);
        Assert.Equal("https://mcp.internal/mcp", fields["resource"]);
        Assert.Equal("mcp:tools", fields["scope"]);

        string metrics = await AdminGet.TextAsync(g.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_upstream_token_exchanges_total{upstream=\"default\"} 2\n", metrics);
        Assert.Contains("fastmcp_upstream_token_exchange_cached_callers{upstream=\"default\"} 2\n", metrics);
    }

    [Fact]
    public async Task Concurrent_first_calls_of_one_caller_make_one_exchange()
    {
        // A slow endpoint keeps the first exchange open while the other calls arrive: they wait for it rather than ask again.
        await using var endpoint = new TokenEndpoint(ClientId, Secret) { AnswerDelayMs = 500 }.Start();
        await using PolicyGateway g = await StartAsync(Exchange(endpoint));
        string alice = g.Token("alice");

        RawResponse[] answers = await Task.WhenAll(Enumerable.Range(1, 8).Select(i => g.PostAsync(Call(i), alice)));
        Assert.All(answers, a => Assert.Equal(200, a.Status));
        Assert.Equal(1, endpoint.Issued);
        Assert.Single(g.Upstream.Requests.Select(SentToken).Distinct());
    }

    [Fact]
    public async Task An_expired_exchanged_token_is_exchanged_again()
    {
        // A 2 s token with the default 60 s margin is used for half its life.
        await using var endpoint = new TokenEndpoint(ClientId, Secret) { ExpiresInSeconds = 2 }.Start();
        await using PolicyGateway g = await StartAsync(Exchange(endpoint));
        string alice = g.Token("alice");

        Assert.Equal(200, (await g.PostAsync(Call(1), alice)).Status);
        string first = SentToken(g.Upstream.Requests.First());
        for (int i = 0; i < 200 && endpoint.Issued < 2; i++)
        {
            await Task.Delay(50);
            Assert.Equal(200, (await g.PostAsync(Call(2 + i), alice)).Status);
        }
        Assert.Equal(2, endpoint.Issued);
        string second = SentToken(g.Upstream.Requests.Last());
        Assert.NotEqual(first, second);
        Assert.Equal(alice, endpoint.ExchangedFor[second]);
    }

    [Fact]
    public async Task A_caller_token_that_expires_first_bounds_the_cached_exchange()
    {
        // The exchanged token lives an hour, the caller's token 2 s: past the caller's exp (still admitted within the
        // 30 s clock skew) the hour-long token is not used any more, the caller's token is exchanged again.
        await using var endpoint = new TokenEndpoint(ClientId, Secret) { ExpiresInSeconds = 3600 }.Start();
        await using PolicyGateway g = await StartAsync(Exchange(endpoint));
        string shortLived = g.ShortLivedToken("alice", TimeSpan.FromSeconds(2));

        Assert.Equal(200, (await g.PostAsync(Call(1), shortLived)).Status);
        for (int i = 0; i < 200 && endpoint.Issued < 2; i++)
        {
            await Task.Delay(50);
            Assert.Equal(200, (await g.PostAsync(Call(2 + i), shortLived)).Status);
        }
        Assert.Equal(2, endpoint.Issued);
        Assert.All(endpoint.ExchangedFor.Values, subject => Assert.Equal(shortLived, subject));
    }

    [Fact]
    public async Task With_the_token_endpoint_down_a_call_is_refused_503_recorded_and_counted()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret);
        PolicyGateway g = await StartAsync(Exchange(endpoint));
        await using (g)
        {
            string alice = g.Token("alice");
            RawResponse refused = await g.PostAsync(Call(7), alice);
            Assert.Equal(503, refused.Status);
            Assert.Equal((-32003, "7"), refused.JsonRpcError());
            Assert.Empty(g.Upstream.Requests);
            string metrics = await AdminGet.TextAsync(g.Gateway.AdminEndpoint, "/metrics");
            Assert.Contains("fastmcp_upstream_token_exchange_failures_total{upstream=\"default\",reason=\"unavailable\"} 1\n", metrics);
            Assert.Contains("fastmcp_upstream_token_exchange_failures_total{upstream=\"default\",reason=\"refused\"} 0\n", metrics);

            endpoint.Start();
            Assert.Equal(200, (await g.PostAsync(Call(8), alice)).Status);
            Assert.Equal(alice, endpoint.ExchangedFor[SentToken(g.Upstream.SingleRequest())]);

            JsonElement failed = Assert.Single(AuditRecordFields.Parse([.. await g.StopAndReadAuditAsync()]), r => r.GetProperty("type").GetString() == "McpExchange"
                && r.TryGetProperty("detail", out JsonElement d) && d.GetString()!.Contains("UpstreamCredentialUnavailable", StringComparison.Ordinal));
            Assert.Equal(503, failed.GetProperty("httpStatus").GetInt32());
        }
    }

    [Fact]
    public async Task A_failing_token_endpoint_is_a_503_too()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret) { FailingStatus = 500 }.Start();
        await using PolicyGateway g = await StartAsync(Exchange(endpoint));
        RawResponse refused = await g.PostAsync(Call(3), g.Token("alice"));
        Assert.Equal(503, refused.Status);
        Assert.Equal((-32003, "3"), refused.JsonRpcError());
        Assert.Empty(g.Upstream.Requests);
    }

    [Fact]
    public async Task The_endpoint_refusing_the_gateways_own_client_is_a_503_not_a_refusal_of_the_caller()
    {
        // A wrong client secret: the endpoint answers 401 invalid_client to every exchange. That is the gateway's failure
        // (every caller alike), so no caller is told the identity provider refused them.
        await using var endpoint = new TokenEndpoint(ClientId, "another-secret").Start();
        await using PolicyGateway g = await StartAsync(Exchange(endpoint));
        RawResponse refused = await g.PostAsync(Call(7), g.Token("alice"));
        Assert.Equal(503, refused.Status);
        Assert.Equal((-32003, "7"), refused.JsonRpcError());
        Assert.DoesNotContain("identity provider refused", refused.Body, StringComparison.Ordinal);
        Assert.Empty(g.Upstream.Requests);
        string metrics = await AdminGet.TextAsync(g.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_upstream_token_exchange_failures_total{upstream=\"default\",reason=\"unavailable\"} 1\n", metrics);
    }

    [Fact]
    public async Task A_token_endpoint_slower_than_the_upstream_response_timeout_is_a_503()
    {
        // The exchange may take 5 s, the call's response deadline is 300 ms: the call stops waiting and is not forwarded.
        await using var endpoint = new TokenEndpoint(ClientId, Secret) { AnswerDelayMs = 1_500 }.Start();
        await using PolicyGateway g = await StartAsync(o =>
        {
            Exchange(endpoint, x => x.TimeoutMs = 5_000)(o);
            o.Upstream.ResponseTimeoutMs = 300;
        });
        RawResponse refused = await g.PostAsync(Call(4), g.Token("alice"));
        Assert.Equal(503, refused.Status);
        Assert.Equal((-32003, "4"), refused.JsonRpcError());
        Assert.Empty(g.Upstream.Requests);
        string metrics = await AdminGet.TextAsync(g.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_upstream_token_exchange_failures_total{upstream=\"default\",reason=\"unavailable\"} 1\n", metrics);
    }

    [Fact]
    public async Task The_endpoint_refusing_one_caller_refuses_that_caller_403_while_another_still_works()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret).Start();
        await using PolicyGateway g = await StartAsync(Exchange(endpoint));
        string alice = g.Token("alice"), mallory = g.Token("mallory");
        endpoint.RefusedSubjects[mallory] = true;

        RawResponse refused = await g.PostAsync(Call(5), mallory);
        Assert.Equal(403, refused.Status);
        Assert.Equal((-32001, "5"), refused.JsonRpcError());
        Assert.Contains("identity provider refused", refused.Body, StringComparison.Ordinal);
        Assert.Equal(200, (await g.PostAsync(Call(6), alice)).Status);
        Assert.Equal(alice, endpoint.ExchangedFor[SentToken(g.Upstream.SingleRequest())]);

        string metrics = await AdminGet.TextAsync(g.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_upstream_token_exchange_failures_total{upstream=\"default\",reason=\"refused\"} 1\n", metrics);
        JsonElement failed = Assert.Single(AuditRecordFields.Parse([.. await g.StopAndReadAuditAsync()]), r => r.GetProperty("type").GetString() == "McpExchange"
            && r.TryGetProperty("detail", out JsonElement d) && d.GetString()!.Contains("UpstreamCredentialRefused", StringComparison.Ordinal));
        Assert.Equal(403, failed.GetProperty("httpStatus").GetInt32());
    }

    [Fact]
    public async Task A_refused_caller_is_remembered_so_its_retries_do_not_reach_the_token_endpoint_until_the_refusal_time_passes()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret).Start();
        await using PolicyGateway g = await StartAsync(Exchange(endpoint, x => x.RefusalCacheSeconds = 1));
        string alice = g.Token("alice"), mallory = g.Token("mallory");
        endpoint.RefusedSubjects[mallory] = true;
        int malloryCalls = 3;

        for (int i = 1; i <= 3; i++)
        {
            RawResponse refused = await g.PostAsync(Call(i), mallory);
            Assert.Equal(403, refused.Status);
            Assert.Equal((-32001, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), refused.JsonRpcError());
        }
        Assert.Equal(1, MalloryAsked());
        // Another caller is not affected by mallory's refusal.
        Assert.Equal(200, (await g.PostAsync(Call(4), alice)).Status);
        Assert.Equal(alice, endpoint.ExchangedFor[SentToken(g.Upstream.SingleRequest())]);
        string metrics = await AdminGet.TextAsync(g.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_upstream_token_exchange_failures_total{upstream=\"default\",reason=\"refused\"} 3\n", metrics);

        // Past the refusal time the endpoint is asked again (bounded wait: 200 tries of 50 ms).
        for (int i = 0; i < 200 && MalloryAsked() < 2; i++)
        {
            await Task.Delay(50);
            Assert.Equal(403, (await g.PostAsync(Call(10 + i), mallory)).Status);
            malloryCalls++;
        }
        Assert.Equal(2, MalloryAsked());

        // Every refusal, remembered or not, is recorded as a 403.
        Assert.Equal(malloryCalls, AuditRecordFields.Parse([.. await g.StopAndReadAuditAsync()]).Count(r => r.GetProperty("type").GetString() == "McpExchange"
            && r.TryGetProperty("detail", out JsonElement d) && d.GetString()!.Contains("UpstreamCredentialRefused", StringComparison.Ordinal)
            && r.GetProperty("httpStatus").GetInt32() == 403));

        int MalloryAsked() => endpoint.Requests.Count(q => TokenEndpoint.Parse(q.Form).GetValueOrDefault("subject_token") == mallory);
    }

    [Fact]
    public void RefusalCacheSeconds_is_read_from_the_configuration_file()
    {
        GatewayOptions o = ConfigurationLoader.Parse("""
            {"identity":{"mode":"dev","upstreamCredential":{"tokenExchange":{"tokenUrl":"https://l.example/t","clientId":"g","clientSecretEnv":"S","refusalCacheSeconds":5}}},
             "upstream":{"url":"http://127.0.0.1:1/mcp"},"policy":{"rules":[{"name":"all","action":"allow"}]}}
            """u8);
        Assert.Equal(5, o.Identity!.UpstreamCredential!.TokenExchange!.RefusalCacheSeconds);
    }

    [Fact]
    public async Task With_refusalCacheSeconds_0_every_retry_of_a_refused_caller_asks_the_endpoint()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret).Start();
        await using PolicyGateway g = await StartAsync(Exchange(endpoint, x => x.RefusalCacheSeconds = 0));
        string mallory = g.Token("mallory");
        endpoint.RefusedSubjects[mallory] = true;
        for (int i = 1; i <= 3; i++) Assert.Equal(403, (await g.PostAsync(Call(i), mallory)).Status);
        Assert.Equal(3, endpoint.Requests.Count);
    }

    [Fact]
    public async Task An_unavailable_endpoint_is_not_remembered_per_caller()
    {
        // A 500 says nothing about the caller: the next call asks again and succeeds once the endpoint recovers.
        await using var endpoint = new TokenEndpoint(ClientId, Secret) { FailingStatus = 500 }.Start();
        await using PolicyGateway g = await StartAsync(Exchange(endpoint));
        string alice = g.Token("alice");
        Assert.Equal(503, (await g.PostAsync(Call(1), alice)).Status);
        endpoint.FailingStatus = null;
        Assert.Equal(200, (await g.PostAsync(Call(2), alice)).Status);
        Assert.Equal(2, endpoint.Requests.Count);
    }

    [Fact]
    public async Task A_refused_exchange_is_logged_once_per_interval_without_either_token()
    {
        var lines = new SynchronizedLines();
        TextWriter previous = Log.Output;
        Log.Output = lines;
        try
        {
            await using var endpoint = new TokenEndpoint(ClientId, Secret).Start();
            await using PolicyGateway g = await StartAsync(Exchange(endpoint));
            string mallory = g.Token("mallory");
            endpoint.RefusedSubjects[mallory] = true;
            Assert.Equal(403, (await g.PostAsync(Call(1), mallory)).Status);
            Assert.Equal(403, (await g.PostAsync(Call(2), mallory)).Status);
            Assert.Equal(403, (await g.PostAsync(Call(3), mallory)).Status);

            string text = lines.Text;
            string[] exchangeLines = [.. text.Split('\n').Where(l => l.Contains("token exchange failed", StringComparison.Ordinal))];
            // The first is written; the next two come within the 10 s interval and are held back (the count goes on the next line).
            string line = Assert.Single(exchangeLines);
            Assert.Contains("answered 400 invalid_grant", line, StringComparison.Ordinal);
            Assert.Contains("UpstreamCredentialRefused", text, StringComparison.Ordinal);
            Assert.DoesNotContain(mallory, text, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        }
        finally
        {
            Log.Output = previous;
        }
    }

    private sealed class SynchronizedLines : StringWriter
    {
        public string Text { get { lock (this) return ToString(); } }
    }

    [Fact]
    public async Task An_upstream_401_drops_the_callers_entry_without_repeating_the_call()
    {
        int calls = 0;
        await using var endpoint = new TokenEndpoint(ClientId, Secret).Start();
        await using PolicyGateway g = await StartAsync(Exchange(endpoint), script: x => Interlocked.Increment(ref calls) == 1
            ? x.SendAsync("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 0\r\n\r\n")
            : CardGateway.EmptyResult(x));
        string alice = g.Token("alice");

        Assert.Equal(502, (await g.PostAsync(Call(1), alice)).Status);
        Assert.Equal(200, (await g.PostAsync(Call(2), alice)).Status);
        Assert.Equal(200, (await g.PostAsync(Call(3), alice)).Status);
        string[] sent = [.. g.Upstream.Requests.Select(SentToken)];
        Assert.Equal(3, sent.Length);
        Assert.NotEqual(sent[0], sent[1]);
        Assert.Equal(sent[1], sent[2]);
        Assert.Equal(2, endpoint.Issued);
    }

    [Fact]
    public async Task A_GET_stream_carries_the_callers_exchanged_token()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret).Start();
        await using PolicyGateway g = await StartAsync(Exchange(endpoint), script: async x =>
        {
            if (x.Request.Method == "GET")
            {
                await x.StartEventStreamAsync();
                await x.EndChunkedAsync();
                return;
            }
            await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}", "Mcp-Session-Id: s-1\r\n");
        });
        string alice = g.Token("alice");
        RawResponse initialized = await g.PostAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""", alice);
        string session = initialized.Header("Mcp-Session-Id")!;
        using (RawClient client = await g.Gateway.ConnectAsync())
        {
            await client.SendAsync($"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {alice}\r\nMcp-Session-Id: {session}\r\n"
                + "Accept: text/event-stream\r\nMCP-Protocol-Version: 2025-06-18\r\n\r\n");
            Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        }
        UpstreamRequest get = Assert.Single(g.Upstream.Requests, r => r.Method == "GET");
        Assert.Equal(alice, endpoint.ExchangedFor[SentToken(get)]);
        Assert.Equal(1, endpoint.Issued);
    }

    /// <summary>A gateway federating members a and b on /mcp/all, each with its own token exchange (audiences a-mcp, b-mcp).</summary>
    private Task<PolicyGateway> StartFederatedAsync(TokenEndpoint endpoint, ScriptedUpstream a, ScriptedUpstream b)
    {
        string secretFile = SecretFile();
        TokenExchangeOptions For(string audience) => new() { TokenUrl = endpoint.Url, ClientId = ClientId, ClientSecretFile = secretFile, Audience = audience, TimeoutMs = 2_000 };
        return StartAsync(o =>
        {
            o.Upstreams["a"] = new UpstreamOptions { Url = a.Url, ConnectTimeoutMs = 1_000, Credential = new UpstreamCredentialOptions { TokenExchange = For("a-mcp") } };
            o.Upstreams["b"] = new UpstreamOptions { Url = b.Url, ConnectTimeoutMs = 1_000, Credential = new UpstreamCredentialOptions { TokenExchange = For("b-mcp") } };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
        });
    }

    private static Task<RawResponse> InitializeFederatedAsync(PolicyGateway g, string token) =>
        g.PostAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
            token, path: "/mcp/all");

    [Fact]
    public async Task Federated_members_with_their_own_exchange_get_the_callers_token_for_each()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret).Start();
        static Func<UpstreamExchange, Task> Member(string name) => ScriptedMember.Serve(name,
            (x, id) => x.RespondJsonAsync(ScriptedMember.Result(id, "{\"content\":[{\"type\":\"text\",\"text\":\"" + name + " ran\"}]}"), $"Mcp-Session-Id: s-{name}\r\n"));
        await using var a = new ScriptedUpstream(Member("a"));
        await using var b = new ScriptedUpstream(Member("b"));
        await using PolicyGateway g = await StartFederatedAsync(endpoint, a, b);
        string alice = g.Token("alice");
        RawResponse initialized = await InitializeFederatedAsync(g, alice);
        Assert.Equal(200, initialized.Status);
        string session = initialized.Header("Mcp-Session-Id")!;
        RawResponse answer = await g.PostAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"b__echo","arguments":{}}}""", alice,
            $"Mcp-Session-Id: {session}\r\n", "/mcp/all");
        Assert.Equal(200, answer.Status);
        Assert.Contains("b ran", answer.Body, StringComparison.Ordinal);

        // Each member got a token exchanged from alice's for its own audience; none got alice's own token.
        foreach ((ScriptedUpstream member, string audience) in new[] { (a, "a-mcp"), (b, "b-mcp") })
        {
            Assert.NotEmpty(member.Requests);
            foreach (UpstreamRequest r in member.Requests)
            {
                string sent = SentToken(r);
                Assert.Equal(alice, endpoint.ExchangedFor[sent]);
                Assert.DoesNotContain(alice, r.Head.Raw, StringComparison.Ordinal);
                (_, string form) = endpoint.Requests.Single(q => TokenEndpoint.Parse(q.Form).GetValueOrDefault("audience") == audience);
                Assert.Equal(alice, TokenEndpoint.Parse(form)["subject_token"]);
            }
        }
        Assert.Equal(2, endpoint.Issued);
    }

    [Fact]
    public async Task A_federated_member_whose_exchange_is_refused_is_left_out_while_the_other_works_with_its_own_token()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret).Start();
        endpoint.RefusedAudiences["b-mcp"] = true;
        static Func<UpstreamExchange, Task> Member(string name) => ScriptedMember.Serve(name, (x, id) => x.Request.Body.Contains("tools/list", StringComparison.Ordinal)
            ? x.RespondJsonAsync(ScriptedMember.Result(id, "{\"tools\":[{\"name\":\"echo\",\"inputSchema\":{\"type\":\"object\"}}]}"))
            : x.RespondJsonAsync(ScriptedMember.Result(id, "{\"content\":[{\"type\":\"text\",\"text\":\"" + name + " ran\"}]}")));
        await using var a = new ScriptedUpstream(Member("a"));
        await using var b = new ScriptedUpstream(Member("b"));
        await using PolicyGateway g = await StartFederatedAsync(endpoint, a, b);
        string alice = g.Token("alice");
        RawResponse initialized = await InitializeFederatedAsync(g, alice);
        Assert.True(initialized.Status == 200, initialized.Status + " " + initialized.Body);
        string session = initialized.Header("Mcp-Session-Id")!;
        string headers = $"Mcp-Session-Id: {session}\r\n";

        RawResponse list = await g.PostAsync("""{"jsonrpc":"2.0","id":2,"method":"tools/list"}""", alice, headers, "/mcp/all");
        Assert.True(list.Status == 200, list.Status + " " + list.Body);
        Assert.Contains("a__echo", list.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("b__echo", list.Body, StringComparison.Ordinal);

        // As federation treats any member failing initialize: b is left out of alice's session, and a call of its tool is
        // answered -32003 by the gateway, not forwarded.
        RawResponse refused = await g.PostAsync("""{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"b__echo","arguments":{}}}""", alice, headers, "/mcp/all");
        Assert.Equal((-32003, "3"), refused.JsonRpcError());
        Assert.Contains("upstream 'b' is not available in this session", refused.Body, StringComparison.Ordinal);
        Assert.Contains("no upstream credential could be had for this caller", refused.Body, StringComparison.Ordinal);
        RawResponse ran = await g.PostAsync("""{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"a__echo","arguments":{}}}""", alice, headers, "/mcp/all");
        Assert.Equal(200, ran.Status);
        Assert.Contains("a ran", ran.Body, StringComparison.Ordinal);

        // b never got a request: no token for it, and neither alice's own nor a's.
        Assert.Empty(b.Requests);
        string metrics = await AdminGet.TextAsync(g.Gateway.AdminEndpoint, "/metrics");
        Assert.Contains("fastmcp_upstream_token_exchange_failures_total{upstream=\"b\",reason=\"refused\"} ", metrics);
        Assert.DoesNotContain("fastmcp_upstream_token_exchange_failures_total{upstream=\"b\",reason=\"refused\"} 0\n", metrics);
        Assert.Contains("fastmcp_upstream_token_exchange_failures_total{upstream=\"a\",reason=\"refused\"} 0\n", metrics);
        Assert.NotEmpty(a.Requests);
        foreach (UpstreamRequest r in a.Requests)
        {
            Assert.Equal(alice, endpoint.ExchangedFor[SentToken(r)]);
            Assert.DoesNotContain(alice, r.Head.Raw, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Token_exchange_in_anonymous_mode_is_a_configuration_error_naming_the_field()
    {
        GatewayOptions o = ConfigurationLoader.Parse("""
            {"identity":{"mode":"anonymous","upstreamCredential":{"tokenExchange":{"tokenUrl":"https://l.example/t","clientId":"g","clientSecretEnv":"S"}}},
             "upstream":{"url":"http://127.0.0.1:1/mcp"},"policy":{"rules":[{"name":"all","action":"allow"}]}}
            """u8);
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Validate(o));
        Assert.Equal("identity.upstreamCredential.tokenExchange", e.Field);

        GatewayOptions named = ConfigurationLoader.Parse("""
            {"identity":{"mode":"anonymous"},"upstream":{"url":"http://127.0.0.1:1/mcp"},
             "upstreams":{"pay":{"url":"http://127.0.0.1:2/mcp","credential":{"tokenExchange":{"tokenUrl":"https://l.example/t","clientId":"g","clientSecretEnv":"S"}}}},
             "routes":[{"path":"/pay","upstream":"pay"}],"policy":{"rules":[{"name":"all","action":"allow"}]}}
            """u8);
        e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Validate(named));
        Assert.Equal("upstreams.pay.credential.tokenExchange", e.Field);
    }

    [Fact]
    public void The_exchange_client_secret_variable_is_one_a_stdio_server_never_inherits()
    {
        GatewayOptions o = ConfigurationLoader.Parse("""
            {"identity":{"mode":"dev","upstreamCredential":{"tokenExchange":{"tokenUrl":"https://l.example/t","clientId":"g","clientSecretEnv":"XCHG_DEFAULT"}}},
             "upstream":{"url":"http://127.0.0.1:1/mcp"},
             "upstreams":{"pay":{"url":"http://127.0.0.1:2/mcp","credential":{"tokenExchange":{"tokenUrl":"https://l.example/t","clientId":"g","clientSecretEnv":"XCHG_PAY"}}}},
             "routes":[{"path":"/pay","upstream":"pay"}],"policy":{"rules":[{"name":"all","action":"allow"}]}}
            """u8);
        IReadOnlyCollection<string> hidden = FastMcp.Gateway.Upstream.Stdio.GatewaySecretVariables.Of(o);
        Assert.Contains("XCHG_DEFAULT", hidden);
        Assert.Contains("XCHG_PAY", hidden);
    }

    [Theory]
    [InlineData("""{"clientId":"g","clientSecretEnv":"FASTMCP_TEST_XCHG"}""", "tokenExchange.tokenUrl")]
    [InlineData("""{"tokenUrl":"https://l.example/t","clientId":"g","clientSecretEnv":"FASTMCP_TEST_XCHG","subjectTokenType":"saml2"}""", "tokenExchange.subjectTokenType")]
    [InlineData("""{"tokenUrl":"https://l.example/t","clientId":"g","clientSecretEnv":"FASTMCP_TEST_XCHG","requestedTokenType":"id_token"}""", "tokenExchange.requestedTokenType")]
    [InlineData("""{"tokenUrl":"https://l.example/t","clientId":"g","clientSecretEnv":"FASTMCP_TEST_XCHG","cacheSize":0}""", "tokenExchange.cacheSize")]
    [InlineData("""{"tokenUrl":"https://l.example/t","clientId":"g","clientSecretEnv":"FASTMCP_TEST_XCHG","refusalCacheSeconds":-1}""", "tokenExchange.refusalCacheSeconds")]
    [InlineData("""{"tokenUrl":"https://l.example/t","clientId":"g","clientSecretEnv":"FASTMCP_TEST_XCHG_UNSET"}""", "tokenExchange.clientSecretEnv")]
    public void A_malformed_tokenExchange_section_is_a_configuration_error_naming_the_field(string exchange, string field)
    {
        Environment.SetEnvironmentVariable("FASTMCP_TEST_XCHG", "secret");
        GatewayOptions o = ConfigurationLoader.Parse(Encoding.UTF8.GetBytes(
            """{"identity":{"mode":"dev","resource":"http://127.0.0.1/mcp","devKeyDirectory":"/nonexistent-fastmcp-dev","upstreamCredential":{"tokenExchange":""" + exchange + """}},"upstream":{"url":"http://127.0.0.1:1/mcp"},"policy":{"rules":[{"name":"all","action":"allow"}]}}"""));
        ConfigurationLoader.Validate(o);
        var e = Assert.Throws<ConfigurationException>(() => GatewayStages.Check(o, [new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0)]));
        Assert.True(e.Message.Contains("identity.upstreamCredential." + field, StringComparison.Ordinal), e.Message);
    }
}
