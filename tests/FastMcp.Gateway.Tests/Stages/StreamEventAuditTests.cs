using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// Every message event a client receives on an event stream is in the audit log exactly once: the exchange's answer in
/// its response record, every other message (notifications, server requests, other answers) in a serverToClient record
/// of its own, in the order relayed. An event that is not a readable JSON-RPC message is never relayed: it is recorded
/// as withheld and the stream ends (a POST's client gets one error answer first).
/// </summary>
public sealed class StreamEventAuditTests
{
    private const string Progress = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"p1\",\"progress\":1}}";
    private const string LogLine = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"card 4111111111111111 seen\"}}";
    private const string Updated = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{\"uri\":\"file:///a\"}}";
    private const string Sampling = "{\"jsonrpc\":\"2.0\",\"id\":\"srv-7\",\"method\":\"sampling/createMessage\",\"params\":{\"messages\":[],\"maxTokens\":5}}";

    private static string Final(string idJson) => "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"done\"}]}}";

    private static async Task<bool> OpenedSession(UpstreamExchange x)
    {
        if (!x.Request.Body.Contains("\"initialize\"", StringComparison.Ordinal)) return false;
        await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
            + "\"serverInfo\":{\"name\":\"s\",\"version\":\"1\"}}}", "Mcp-Session-Id: sess-1\r\n");
        return true;
    }

    private static async Task<RawClient> InitializedClientAsync(CardGateway g, string path = "/mcp")
    {
        RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(g.Gateway.Post("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
            + "\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}", $"Authorization: Bearer {g.Token}\r\n", path));
        RawResponse opened = await client.ReadResponseAsync();
        Assert.Equal(200, opened.Status);
        return client;
    }

    private static string ToolCall(CardGateway g, string session = "sess-1") =>
        g.Gateway.Post(CardGateway.ToolCall("5", "slow_tool", "{}"), $"Authorization: Bearer {g.Token}\r\nMcp-Session-Id: {session}\r\n");

    private static string Get(CardGateway g, string path = "/mcp", string session = "sess-1") =>
        $"GET {path} HTTP/1.1\r\nHost: {g.Gateway.Authority}\r\nAccept: text/event-stream\r\nAuthorization: Bearer {g.Token}\r\nMcp-Session-Id: {session}\r\n\r\n";

    private static List<JsonElement> Parse(List<string> records) => [.. records.Select(r => JsonDocument.Parse(r).RootElement.Clone())];

    private static string? Method(JsonElement r) => r.TryGetProperty("component", out var c) && c.TryGetProperty("method", out var m) ? m.GetString() : null;

    private static string Detail(JsonElement r) => r.TryGetProperty("detail", out var d) ? d.GetString() ?? "" : "";

    private static bool ServerToClient(JsonElement r) => r.TryGetProperty("direction", out var d) && d.GetString() == "serverToClient";

    /// <summary>The payloads (request and response, JSON or base64) of every record, as text.</summary>
    private static string Payloads(JsonElement r)
    {
        var text = new StringBuilder();
        foreach (string name in new[] { "request", "response" })
        {
            if (r.TryGetProperty(name, out var p)) text.Append(p.GetRawText());
            if (r.TryGetProperty(name + "NotJsonBase64", out var b)) text.Append(Encoding.UTF8.GetString(Convert.FromBase64String(b.GetString()!)));
        }
        return text.ToString();
    }

    /// <summary>`fastmcp replay` (text, with payloads) over the stopped gateway's log.</summary>
    private static async Task<string[]> ReplayTextAsync(CardGateway g)
    {
        var text = new StringWriter();
        var errors = new StringWriter();
        int status = await FastMcp.Audit.ReplayCommand.RunAsync([g.AuditDirectory, "--key", Path.Combine(g.AuditDirectory, "audit-signing-key.pub.pem"), "--payloads"], text, errors);
        Assert.True(status == 0, errors.ToString());
        return text.ToString().Split('\n');
    }

