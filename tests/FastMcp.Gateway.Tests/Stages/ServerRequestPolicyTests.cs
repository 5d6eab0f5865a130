using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// policy.serverRequests through the real gateway: a request the upstream sends the client on an event stream (a POST's
/// or the session's GET stream) is decided before the client sees it. Denied: withheld, the stream goes on, the upstream
/// gets the gateway's -32001 answer in the same session, the audit log has the denial, and a client's answer to that id
/// never reaches the upstream. Allowed, or no section: relayed as before.
/// </summary>
public sealed class ServerRequestPolicyTests
{
    private const string SessionId = "sess-1";
    private const string ProtocolVersion = "2025-06-18";
    private const string Sampling = "{\"jsonrpc\":\"2.0\",\"id\":\"srv-7\",\"method\":\"sampling/createMessage\",\"params\":{\"messages\":[{\"role\":\"user\",\"content\":"
        + "{\"type\":\"text\",\"text\":\"summarize\"}}],\"systemPrompt\":\"you are a helpful tool\",\"maxTokens\":50}}";

    private static string Final(string idJson) => "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"done\"}]}}";

    /// <summary>An upstream that sends a sampling request on each stream and waits (bounded) for an answer to it before it goes on.</summary>
    private sealed class SamplingUpstream
    {
        public TaskCompletionSource<UpstreamRequest> Answered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task Script(UpstreamExchange x)
        {
            if (x.Request.Body.Contains("\"initialize\""))
            {
                await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"protocolVersion\":\"" + ProtocolVersion
                    + "\",\"capabilities\":{},\"serverInfo\":{\"name\":\"s\",\"version\":\"1\"}}}", $"Mcp-Session-Id: {SessionId}\r\n");
                return;
            }
            if (x.Request.Method == "POST" && !x.Request.Body.Contains("\"method\""))
            {
                // An answer to the sampling request (the client's, or the gateway's in its stead).
                await x.SendAsync("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
                Answered.TrySetResult(x.Request);
                return;
            }
            await x.StartEventStreamAsync();
            await x.SendEventAsync("data: " + Sampling + "\n\n");
            // The upstream's call goes on only once the request is answered (a real server's tool call awaits it).
            await Answered.Task.WaitAsync(TimeSpan.FromSeconds(20), x.Stopping);
            if (x.Request.Method == "POST") await x.SendEventAsync("data: " + Final(x.Request.IdJson()) + "\n\n");
            await x.EndChunkedAsync();
        }
    }

    private static List<RuleOptions> AllowAllClientCalls => [new RuleOptions { Name = "everything", Action = "allow" }];

    private static Action<GatewayOptions> ServerRules(string defaultAction, params RuleOptions[] rules) =>
        o => o.Policy!.ServerRequests = new ServerRequestPolicyOptions { DefaultAction = defaultAction, Rules = [.. rules] };

    private static RuleOptions DenySampling => new() { Name = "no-sampling", Action = "deny", Methods = ["sampling/*"] };

    private const string SessionHeaders = $"Mcp-Session-Id: {SessionId}\r\nMCP-Protocol-Version: {ProtocolVersion}\r\n";

    private static string Headers(string token) => $"Authorization: Bearer {token}\r\n" + SessionHeaders;

