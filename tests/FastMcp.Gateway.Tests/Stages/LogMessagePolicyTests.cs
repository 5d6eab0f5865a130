using System.Text.Json;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// notifications/message (server log records) is decided before the client sees it, as a logging/setLevel by the caller
/// whose stream carries it, under the rules in force: servers send log messages whether or not a level was set, so a
/// deny of logging/setLevel ("contractors may not see server logs") must withhold them. Denied: withheld, recorded with
/// the masked message, and the stream goes on.
/// </summary>
public sealed class LogMessagePolicyTests
{
    private const string SessionId = "sess-1";
    private const string ProtocolVersion = "2025-06-18";
    private const string SessionHeaders = $"Mcp-Session-Id: {SessionId}\r\nMCP-Protocol-Version: {ProtocolVersion}\r\n";
    private const string Card = "4111111111111111";

    private static string Log(string text) =>
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"error\",\"logger\":\"db\",\"data\":\"" + text + "\"}}";

    private static string Progress(string text) =>
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":1,\"message\":\"" + text + "\"}}";

    private static string Final(string idJson) => "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"done\"}]}}";

    /// <summary>The calls the tests make are allowed; logging/setLevel is not (the default denies it).</summary>
    private static List<RuleOptions> NoLogs => [new RuleOptions { Name = "calls", Action = "allow", Methods = ["initialize", "tools/call"] }];

    private static List<RuleOptions> WithLogs => [new RuleOptions { Name = "logs", Action = "allow", Methods = ["logging/setLevel"] }, .. NoLogs];

    /// <summary>
    /// An upstream that answers initialize with a session and every other request (and the GET stream) with an event stream
    /// carrying <paramref name="events"/>; after the first it waits for <see cref="Resume"/> when asked to.
    /// </summary>
    private sealed class LoggingUpstream(bool pauseAfterFirst, params string[] events)
    {
        public TaskCompletionSource Resume { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task Script(UpstreamExchange x)
        {
            if (x.Request.Body.Contains("\"initialize\"", StringComparison.Ordinal))
            {
                await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"protocolVersion\":\"" + ProtocolVersion
                    + "\",\"capabilities\":{\"logging\":{}},\"serverInfo\":{\"name\":\"s\",\"version\":\"1\"}}}", $"Mcp-Session-Id: {SessionId}\r\n");
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
    }

    private static async Task InitializeAsync(PolicyGateway g, string token)
    {
        RawResponse opened = await g.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"" + ProtocolVersion
            + "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}", token);
        Assert.Equal(SessionId, opened.Header("Mcp-Session-Id"));
    }

    private const string ToolCall = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"watch\",\"arguments\":{}}}";

    private static async Task<RawClient> OpenGetStreamAsync(PolicyGateway g, string token)
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

    private static async Task<string> ReadStreamAsync(RawClient client)
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

    private static List<JsonElement> Parse(string[] records) => [.. records.Select(r => JsonDocument.Parse(r).RootElement.Clone())];

    private static string? Method(JsonElement r) => r.TryGetProperty("component", out var c) && c.TryGetProperty("method", out var m) ? m.GetString() : null;

    private static string? Field(JsonElement r, string name) => r.TryGetProperty(name, out var v) ? v.GetString() : null;

    /// <summary>The Denied records of log messages: each server-to-client, for alice, naming the rule, holding the message masked.</summary>
    private static List<JsonElement> AssertDenialsRecorded(List<JsonElement> records, string rule, int count)
    {
        List<JsonElement> denials = [.. records.Where(r => Field(r, "type") == "Denied" && Method(r) == "notifications/message")];
        Assert.Equal(count, denials.Count);
        foreach (JsonElement denial in denials)
        {
            Assert.Equal("serverToClient", Field(denial, "direction"));
            Assert.Equal("Deny", Field(denial, "decision"));
            Assert.Equal(rule, Field(denial, "rule"));
            Assert.Equal("alice", denial.GetProperty("user").GetProperty("subject").GetString());
            Assert.Contains("withheld from the client", Field(denial, "detail"));
            string request = denial.GetProperty("request").GetRawText();
            Assert.Contains("select * from cards", request);
            Assert.Contains("411111******1111", request);
            Assert.DoesNotContain(Card, request);
        }
        return denials;
    }

