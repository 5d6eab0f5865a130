using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Answers to server requests with a tokenExchange credential, through the real gateway: the upstream sends a sampling
/// request on a tool call's stream and waits for its answer. The client's own answer (its POST of a JSON-RPC response)
/// and the gateway's answer in the client's stead (a request the policy denied) both reach the upstream with the
/// token exchanged from the answering caller's token: not another caller's exchanged token, not the caller's own.
/// </summary>
public sealed class TokenExchangeServerAnswerTests : IDisposable
{
    private const string ClientId = "fastmcp-gateway";
    private const string Secret = "s3cret-of-the-gateway";
    private const string SessionId = "sess-x";
    private const string ProtocolVersion = "2025-06-18";
    private const string SessionHeaders = $"Mcp-Session-Id: {SessionId}\r\nMCP-Protocol-Version: {ProtocolVersion}\r\n";
    private const string Sampling = "{\"jsonrpc\":\"2.0\",\"id\":\"srv-7\",\"method\":\"sampling/createMessage\",\"params\":{\"messages\":[{\"role\":\"user\",\"content\":"
        + "{\"type\":\"text\",\"text\":\"summarize\"}}],\"maxTokens\":50}}";

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-exchange-answer-" + Guid.NewGuid().ToString("N"));

    public TokenExchangeServerAnswerTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>Initialize opens a session; "plain" answers at once; "summarize" streams a sampling request and goes on only
    /// once it is answered (bounded); a body with no method is that answer.</summary>
    private sealed class SamplingUpstream
    {
        public TaskCompletionSource<UpstreamRequest> Answered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task Script(UpstreamExchange x)
        {
            if (x.Request.Body.Contains("\"initialize\"", StringComparison.Ordinal))
            {
                await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"protocolVersion\":\"" + ProtocolVersion
                    + "\",\"capabilities\":{},\"serverInfo\":{\"name\":\"s\",\"version\":\"1\"}}}", $"Mcp-Session-Id: {SessionId}\r\n");
                return;
            }
            if (x.Request.Method == "POST" && !x.Request.Body.Contains("\"method\"", StringComparison.Ordinal))
            {
                await x.SendAsync("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
                Answered.TrySetResult(x.Request);
                return;
            }
            if (!x.Request.Body.Contains("\"summarize\"", StringComparison.Ordinal))
            {
                await CardGateway.EmptyResult(x);
                return;
            }
            await x.StartEventStreamAsync();
            await x.SendEventAsync("data: " + Sampling + "\n\n");
            await Answered.Task.WaitAsync(TimeSpan.FromSeconds(20), x.Stopping);
            await x.SendEventAsync("data: {\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[]}}\n\n");
            await x.EndChunkedAsync();
        }
    }

    private Action<GatewayOptions> Exchange(TokenEndpoint endpoint, Action<GatewayOptions>? more = null) => o =>
    {
        string secretFile = Path.Combine(_dir, "client-secret");
        File.WriteAllText(secretFile, Secret + "\n");
        o.Identity!.UpstreamCredential = new UpstreamCredentialOptions
        {
            TokenExchange = new TokenExchangeOptions { TokenUrl = endpoint.Url, ClientId = ClientId, ClientSecretFile = secretFile, Audience = "payments-mcp", TimeoutMs = 2_000 },
        };
        more?.Invoke(o);
    };

    private static string ToolCall(string id, string name) =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + name + "\",\"arguments\":{}}}";

    private static string SentToken(UpstreamRequest r)
    {
        string header = r.Header("Authorization") ?? "";
        Assert.StartsWith("Bearer ", header, StringComparison.Ordinal);
        return header["Bearer ".Length..];
    }

    // Bob is exchanged first, so the cache holds another caller's token the answer could wrongly carry.
    private static async Task<(string Alice, string Bob)> CallersAsync(PolicyGateway g)
    {
        string alice = g.Token("alice"), bob = g.Token("bob");
        Assert.Equal(200, (await g.PostAsync(ToolCall("1", "plain"), bob)).Status);
        RawResponse opened = await g.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"" + ProtocolVersion
            + "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}", alice);
        Assert.Equal(SessionId, opened.Header("Mcp-Session-Id"));
        return (alice, bob);
    }

    private static void AssertCarriesExchangedTokenOf(UpstreamRequest answer, TokenEndpoint endpoint, string caller, string other)
    {
        string sent = SentToken(answer);
        Assert.Equal(caller, endpoint.ExchangedFor[sent]);
        Assert.NotEqual(other, endpoint.ExchangedFor[sent]);
        Assert.DoesNotContain(caller, answer.Head.Raw, StringComparison.Ordinal);
        Assert.DoesNotContain(other, answer.Head.Raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_clients_answer_to_a_server_request_carries_the_answering_callers_exchanged_token()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret).Start();
        var upstream = new SamplingUpstream();
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, [new RuleOptions { Name = "all", Action = "allow" }], Exchange(endpoint));
        (string alice, string bob) = await CallersAsync(g);

        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(g.Gateway.Post(ToolCall("5", "summarize"), $"Authorization: Bearer {alice}\r\n" + SessionHeaders));
        (_, int status) = await client.ReadHeadAsync();
        Assert.Equal(200, status);
        string? first = await client.ReadChunkAsync("the sampling request");
        Assert.Contains("sampling/createMessage", first);

        RawResponse answered = await g.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":\"srv-7\",\"result\":{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"ok\"}}}",
            alice, SessionHeaders);
        Assert.Equal(202, answered.Status);
        UpstreamRequest answer = await upstream.Answered.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Contains("\"ok\"", answer.Body, StringComparison.Ordinal);
        AssertCarriesExchangedTokenOf(answer, endpoint, alice, bob);
        Assert.Equal(2, endpoint.Issued);
    }

    [Fact]
    public async Task The_gateways_answer_to_a_denied_server_request_carries_the_callers_exchanged_token()
    {
        await using var endpoint = new TokenEndpoint(ClientId, Secret).Start();
        var upstream = new SamplingUpstream();
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, [new RuleOptions { Name = "all", Action = "allow" }],
            Exchange(endpoint, o => o.Policy!.ServerRequests = new ServerRequestPolicyOptions { DefaultAction = "deny" }));
        (string alice, string bob) = await CallersAsync(g);

        RawResponse response = await g.PostAsync(ToolCall("5", "summarize"), alice, SessionHeaders);
        Assert.Equal(200, response.Status);
        Assert.DoesNotContain("sampling/createMessage", response.Body, StringComparison.Ordinal);
        UpstreamRequest answer = await upstream.Answered.Task.WaitAsync(TimeSpan.FromSeconds(20));
        using (JsonDocument doc = JsonDocument.Parse(answer.BodyBytes))
            Assert.Equal(-32001, doc.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        AssertCarriesExchangedTokenOf(answer, endpoint, alice, bob);
        Assert.Equal(2, endpoint.Issued);
    }
}