    private static async Task InitializeAsync(PolicyGateway g, string token)
    {
        RawResponse opened = await g.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"" + ProtocolVersion
            + "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}", token);
        Assert.Equal(SessionId, opened.Header("Mcp-Session-Id"));
    }

    private static string ToolCall(string id) => "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"summarize\",\"arguments\":{}}}";

    private static List<JsonElement> Parse(string[] records) => [.. records.Select(r => JsonDocument.Parse(r).RootElement.Clone())];

    private static string? Method(JsonElement r) => r.TryGetProperty("component", out var c) && c.TryGetProperty("method", out var m) ? m.GetString() : null;

    private static void AssertGatewayAnswered(UpstreamRequest answer)
    {
        using JsonDocument doc = JsonDocument.Parse(answer.BodyBytes);
        Assert.Equal("\"srv-7\"", doc.RootElement.GetProperty("id").GetRawText());
        JsonElement error = doc.RootElement.GetProperty("error");
        Assert.Equal(-32001, error.GetProperty("code").GetInt32());
        Assert.Contains("no-sampling", error.GetProperty("message").GetString());
        Assert.Equal(SessionId, answer.Header("Mcp-Session-Id"));
        Assert.Equal(ProtocolVersion, answer.Header("MCP-Protocol-Version"));
        // The gateway's own message: the client's token never goes upstream.
        Assert.Null(answer.Header("Authorization"));
    }

    private static void AssertDenialRecorded(List<JsonElement> records)
    {
        JsonElement denial = Assert.Single(records, r => Method(r) == "sampling/createMessage");
        Assert.Equal("Denied", denial.GetProperty("type").GetString());
        Assert.Equal("serverToClient", denial.GetProperty("direction").GetString());
        Assert.Equal("\"srv-7\"", denial.GetProperty("jsonrpcId").GetRawText());
        Assert.Equal(SessionId, denial.GetProperty("session").GetString());
        Assert.Equal("alice", denial.GetProperty("user").GetProperty("subject").GetString());
        Assert.Equal("default", denial.GetProperty("component").GetProperty("upstreamName").GetString());
        Assert.Contains("no-sampling", denial.GetRawText());
        Assert.Contains("withheld from the client", denial.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_denied_sampling_request_on_a_post_stream_is_withheld_answered_to_the_upstream_and_recorded()
    {
        var upstream = new SamplingUpstream();
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, AllowAllClientCalls, ServerRules("allow", DenySampling));
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        RawResponse response = await g.PostAsync(ToolCall("5"), token, SessionHeaders);
        Assert.Equal(200, response.Status);
        Assert.DoesNotContain("sampling/createMessage", response.Body);
        Assert.DoesNotContain("srv-7", response.Body);
        // The stream went on: the tool call's own answer came once the upstream had the gateway's answer.
        Assert.Contains("\"done\"", response.Body);
        AssertGatewayAnswered(await upstream.Answered.Task.WaitAsync(TimeSpan.FromSeconds(20)));

        // The client answers the id it never saw: refused, and nothing more reaches the upstream.
        int before = g.Upstream.Requests.Count;
        RawResponse guessed = await g.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":\"srv\\u002d7\",\"result\":{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"x\"}}}",
            token, SessionHeaders);
        Assert.Equal(403, guessed.Status);
        Assert.Equal(-32600, guessed.JsonRpcError().Code);
        // Nor inside a (2025-03-26) batch.
        RawResponse inBatch = await g.PostAsync("[{\"jsonrpc\":\"2.0\",\"id\":\"srv-7\",\"result\":{}}]", token,
            $"Mcp-Session-Id: {SessionId}\r\nMCP-Protocol-Version: 2025-03-26\r\n");
        Assert.Contains("answers a server request the gateway's policy denied", inBatch.Body);
        Assert.Equal(before, g.Upstream.Requests.Count);

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        AssertDenialRecorded(records);
        Assert.Contains(records, r => r.GetProperty("detail").GetString() == "answer to a denied server request");

        // The bundled verifier reads the log whole, and replay shows the denial as the upstream's request.
        string key = Path.Combine(g.AuditDirectory, "audit-signing-key.pub.pem");
        var verifyErrors = new StringWriter();
        Assert.True(await FastMcp.Audit.VerifyCommand.RunAsync([g.AuditDirectory, "--key", key], new StringWriter(), verifyErrors) == 0, verifyErrors.ToString());
        var text = new StringWriter();
        Assert.Equal(0, await FastMcp.Audit.ReplayCommand.RunAsync([g.AuditDirectory, "--key", key], text, new StringWriter()));
        string line = Assert.Single(text.ToString().Split('\n'), l => l.Contains("method=sampling/createMessage"));
        Assert.Contains(" server->client ", line);
        Assert.Contains("no-sampling", line);
    }

    [Fact]
    public async Task A_denied_sampling_request_on_the_get_stream_is_withheld_and_answered_to_the_upstream()
    {
        var upstream = new SamplingUpstream();
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, AllowAllClientCalls, ServerRules("deny"));
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync($"GET /mcp HTTP/1.1\r\nHost: {g.Gateway.Authority}\r\nAccept: text/event-stream\r\n{Headers(token)}\r\n");
        RawResponse stream = await client.ReadResponseAsync();
        Assert.Equal(200, stream.Status);
        Assert.DoesNotContain("sampling/createMessage", stream.Body);
        UpstreamRequest answer = await upstream.Answered.Task.WaitAsync(TimeSpan.FromSeconds(20));
        using JsonDocument doc = JsonDocument.Parse(answer.BodyBytes);
        Assert.Equal(-32001, doc.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("policy.serverRequests.defaultAction", doc.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(SessionId, answer.Header("Mcp-Session-Id"));

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        JsonElement denial = Assert.Single(records, r => Method(r) == "sampling/createMessage");
        Assert.Equal("Denied", denial.GetProperty("type").GetString());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_allowed_or_undecided_sampling_request_is_relayed_and_the_clients_answer_reaches_the_upstream(bool withSection)
    {
        var upstream = new SamplingUpstream();
        Action<GatewayOptions>? configure = withSection
            ? ServerRules("deny", new RuleOptions { Name = "sampling-for-alice", Action = "allow", Methods = ["sampling/createMessage"], Subjects = ["alice"] }, DenySampling)
            : null;
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, AllowAllClientCalls, configure);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        using RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(g.Gateway.Post(ToolCall("5"), Headers(token)));
        (_, int status) = await client.ReadHeadAsync();
        Assert.Equal(200, status);
        string? first = await client.ReadChunkAsync("the sampling request");
        Assert.NotNull(first);
        Assert.Contains("sampling/createMessage", first);

        RawResponse answered = await g.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":\"srv-7\",\"result\":{\"role\":\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"ok\"}}}",
            token, SessionHeaders);
        Assert.Equal(202, answered.Status);
        UpstreamRequest answer = await upstream.Answered.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Contains("\"ok\"", answer.Body);
    }

    [Fact]
    public async Task Argument_conditions_over_params_decide_which_sampling_requests_are_denied()
    {
        var upstream = new SamplingUpstream();
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, AllowAllClientCalls, ServerRules("allow",
            new RuleOptions { Name = "no-sampling", Action = "deny", Methods = ["sampling/createMessage"], Arguments = [new ArgumentConditionOptions { Pointer = "/systemPrompt", Exists = true }] }));
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        RawResponse response = await g.PostAsync(ToolCall("5"), token, SessionHeaders);
        Assert.DoesNotContain("sampling/createMessage", response.Body);
        Assert.Contains("\"done\"", response.Body);
        AssertGatewayAnswered(await upstream.Answered.Task.WaitAsync(TimeSpan.FromSeconds(20)));
    }
}