    [Fact]
    public async Task On_a_post_stream_log_messages_are_withheld_from_a_caller_denied_set_level_and_the_stream_goes_on()
    {
        var upstream = new LoggingUpstream(false, Log("select * from cards where pan=" + Card), Progress("half way"), Log("select * from cards again " + Card));
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, NoLogs);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        RawResponse response = await g.PostAsync(ToolCall, token, SessionHeaders);

        Assert.Equal(200, response.Status);
        Assert.DoesNotContain("notifications/message", response.Body);
        Assert.DoesNotContain("select", response.Body);
        Assert.Contains("half way", response.Body);
        Assert.Contains("\"done\"", response.Body);
        AssertDenialsRecorded(Parse(await g.StopAndReadAuditAsync()), "(default)", 2);
    }

    [Fact]
    public async Task On_the_get_stream_log_messages_are_decided_for_the_sessions_caller()
    {
        var upstream = new LoggingUpstream(false, Log("select * from cards where pan=" + Card), Progress("after the log"));
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, NoLogs);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        using RawClient client = await OpenGetStreamAsync(g, token);
        string stream = await ReadStreamAsync(client);

        Assert.DoesNotContain("select", stream);
        Assert.Contains("after the log", stream);
        AssertDenialsRecorded(Parse(await g.StopAndReadAuditAsync()), "(default)", 1);
    }

    [Fact]
    public async Task A_caller_allowed_set_level_gets_the_log_messages()
    {
        var upstream = new LoggingUpstream(false, Log("select * from cards where pan=" + Card), Progress("half way"));
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, WithLogs);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        RawResponse response = await g.PostAsync(ToolCall, token, SessionHeaders);

        Assert.Equal(200, response.Status);
        Assert.Contains("notifications/message", response.Body);
        Assert.Contains("select * from cards where pan=411111******1111", response.Body);
        Assert.Contains("\"done\"", response.Body);
        AssertDenialsRecorded(Parse(await g.StopAndReadAuditAsync()), "(default)", 0);
    }

    [Fact]
    public async Task A_reload_that_denies_set_level_withholds_the_next_log_message_on_an_open_stream()
    {
        var upstream = new LoggingUpstream(true, Log("first select * from cards"), Log("select * from cards " + Card), Progress("still open"));
        await using PolicyGateway g = await PolicyGateway.StartAsync(upstream.Script, WithLogs);
        string token = g.Token("alice");
        await InitializeAsync(g, token);

        using RawClient client = await OpenGetStreamAsync(g, token);
        string? first = await client.ReadChunkAsync("the first log message");
        Assert.NotNull(first);
        Assert.Contains("first select", first);

        // What a reload does to the policy in force: the new engine, swapped in whole.
        g.Gateway.Stages.Authorization!.Swap(GatewayStages.CompilePolicy(new PolicyOptions
        {
            Rules = [new RuleOptions { Name = "no-contractor-logs", Action = "deny", Methods = ["logging/setLevel"] }, .. WithLogs],
        }));
        upstream.Resume.SetResult();
        string rest = await ReadStreamAsync(client);

        Assert.DoesNotContain("select", rest);
        Assert.Contains("still open", rest);
        AssertDenialsRecorded(Parse(await g.StopAndReadAuditAsync()), "no-contractor-logs", 1);
    }

    [Fact]
    public async Task A_json_body_holding_a_log_message_for_a_denied_caller_is_refused()
    {
        await using PolicyGateway g = await PolicyGateway.StartAsync(x => x.RespondJsonAsync(Log("select * from cards where pan=" + Card)), NoLogs);

        RawResponse response = await g.PostAsync(ToolCall, g.Token("alice"));

        Assert.DoesNotContain("select", response.Body);
        using (JsonDocument body = JsonDocument.Parse(response.Body))
        {
            Assert.Equal(5, body.RootElement.GetProperty("id").GetInt32());
            Assert.Equal(-32001, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        }
        AssertDenialsRecorded(Parse(await g.StopAndReadAuditAsync()), "(default)", 1);
    }
}
