using System.Text.Json;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// A request an upstream sends the client on an event stream (sampling/createMessage and the like) is recorded in
/// the audit log on its own, masked as the client got it (so are notifications, StreamEventAuditTests); and an audit
/// log that cannot take the record stops the request from reaching the client.
/// </summary>
public sealed class StreamServerRequestAuditTests
{
    private const string Pan = "4111111111111111";
    private const string Progress = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"p1\",\"progress\":1}}";
    private const string Sampling = "{\"jsonrpc\":\"2.0\",\"id\":\"srv-7\",\"method\":\"sampling/createMessage\",\"params\":{\"messages\":[{\"role\":\"user\",\"content\":"
        + "{\"type\":\"text\",\"text\":\"charge card " + Pan + "\"}}],\"maxTokens\":50}}";

    private static string Final(string idJson) => "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"done\"}]}}";

    /// <summary>Answers a POST with progress, a sampling request and the result; a GET with progress and a sampling request.</summary>
    private static async Task StreamWithServerRequest(UpstreamExchange x)
    {
        if (await OpenedSession(x)) return;
        await x.StartEventStreamAsync();
        await x.SendEventAsync("data: " + Progress + "\n\n");
        await x.SendEventAsync("data: " + Sampling + "\n\n");
        if (x.Request.Method == "POST") await x.SendEventAsync("data: " + Final(x.Request.IdJson()) + "\n\n");
        await x.EndChunkedAsync();
    }

