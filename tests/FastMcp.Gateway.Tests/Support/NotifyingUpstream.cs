namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// For the tests of server notifications the gateway decides (resource updates, log messages): an upstream that answers
/// initialize with session <see cref="SessionId"/> and every other request (and the session's GET stream) with an event
/// stream carrying the given events, a POST's answer last; after the first event it waits for <see cref="Resume"/> when
/// asked to. Plus the client side of such a session: initialize, a tools/call and the GET stream.
/// </summary>
internal sealed class NotifyingUpstream(string capabilitiesJson, bool pauseAfterFirst, params string[] events)
{
    public const string SessionId = "sess-1";
    public const string ProtocolVersion = "2025-06-18";
    public const string SessionHeaders = $"Mcp-Session-Id: {SessionId}\r\nMCP-Protocol-Version: {ProtocolVersion}\r\n";
    public const string ToolCall = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"watch\",\"arguments\":{}}}";

    public TaskCompletionSource Resume { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static string Final(string idJson) => "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"done\"}]}}";

    public async Task Script(UpstreamExchange x)
    {
        if (x.Request.Body.Contains("\"initialize\"", StringComparison.Ordinal))
        {
            await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"protocolVersion\":\"" + ProtocolVersion
                + "\",\"capabilities\":" + capabilitiesJson + ",\"serverInfo\":{\"name\":\"s\",\"version\":\"1\"}}}", $"Mcp-Session-Id: {SessionId}\r\n");
            return;
        }
        await x.StartEventStreamAsync();
        for (int i = 0; i < events.Length; i++)
        {
            await x.SendEventAsync("event: message\ndata: " + events[i] + "\n\n");
            if (i == 0 && pauseAfterFirst) await Resume.Task.WaitAsync(TimeSpan.FromSeconds(20), x.Stopping);
        }
        if (x.Request.Method == "POST") await x.SendEventAsync("data: " + Final(x.Request.IdJson()) + "\n\n");
        await x.EndChunkedAsync();
    }

    /// <summary>Opens the session for <paramref name="token"/>'s caller.</summary>
    public static async Task InitializeAsync(PolicyGateway g, string token)
    {
        RawResponse opened = await g.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"" + ProtocolVersion
            + "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}", token);
        Assert.Equal(SessionId, opened.Header("Mcp-Session-Id"));
    }

    /// <summary>The caller's GET stream of the session, its head read (200).</summary>
    public static async Task<RawClient> OpenGetStreamAsync(PolicyGateway g, string token)
    {
        RawClient client = await g.Gateway.ConnectAsync();
        try
        {
            await client.SendAsync($"GET /mcp HTTP/1.1\r\nHost: {g.Gateway.Authority}\r\nAccept: text/event-stream\r\nAuthorization: Bearer {token}\r\n{SessionHeaders}\r\n");
            (_, int status) = await client.ReadHeadAsync();
            Assert.Equal(200, status);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>What is left of a stream, read until it ends (at most 50 chunks).</summary>
    public static async Task<string> ReadStreamAsync(RawClient client)
    {
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < 50; i++)
        {
            string? chunk = await client.ReadChunkAsync("the rest of the stream");
            if (chunk is null) break;
            text.Append(chunk);
        }
        return text.ToString();
    }

    /// <summary>
    /// Opens the session and its GET stream for alice, reads the first event (which must contain
    /// <paramref name="firstHolds"/>), swaps in <paramref name="reloaded"/> as a reload would (the new engine, whole),
    /// lets the upstream go on and returns the rest of the stream.
    /// </summary>
    public async Task<string> ReloadMidStreamAsync(PolicyGateway g, string firstHolds, List<FastMcp.Policy.RuleOptions> reloaded)
    {
        string token = g.Token("alice");
        await InitializeAsync(g, token);
        using RawClient client = await OpenGetStreamAsync(g, token);
        string? first = await client.ReadChunkAsync("the first event");
        Assert.NotNull(first);
        Assert.Contains(firstHolds, first);

        g.Gateway.Stages.Authorization!.Swap(FastMcp.Gateway.Hosting.GatewayStages.CompilePolicy(new FastMcp.Policy.PolicyOptions { Rules = reloaded }));
        Resume.SetResult();
        return await ReadStreamAsync(client);
    }
}