    [Fact]
    public async Task Notifications_and_the_answer_on_a_post_stream_are_each_recorded_once_in_order()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            if (await OpenedSession(x)) return;
            await x.StartEventStreamAsync();
            await x.SendEventAsync("data: " + Progress + "\n\n");
            await x.SendEventAsync(": a comment, no message\n\n");
            await x.SendEventAsync("event: message\ndata: " + LogLine + "\n\n");
            await x.SendEventAsync("data: " + Final(x.Request.IdJson()) + "\n\n");
            await x.EndChunkedAsync();
        });
        using RawClient client = await InitializedClientAsync(g);
        await client.SendAsync(ToolCall(g));
        RawResponse response = await client.ReadResponseAsync();
        Assert.Contains("notifications/progress", response.Body);
        Assert.Contains("\"done\"", response.Body);

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        List<JsonElement> call = [.. records.Where(r => r.TryGetProperty("jsonrpcId", out var id) && id.GetRawText() == "5" || ServerToClient(r))];
        Assert.Equal(["request", "server notification", "server notification", "response"], call.Select(Detail));
        Assert.Equal(["tools/call", "notifications/progress", "notifications/message", "tools/call"], call.Select(Method));
        Assert.Contains("\"progressToken\":\"p1\"", call[1].GetProperty("request").GetRawText());
        Assert.False(call[1].TryGetProperty("response", out _));
        Assert.False(call[1].TryGetProperty("jsonrpcId", out _));
        // Recorded as the client got it: the card number in the log line masked.
        Assert.Contains("card 411111******1111 seen", call[2].GetProperty("request").GetRawText());
        Assert.Contains("\"done\"", call[3].GetProperty("response").GetRawText());
        // Each message once: the answer only in the response record, the notifications only in their own.
        Assert.Single(records, r => Payloads(r).Contains("\"done\"", StringComparison.Ordinal));
        Assert.Single(records, r => Payloads(r).Contains("notifications/progress", StringComparison.Ordinal));
        Assert.Single(records, r => Payloads(r).Contains("notifications/message", StringComparison.Ordinal));
        Assert.Empty(AuditCards.FindCardNumbers(records.Select(r => r.GetRawText())));

        // `fastmcp replay` shows each notification as a message from the upstream, with its method and what it is.
        string line = Assert.Single(await ReplayTextAsync(g), l => l.Contains("method=notifications/progress", StringComparison.Ordinal));
        Assert.Contains(" server->client ", line);
        Assert.Contains("detail=\"server notification\"", line);
    }

    [Fact]
    public async Task A_stream_that_ends_on_a_server_request_records_it_once()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            if (await OpenedSession(x)) return;
            await x.StartEventStreamAsync();
            await x.SendEventAsync("data: " + Progress + "\n\n");
            await x.SendEventAsync("data: " + Sampling + "\n\n");
            await x.EndChunkedAsync();
        });
        using RawClient client = await InitializedClientAsync(g);
        await client.SendAsync(ToolCall(g));
        RawResponse response = await client.ReadResponseAsync();
        Assert.Contains("sampling/createMessage", response.Body);

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        JsonElement request = Assert.Single(records, r => Payloads(r).Contains("sampling/createMessage", StringComparison.Ordinal));
        Assert.True(ServerToClient(request));
        Assert.Equal("server request", Detail(request));
        // The call got no answer on its stream: its response record says so and holds no message.
        JsonElement end = Assert.Single(records, r => Method(r) == "tools/call" && Detail(r).StartsWith("response", StringComparison.Ordinal));
        Assert.False(end.TryGetProperty("response", out _));
        Assert.Contains("without an answer", Detail(end));
    }

    [Fact]
    public async Task Notifications_on_a_get_stream_are_recorded_and_the_stream_end_holds_no_message_twice()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            if (await OpenedSession(x)) return;
            await x.StartEventStreamAsync();
            await x.SendEventAsync("id: 1\ndata: \n\n"); // a priming event: no message
            await x.SendEventAsync("data: " + Updated + "\n\n");
            await x.SendEventAsync("data: " + LogLine + "\n\n");
            await x.EndChunkedAsync();
        });
        using RawClient client = await InitializedClientAsync(g);
        await client.SendAsync(Get(g));
        RawResponse response = await client.ReadResponseAsync();
        Assert.Contains("resources/updated", response.Body);

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        List<JsonElement> stream = [.. records.Where(r => ServerToClient(r))];
        Assert.Equal(["notifications/resources/updated", "notifications/message"], stream.Select(Method));
        Assert.All(stream, r => Assert.Equal("sess-1", r.GetProperty("session").GetString()));
        JsonElement end = Assert.Single(records, r => Method(r) == "GET stream" && Detail(r).StartsWith("response", StringComparison.Ordinal));
        Assert.False(end.TryGetProperty("response", out _));
        Assert.Single(records, r => Payloads(r).Contains("notifications/message", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Pass_through_relays_every_event_unread()
    {
        // Pass-through (benchmarks only) runs no stage: nothing reads the events, so nothing is withheld either.
        await using var upstream = new ScriptedUpstream(async x =>
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("data: {\"hello\":\"world\"}\n\n");
            await x.SendEventAsync("data: " + Final(x.Request.IdJson()) + "\n\n");
            await x.EndChunkedAsync();
        });
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o => o.Passthrough = true);
        using RawClient client = await gateway.ConnectAsync();
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1")));
        RawResponse response = await client.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Contains("\"hello\"", response.Body, StringComparison.Ordinal);
        Assert.Contains("\"done\"", response.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"data\":\"cut")]
    [InlineData("{\"hello\":\"world\",\"id\":5,\"result\":{\"content\":[]}}")]
    public async Task An_unreadable_event_on_a_post_stream_is_refused_recorded_and_ends_the_stream(string unreadable)
    {
        var upstreamClosed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            if (await OpenedSession(x)) return;
            await x.StartEventStreamAsync();
            await x.SendEventAsync("data: " + Progress + "\n\n");
            await x.SendEventAsync("data: " + unreadable + "\n\n");
            try
            {
                await x.SendEventAsync("data: " + Final(x.Request.IdJson()) + "\n\n");
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
            }
            // The gateway must close this connection rather than read the rest of the stream.
            upstreamClosed.TrySetResult(await x.GatewayClosesAsync(TimeSpan.FromSeconds(10)));
        });
        using RawClient client = await InitializedClientAsync(g);
        await client.SendAsync(ToolCall(g));
        RawResponse response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Contains("notifications/progress", response.Body);
        Assert.DoesNotContain("hello", response.Body);
        Assert.DoesNotContain("\"cut", response.Body);
        // One answer, the refusal, with the call's id; the upstream's later answer never reaches the client.
        Assert.DoesNotContain("\"done\"", response.Body);
        string[] data = [.. response.Body.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal))];
        Assert.Equal(2, data.Length);
        Assert.Contains("\"id\":5", data[1]);
        Assert.Contains("not a readable JSON-RPC message", data[1]);
        Assert.True(await upstreamClosed.Task.WaitAsync(TimeSpan.FromSeconds(15)));

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        JsonElement withheld = Assert.Single(records, r => Detail(r).StartsWith("withheld", StringComparison.Ordinal));
        Assert.True(ServerToClient(withheld));
        Assert.Equal("Denied", withheld.GetProperty("type").GetString());
        Assert.False(withheld.GetProperty("success").GetBoolean());
        Assert.Contains(unreadable[..20], Payloads(withheld));
        // The call's response record holds what the client got: the refusal.
        JsonElement end = Assert.Single(records, r => Method(r) == "tools/call" && Detail(r) == "response");
        Assert.Contains("\"error\"", end.GetProperty("response").GetRawText());
        Assert.DoesNotContain(records, r => Payloads(r).Contains("\"done\"", StringComparison.Ordinal));

        // `fastmcp replay --payloads` shows the withheld event, base64 when it is not JSON.
        string[] replay = await ReplayTextAsync(g);
        int at = Array.FindIndex(replay, l => l.Contains("detail=\"withheld", StringComparison.Ordinal));
        Assert.True(at >= 0);
        Assert.Contains(" Denied FAILED server->client ", replay[at]);
        Assert.StartsWith("    request:  ", replay[at + 1]);
    }

    [Fact]
    public async Task The_refusal_of_a_call_whose_id_is_a_card_number_is_recorded_with_the_id_masked()
    {
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            if (await OpenedSession(x)) return;
            await x.StartEventStreamAsync();
            await x.SendEventAsync("data: {\"broken\n\n");
            await x.GatewayClosesAsync(TimeSpan.FromSeconds(10));
        });
        using RawClient client = await InitializedClientAsync(g);
        await client.SendAsync(g.Gateway.Post(CardGateway.ToolCall("4111111111111111", "echo", "{}"), $"Authorization: Bearer {g.Token}\r\nMcp-Session-Id: sess-1\r\n"));
        RawResponse response = await client.ReadResponseAsync();

        // The client gets its own id back, as it sent it: it must match the answer to its call.
        Assert.Contains("\"id\":4111111111111111", response.Body, StringComparison.Ordinal);
        Assert.Contains("not a readable JSON-RPC message", response.Body, StringComparison.Ordinal);
        Assert.Empty(AuditCards.FindCardNumbers(await g.StopAndReadAuditAsync()));
    }

    [Fact]
    public async Task An_unreadable_event_on_a_get_stream_is_withheld_and_ends_the_stream()
    {
        var upstreamClosed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            if (await OpenedSession(x)) return;
            await x.StartEventStreamAsync();
            await x.SendEventAsync("data: " + Updated + "\n\n");
            await x.SendEventAsync("data: {\"jsonrpc\":\"1.0\",\"method\":\"notifications/message\",\"params\":{}}\n\n");
            try
            {
                await x.SendEventAsync("data: " + LogLine + "\n\n");
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
            }
            upstreamClosed.TrySetResult(await x.GatewayClosesAsync(TimeSpan.FromSeconds(10)));
        });
        using RawClient client = await InitializedClientAsync(g);
        await client.SendAsync(Get(g));
        RawResponse response = await client.ReadResponseAsync();
        Assert.Contains("resources/updated", response.Body);
        Assert.DoesNotContain("\"1.0\"", response.Body);
        Assert.DoesNotContain("notifications/message", response.Body);
        // A GET stream answers no request: nothing stands in for the withheld event.
        Assert.DoesNotContain("\"error\"", response.Body);
        Assert.True(await upstreamClosed.Task.WaitAsync(TimeSpan.FromSeconds(15)));

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        JsonElement withheld = Assert.Single(records, r => Detail(r).StartsWith("withheld", StringComparison.Ordinal));
        Assert.Contains("\"1.0\"", Payloads(withheld));
        Assert.DoesNotContain(records, r => Payloads(r).Contains("card 411111", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_list_answer_a_stage_refuses_mid_stream_ends_the_stream_like_an_unreadable_event()
    {
        var upstreamClosed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            if (await OpenedSession(x)) return;
            await x.StartEventStreamAsync();
            // A tools/list answer whose list cannot be read cannot be filtered for the caller: refused.
            await x.SendEventAsync("data: {\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"tools\":\"not a list\"}}\n\n");
            try
            {
                await x.SendEventAsync("data: " + Final(x.Request.IdJson()) + "\n\n");
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
            }
            upstreamClosed.TrySetResult(await x.GatewayClosesAsync(TimeSpan.FromSeconds(10)));
        });
        using RawClient client = await InitializedClientAsync(g);
        await client.SendAsync(g.Gateway.Post("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/list\"}", $"Authorization: Bearer {g.Token}\r\nMcp-Session-Id: sess-1\r\n"));
        RawResponse response = await client.ReadResponseAsync();
        string[] data = [.. response.Body.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal))];
        string refusal = Assert.Single(data);
        Assert.Contains("\"id\":9", refusal);
        Assert.Contains("list result could not be filtered by policy", refusal);
        Assert.True(await upstreamClosed.Task.WaitAsync(TimeSpan.FromSeconds(15)));

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        Assert.Single(records, r => Detail(r).StartsWith("withheld: a response stage could not make it safe", StringComparison.Ordinal));
        Assert.DoesNotContain(records, r => Payloads(r).Contains("\"done\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_withheld_event_with_a_blob_too_deep_to_mask_is_recorded_without_its_data()
    {
        // base64("4111111111111111") below 1,100 nested arrays: deeper than the payload walk reads, so its copy cannot be masked.
        const string CardBase64 = "NDExMTExMTExMTExMTExMQ==";
        string deep = new string('[', 1100) + "{\"blob\":\"" + CardBase64 + "\"}" + new string(']', 1100);
        var upstreamClosed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            if (await OpenedSession(x)) return;
            await x.StartEventStreamAsync();
            await x.SendEventAsync("data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":" + deep + "}}\n\n");
            try
            {
                await x.SendEventAsync("data: " + Final(x.Request.IdJson()) + "\n\n");
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
            }
            upstreamClosed.TrySetResult(await x.GatewayClosesAsync(TimeSpan.FromSeconds(10)));
        });
        using RawClient client = await InitializedClientAsync(g);
        await client.SendAsync(g.Gateway.Post("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"arguments\":{}}}",
            $"Authorization: Bearer {g.Token}\r\nMcp-Session-Id: sess-1\r\n"));
        RawResponse response = await client.ReadResponseAsync();
        Assert.DoesNotContain(CardBase64[..20], response.Body, StringComparison.Ordinal);
        Assert.True(await upstreamClosed.Task.WaitAsync(TimeSpan.FromSeconds(15)));

        List<string> records = await g.StopAndReadAuditAsync();
        Assert.Contains(records, r => r.Contains("\"detail\":\"withheld", StringComparison.Ordinal)
            && r.Contains("; payload not recorded: it holds a card number or sensitive authentication data that could not be masked", StringComparison.Ordinal));
        Assert.DoesNotContain(records, r => r.Contains(CardBase64[..20], StringComparison.Ordinal));
        Assert.DoesNotContain(CardBase64[..20], AuditCards.ReadableText(records), StringComparison.Ordinal);
    }

    /// <summary>
    /// Reads the stream's head and first event (holding <paramref name="firstHolds"/>), closes the audit log, lets the
    /// upstream send its next event, and checks that it is not relayed: the client's stream ends (its terminating
    /// chunk) and the gateway closes the upstream's connection.
    /// </summary>
    private static async Task CloseTheLogAfterTheFirstEventAsync(CardGateway g, RawClient client, TaskCompletionSource firstRead, string firstHolds,
        Task<bool> upstreamClosed)
    {
        (_, int status) = await client.ReadHeadAsync();
        Assert.Equal(200, status);
        string? first = await client.ReadChunkAsync();
        Assert.NotNull(first);
        Assert.Contains(firstHolds, first);

        await g.Gateway.Stages.Audit!.Log.DisposeAsync();
        firstRead.SetResult();

        Assert.Null(await client.ReadChunkAsync("the end of the stream"));
        Assert.True(await upstreamClosed.WaitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task A_notification_the_audit_log_cannot_take_is_not_relayed_and_the_stream_ends()
    {
        var firstRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var upstreamClosed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using CardGateway g = await CardGateway.StartAsync(upstreamScript: async x =>
        {
            if (await OpenedSession(x)) return;
            await x.StartEventStreamAsync();
            await x.SendEventAsync("data: " + Progress + "\n\n");
            await firstRead.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await x.SendEventAsync("data: " + LogLine + "\n\n");
            upstreamClosed.TrySetResult(await x.GatewayClosesAsync(TimeSpan.FromSeconds(10)));
        });
        using RawClient client = await InitializedClientAsync(g);
        await client.SendAsync(Get(g));
        await CloseTheLogAfterTheFirstEventAsync(g, client, firstRead, "notifications/progress", upstreamClosed.Task);
        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        Assert.DoesNotContain(records, r => Method(r) == "notifications/message");
    }

    /// <summary>A federated member: initialize opens its session; its GET stream sends a notification, a server request and a log line.</summary>
    private static Func<UpstreamExchange, Task> StreamingMember(string? unreadable = null) => async x =>
    {
        if (x.Request.Method == "GET")
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync("data: " + Updated + "\n\n");
            if (unreadable is not null) await x.SendEventAsync("data: " + unreadable + "\n\n");
            await x.SendEventAsync("data: " + Sampling + "\n\n");
            await x.SendEventAsync("data: " + LogLine + "\n\n");
            await x.EndChunkedAsync();
            return;
        }
        if (x.Request.Method == "DELETE" || !x.Request.Body.Contains("\"id\"", StringComparison.Ordinal))
        {
            await x.RespondAsync(x.Request.Method == "DELETE" ? 200 : 202, "", "");
            return;
        }
        await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
            + "\"serverInfo\":{\"name\":\"m\",\"version\":\"1\"}}}", "Mcp-Session-Id: s-m\r\n");
    };

    /// <summary><see cref="StreamingMember"/> for POSTs; its GET stream sends resources/updated, then goes on as <paramref name="rest"/> says.</summary>
    private static Func<UpstreamExchange, Task> MemberWhoseStreamGoesOn(Func<UpstreamExchange, Task> rest) => async x =>
    {
        if (x.Request.Method != "GET")
        {
            await StreamingMember()(x);
            return;
        }
        await x.StartEventStreamAsync();
        await x.SendEventAsync("data: " + Updated + "\n\n");
        await rest(x);
    };

    private static Action<GatewayOptions> FederatedOver(string memberUrl) => o =>
    {
        o.Upstreams["m"] = new UpstreamOptions { Url = memberUrl, ConnectTimeoutMs = 1_000 };
        o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["m"] }];
    };

    /// <summary>Initializes a session on /mcp/all, then opens its merged GET stream on a new connection (the request sent, nothing read).</summary>
    private static async Task<RawClient> OpenMergedStreamAsync(CardGateway g)
    {
        string session;
        using (RawClient opener = await g.Gateway.ConnectAsync())
        {
            await opener.SendAsync(g.Gateway.Post("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                + "\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}", $"Authorization: Bearer {g.Token}\r\n", "/mcp/all"));
            session = (await opener.ReadResponseAsync()).Header("Mcp-Session-Id")!;
        }
        RawClient client = await g.Gateway.ConnectAsync();
        await client.SendAsync(Get(g, "/mcp/all", session));
        return client;
    }

    [Fact]
    public async Task Every_event_of_a_federated_merged_get_stream_is_recorded_once()
    {
        await using var member = new ScriptedUpstream(StreamingMember());
        await using CardGateway g = await CardGateway.StartAsync(configure: FederatedOver(member.Url));
        using RawClient client = await OpenMergedStreamAsync(g);
        RawResponse response = await client.ReadResponseAsync();
        Assert.Equal(200, response.Status);
        Assert.Contains("notifications/message", response.Body);

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        List<JsonElement> stream = [.. records.Where(r => ServerToClient(r))];
        Assert.Equal(["notifications/resources/updated", "sampling/createMessage", "notifications/message"], stream.Select(Method));
        Assert.Equal(["server notification", "server request", "server notification"], stream.Select(Detail));
        Assert.All(stream, r => Assert.Equal("m", r.GetProperty("component").GetProperty("upstreamName").GetString()));
        // The request as the client got it: under the id the gateway gave it.
        Assert.DoesNotContain("srv-7", stream[1].GetProperty("request").GetRawText());
        Assert.Contains("card 411111******1111 seen", stream[2].GetProperty("request").GetRawText());
        Assert.Single(records, r => Payloads(r).Contains("notifications/message", StringComparison.Ordinal));
        JsonElement end = Assert.Single(records, r => Method(r) == "GET stream" && Detail(r).StartsWith("response", StringComparison.Ordinal));
        Assert.False(end.TryGetProperty("response", out _));
    }

    [Fact]
    public async Task A_federated_event_the_audit_log_cannot_take_is_not_relayed_and_the_merged_stream_ends()
    {
        var firstRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var memberClosed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var member = new ScriptedUpstream(MemberWhoseStreamGoesOn(async x =>
        {
            await firstRead.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await x.SendEventAsync("data: " + LogLine + "\n\n");
            memberClosed.TrySetResult(await x.GatewayClosesAsync(TimeSpan.FromSeconds(10)));
        }));
        await using CardGateway g = await CardGateway.StartAsync(configure: FederatedOver(member.Url));
        using RawClient client = await OpenMergedStreamAsync(g);
        await CloseTheLogAfterTheFirstEventAsync(g, client, firstRead, "resources/updated", memberClosed.Task);
    }

    [Fact]
    public async Task An_unreadable_event_of_a_federated_member_is_withheld_recorded_and_ends_its_stream()
    {
        await using var member = new ScriptedUpstream(StreamingMember(unreadable: "{\"jsonrpc\":\"2.0\",\"broken\""));
        await using CardGateway g = await CardGateway.StartAsync(configure: FederatedOver(member.Url));
        using RawClient client = await OpenMergedStreamAsync(g);
        RawResponse response = await client.ReadResponseAsync();
        Assert.Contains("resources/updated", response.Body);
        Assert.DoesNotContain("broken", response.Body);
        // The member's stream ended at the event: nothing after it was relayed.
        Assert.DoesNotContain("sampling/createMessage", response.Body);

        List<JsonElement> records = Parse(await g.StopAndReadAuditAsync());
        JsonElement withheld = Assert.Single(records, r => Detail(r).StartsWith("withheld: not a readable JSON-RPC message", StringComparison.Ordinal));
        Assert.Contains("broken", Payloads(withheld));
        Assert.Equal(["notifications/resources/updated"], records.Where(r => ServerToClient(r) && !Detail(r).StartsWith("withheld", StringComparison.Ordinal)).Select(Method));
    }

    [Fact]
    public async Task A_federated_members_event_that_never_ends_within_the_bound_is_recorded_without_its_data_and_ends_its_stream()
    {
        string unended = "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"4111111111111111 "
            + new string('x', 80 * 1024);
        await using var member = new ScriptedUpstream(MemberWhoseStreamGoesOn(async x =>
        {
            for (int at = 0; at < unended.Length; at += 8 * 1024) await x.SendChunkAsync(unended.Substring(at, Math.Min(8 * 1024, unended.Length - at)));
            await x.HangAsync();
        }));
        await using CardGateway g = await CardGateway.StartAsync(configure: o =>
        {
            FederatedOver(member.Url)(o);
            o.Limits.MaxResponseMessageBytes = 64 * 1024;
        });
        using RawClient client = await OpenMergedStreamAsync(g);
        RawResponse response = await client.ReadResponseAsync();
        Assert.Contains("resources/updated", response.Body);
        Assert.DoesNotContain("xxxx", response.Body);

        List<string> lines = await g.StopAndReadAuditAsync();
        Assert.Empty(AuditCards.FindCardNumbers(lines));
        JsonElement withheld = Assert.Single(Parse(lines), r => Detail(r).StartsWith("withheld: not ended within limits.maxResponseMessageBytes", StringComparison.Ordinal));
        Assert.Equal("m", withheld.GetProperty("component").GetProperty("upstreamName").GetString());
        Assert.Equal("", Payloads(withheld));
    }
}