    /// <summary>Answers initialize with the session the tests then use (the gateway knows sessions it saw opened).</summary>
    private static async Task<bool> OpenedSession(UpstreamExchange x)
    {
        if (!x.Request.Body.Contains("\"initialize\"")) return false;
        await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
            + "\"serverInfo\":{\"name\":\"s\",\"version\":\"1\"}}}", "Mcp-Session-Id: sess-1\r\n");
        return true;
    }

    private static async Task<RawClient> InitializedClientAsync(CardGateway g)
    {
        RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(g.Gateway.Post("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
            + "\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}", $"Authorization: Bearer {g.Token}\r\n"));
        RawResponse opened = await client.ReadResponseAsync();
        Assert.Equal("sess-1", opened.Header("Mcp-Session-Id"));
        return client;
    }

    private static List<JsonElement> Parse(List<string> records) => [.. records.Select(r => JsonDocument.Parse(r).RootElement.Clone())];

    private static string? Method(JsonElement r) => r.TryGetProperty("component", out var c) && c.TryGetProperty("method", out var m) ? m.GetString() : null;

    private static void AssertOneServerRequestRecord(List<JsonElement> records)
    {
        List<JsonElement> serverRequests = [.. records.Where(r => r.TryGetProperty("direction", out _) && r.GetProperty("detail").GetString() == "server request")];
        JsonElement record = Assert.Single(serverRequests);
        Assert.Equal("McpExchange", record.GetProperty("type").GetString());
        Assert.Equal("serverToClient", record.GetProperty("direction").GetString());
        Assert.Equal("sampling/createMessage", Method(record));
        Assert.Equal("\"srv-7\"", record.GetProperty("jsonrpcId").GetRawText());
        Assert.Equal("sess-1", record.GetProperty("session").GetString());
        Assert.Equal("alice", record.GetProperty("user").GetProperty("subject").GetString());
        Assert.Equal("default", record.GetProperty("component").GetProperty("upstreamName").GetString());
        Assert.False(record.TryGetProperty("response", out _));
        // The request payload is the event's JSON as the client received it: the card number masked.
        string payload = record.GetProperty("request").GetRawText();
        Assert.Contains("charge card 411111******1111", payload);
        Assert.Contains("\"id\":\"srv-7\"", payload);
        // The progress notification before it has a record of its own too, marked the same way.
        JsonElement progress = Assert.Single(records, r => Method(r) == "notifications/progress");
        Assert.Equal("serverToClient", progress.GetProperty("direction").GetString());
        Assert.Equal("server notification", progress.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_server_request_on_a_post_response_stream_has_its_own_masked_record()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: StreamWithServerRequest);
        using RawClient client = await InitializedClientAsync(g);
        await client.SendAsync(g.Gateway.Post(CardGateway.ToolCall("5", "slow_tool", "{}"), $"Authorization: Bearer {g.Token}\r\nMcp-Session-Id: sess-1\r\n"));
        RawResponse response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Contains("411111******1111", response.Body);
        Assert.DoesNotContain(Pan, response.Body);
        Assert.Contains("\"result\"", response.Body);

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        AssertOneServerRequestRecord(records);
        // The final response is recorded as before: the tools/call's id, its result.
        Assert.Contains(records, r => r.GetProperty("detail").GetString() == "response" && Method(r) == "tools/call"
            && r.GetProperty("jsonrpcId").GetRawText() == "5" && r.GetProperty("response").GetRawText().Contains("done"));

        // `fastmcp replay` shows the record as the upstream's request, with its method and id.
        var text = new StringWriter();
        var errors = new StringWriter();
        int status = await FastMcp.Audit.ReplayCommand.RunAsync([g.AuditDirectory, "--key", Path.Combine(g.AuditDirectory, "audit-signing-key.pub.pem")], text, errors);
        Assert.True(status == 0, errors.ToString());
        string line = Assert.Single(text.ToString().Split('\n'), l => l.Contains("method=sampling/createMessage"));
        Assert.Contains(" server->client ", line);
        Assert.Contains("id=\"srv-7\"", line);
    }

    [Fact]
    public async Task A_server_request_on_a_get_stream_has_its_own_masked_record()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: StreamWithServerRequest);
        using RawClient client = await InitializedClientAsync(g);
        await client.SendAsync($"GET /mcp HTTP/1.1\r\nHost: {g.Gateway.Authority}\r\nAccept: text/event-stream\r\nAuthorization: Bearer {g.Token}\r\nMcp-Session-Id: sess-1\r\n\r\n");
        RawResponse response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Contains("sampling/createMessage", response.Body);
        Assert.DoesNotContain(Pan, response.Body);

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        AssertOneServerRequestRecord(records);
        // The stream answers no request: its end record holds no message (each had its own record).
        JsonElement end = Assert.Single(records, r => Method(r) == "GET stream" && r.GetProperty("detail").GetString() == "response: the stream ended");
        Assert.False(end.TryGetProperty("response", out _));
    }

    [Fact]
    public async Task A_server_request_the_audit_log_cannot_take_is_not_relayed_and_the_stream_ends()
    {
        var progressRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var upstreamClosed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            if (await OpenedSession(x)) return;
            await x.StartEventStreamAsync();
            await x.SendEventAsync("data: " + Progress + "\n\n");
            await progressRead.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await x.SendEventAsync("data: " + Sampling + "\n\n");
            // The gateway must close this connection rather than wait for the rest of the stream.
            upstreamClosed.TrySetResult(await x.GatewayClosesAsync(TimeSpan.FromSeconds(10)));
        });
        using RawClient client = await InitializedClientAsync(g);
        await client.SendAsync(g.Gateway.Post(CardGateway.ToolCall("5", "slow_tool", "{}"), $"Authorization: Bearer {g.Token}\r\nMcp-Session-Id: sess-1\r\n"));
        (_, int status) = await client.ReadHeadAsync();
        Assert.Equal(200, status);
        string? first = await client.ReadChunkAsync();
        Assert.NotNull(first);
        Assert.Contains("notifications/progress", first);

        // The audit log stops taking records (closed) while the stream is open.
        await g.Gateway.Stages.Audit!.Log.DisposeAsync();
        progressRead.SetResult();

        // The stream ends cleanly (its terminating chunk) without the server request.
        string? next = await client.ReadChunkAsync("the end of the stream");
        Assert.Null(next);
        Assert.True(await upstreamClosed.Task.WaitAsync(TimeSpan.FromSeconds(15)));

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        Assert.DoesNotContain(records, r => Method(r) == "sampling/createMessage");
    }
}
