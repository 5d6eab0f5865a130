using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// One federated path in front of two scripted MCP servers (docs/configuration.md, "Routes and federation"): the
/// gateway holds the session, merges lists with prefixed names, routes calls by prefix to each member's own session
/// with the name un-prefixed, degrades when a member is down, and policy, list filtering and audit see the member.
/// </summary>
public sealed class FederationTests
{
    /// <summary>A minimal MCP server named <paramref name="name"/> with tools "echo" and "secret", answering in JSON (or events).</summary>
    private static Func<UpstreamExchange, Task> McpServer(string name, bool eventStream = false) => async x =>
    {
        if (x.Request.Method == "DELETE")
        {
            await x.RespondAsync(200, "", "");
            return;
        }
        if (x.Request.Method == "GET")
        {
            await x.RespondAsync(405, "", "");
            return;
        }
        using JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes);
        string method = doc.RootElement.GetProperty("method").GetString()!;
        if (!doc.RootElement.TryGetProperty("id", out JsonElement id))
        {
            await x.RespondAsync(202, "", "");
            return;
        }
        string result = method switch
        {
            "initialize" => """{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"NAME","version":"1"}}""".Replace("NAME", name),
            "tools/list" => """{"tools":[{"name":"echo","description":"echo of NAME","inputSchema":{"type":"object"}},{"name":"secret","inputSchema":{"type":"object"}}]}""".Replace("NAME", name),
            "tools/call" => JsonSerializer.Serialize(new
            {
                content = new[] { new { type = "text", text = $"{name} ran {doc.RootElement.GetProperty("params").GetProperty("name").GetString()} in session {x.Request.Header("Mcp-Session-Id")}" } },
            }),
            _ => "{}",
        };
        string json = "{\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":" + result + "}";
        string session = $"Mcp-Session-Id: s-{name}\r\n";
        if (eventStream)
        {
            await x.StartEventStreamAsync(session);
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"x\"}}\n\n");
            await x.SendEventAsync("event: message\ndata: " + json + "\n\n");
            await x.EndChunkedAsync();
        }
        else
        {
            await x.RespondJsonAsync(json, session);
        }
    };

    private static Action<GatewayOptions> Federated(string a, string b, Action<GatewayOptions>? more = null) => o =>
    {
        o.Upstreams["a"] = new UpstreamOptions { Url = a, ConnectTimeoutMs = 1_000 };
        o.Upstreams["b"] = new UpstreamOptions { Url = b, ConnectTimeoutMs = 1_000 };
        o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
        more?.Invoke(o);
    };

    private static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow" }];

    private static string Message(int id, string method, string paramsJson = "{}") =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"" + method + "\",\"params\":" + paramsJson + "}";

    private static string Initialize(int id) =>
        Message(id, "initialize", """{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}""");

    private static async Task<RawResponse> SendAsync(PolicyGateway gw, string request)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(request);
        return await client.ReadResponseAsync();
    }

    private static Task<RawResponse> PostAsync(PolicyGateway gw, string token, string json, string? session = null) =>
        SendAsync(gw, gw.Gateway.Post(json, $"Authorization: Bearer {token}\r\n" + (session is null ? "" : $"Mcp-Session-Id: {session}\r\n"), "/mcp/all"));

    private static string[] ToolNames(RawResponse r)
    {
        using JsonDocument doc = JsonDocument.Parse(r.BodyBytes);
        return [.. doc.RootElement.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()!)];
    }

    /// <summary>The text of a tools/call result, from a JSON body or from the response event of an event stream.</summary>
    private static string Text(RawResponse r)
    {
        string json = r.Body;
        if (r.Header("Content-Type")?.StartsWith("text/event-stream", StringComparison.Ordinal) == true)
            json = r.Body.Split('\n').Single(l => l.StartsWith("data: ", StringComparison.Ordinal) && l.Contains("\"result\"", StringComparison.Ordinal))["data: ".Length..];
        using JsonDocument doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString()!;
    }

    [Fact]
    public async Task Log_level_goes_to_every_member_and_one_member_takes_names_without_its_prefix()
    {
        await using var a = new ScriptedUpstream(McpServer("a"));
        await using var b = new ScriptedUpstream(McpServer("b"));
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, Federated(a.Url, b.Url));
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize(1))).Header("Mcp-Session-Id")!;

        RawResponse level = await PostAsync(gw, token, Message(2, "logging/setLevel", """{"level":"debug"}"""), session);
        Assert.Equal(200, level.Status);
        Assert.Contains("\"result\":{}", level.Body, StringComparison.Ordinal);
        Assert.Contains(a.Requests, r => r.Body.Contains("logging/setLevel", StringComparison.Ordinal) && r.Header("Mcp-Session-Id") == "s-a");
        Assert.Contains(b.Requests, r => r.Body.Contains("logging/setLevel", StringComparison.Ordinal) && r.Header("Mcp-Session-Id") == "s-b");

        // Two members: a name without a prefix is no one's.
        Assert.Equal((JsonRpcErrorCodes.InvalidParams, "3"),
            (await PostAsync(gw, token, Message(3, "tools/call", """{"name":"echo","arguments":{}}"""), session)).JsonRpcError());

        // One member: the name (and an unlisted resource) can only be meant for it, and goes as sent.
        await using var single = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o =>
        {
            o.Upstreams["a"] = new UpstreamOptions { Url = a.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a"] }];
        });
        string alone = (await PostAsync(single, token = single.Token("alice"), Initialize(1))).Header("Mcp-Session-Id")!;
        Assert.Equal("a ran echo in session s-a", Text(await PostAsync(single, token, Message(4, "tools/call", """{"name":"echo","arguments":{}}"""), alone)));
        Assert.Equal("a ran echo in session s-a", Text(await PostAsync(single, token, Message(5, "tools/call", """{"name":"a__echo","arguments":{}}"""), alone)));
        Assert.Equal(200, (await PostAsync(single, token, Message(6, "resources/subscribe", """{"uri":"test://never-listed"}"""), alone)).Status);
        Assert.Contains(a.Requests, r => r.Body.Contains("test://never-listed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_members_bytes_after_its_answer_are_never_read_as_the_answer_to_the_next_message()
    {
        // Member a writes a second, unasked-for answer right behind its initialize answer, in the same send.
        const string injected = """{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"injected","inputSchema":{"type":"object"}}]}}""";
        Func<UpstreamExchange, Task> honest = McpServer("a");
        await using var a = new ScriptedUpstream(async x =>
        {
            if (!x.Request.Body.Contains("\"initialize\"", StringComparison.Ordinal))
            {
                await honest(x);
                return;
            }
            string json = """{"jsonrpc":"2.0","id":ID,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"a","version":"1"}}}"""
                .Replace("ID", x.Request.IdJson(), StringComparison.Ordinal);
            await x.SendAsync($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: s-a\r\nContent-Length: {json.Length}\r\n\r\n{json}" +
                $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {injected.Length}\r\n\r\n{injected}");
        });
        await using var b = new ScriptedUpstream(McpServer("b"));
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, Federated(a.Url, b.Url));
        string token = gw.Token("alice");

        string session = (await PostAsync(gw, token, Initialize(1))).Header("Mcp-Session-Id")!;
        Assert.Equal(202, (await PostAsync(gw, token, """{"jsonrpc":"2.0","method":"notifications/initialized"}""", session)).Status);
        RawResponse list = await PostAsync(gw, token, Message(2, "tools/list"), session);

        Assert.Equal(["a__echo", "a__secret", "b__echo", "b__secret"], ToolNames(list));
        Assert.Single(a.Requests, r => r.ConnectionNumber == 1);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task One_path_merges_both_servers_and_routes_each_call_by_prefix_to_its_own_session(bool eventStreams)
    {
        await using var a = new ScriptedUpstream(McpServer("a", eventStreams));
        await using var b = new ScriptedUpstream(McpServer("b", eventStreams));
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, Federated(a.Url, b.Url));
        string token = gw.Token("alice");

        RawResponse init = await PostAsync(gw, token, Initialize(1));
        Assert.Equal(200, init.Status);
        string session = init.Header("Mcp-Session-Id")!;
        Assert.Matches("^[0-9a-f]{32}$", session);
        Assert.Equal("2025-06-18", init.ResultString("protocolVersion"));
        Assert.Equal(202, (await PostAsync(gw, token, """{"jsonrpc":"2.0","method":"notifications/initialized"}""", session)).Status);

        RawResponse list = await PostAsync(gw, token, Message(2, "tools/list"), session);
        Assert.Equal(["a__echo", "a__secret", "b__echo", "b__secret"], ToolNames(list));
        Assert.Contains("echo of b", list.Body);

        RawResponse viaA = await PostAsync(gw, token, Message(3, "tools/call", """{"name":"a__echo","arguments":{}}"""), session);
        RawResponse viaB = await PostAsync(gw, token, Message(4, "tools/call", """{"name":"b__echo","arguments":{}}"""), session);
        Assert.Equal("a ran echo in session s-a", Text(viaA));
        Assert.Equal("b ran echo in session s-b", Text(viaB));
        // The member's session id never reaches the client (it would switch to it).
        Assert.Null(viaA.Header("Mcp-Session-Id"));

        RawResponse unknown = await PostAsync(gw, token, Message(5, "tools/call", """{"name":"c__echo","arguments":{}}"""), session);
        Assert.Equal((JsonRpcErrorCodes.InvalidParams, "5"), unknown.JsonRpcError());

        RawResponse ended = await SendAsync(gw, $"DELETE /mcp/all HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {token}\r\nMcp-Session-Id: {session}\r\n\r\n");
        Assert.Equal(200, ended.Status);
        Assert.Equal(404, (await PostAsync(gw, token, Message(6, "tools/list"), session)).Status);

        foreach ((ScriptedUpstream upstream, string name) in new[] { (a, "a"), (b, "b") })
        {
            UpstreamRequest[] seen = [.. upstream.Requests];
            Assert.Equal(["POST", "POST", "POST", "POST", "DELETE"], seen.Select(r => r.Method));
            Assert.Contains("\"initialize\"", seen[0].Body);
            Assert.Contains("notifications/initialized", seen[1].Body);
            // After initialize every message carries the member's own session; the call names the tool un-prefixed.
            Assert.All(seen.Skip(1), r => Assert.Equal($"s-{name}", r.Header("Mcp-Session-Id")));
            Assert.Contains("\"name\":\"echo\"", seen[3].Body);
            Assert.Null(seen[3].Header("Mcp-Name"));
            Assert.All(seen, r => Assert.DoesNotContain(token, r.Head.Raw, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_member_that_is_down_is_left_out_and_calls_to_it_get_a_clear_error()
    {
        int downPort = UnusedPort.Pick();
        await using var a = new ScriptedUpstream(McpServer("a"));
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, Federated(a.Url, $"http://127.0.0.1:{downPort}/mcp"));
        string token = gw.Token("alice");

        RawResponse init = await PostAsync(gw, token, Initialize(1));
        Assert.Equal(200, init.Status);
        string session = init.Header("Mcp-Session-Id")!;
        Assert.Equal(["a__echo", "a__secret"], ToolNames(await PostAsync(gw, token, Message(2, "tools/list"), session)));
        Assert.Equal("a ran secret in session s-a", Text(await PostAsync(gw, token, Message(3, "tools/call", """{"name":"a__secret"}"""), session)));

        RawResponse toB = await PostAsync(gw, token, Message(4, "tools/call", """{"name":"b__echo"}"""), session);
        Assert.Equal((JsonRpcErrorCodes.UpstreamUnavailable, "4"), toB.JsonRpcError());
        Assert.Contains("upstream 'b' is not available", toB.Body);
        Assert.Contains("\"name\":\"b\"", await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/readyz"));
    }

    [Fact]
    public async Task A_member_list_with_a_case_variant_entry_name_is_left_out_not_merged()
    {
        // To a Go client {"name":"echo","NAME":"secret"} is the tool "secret", which the policy hides on b.
        Func<UpstreamExchange, Task> server = McpServer("b");
        await using var a = new ScriptedUpstream(McpServer("a"));
        await using var b = new ScriptedUpstream(x => x.Request.Method == "POST" && x.Request.Body.Contains("\"tools/list\"", StringComparison.Ordinal)
            ? x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"tools\":[{\"name\":\"echo\",\"NAME\":\"secret\",\"inputSchema\":{\"type\":\"object\"}}]}}",
                "Mcp-Session-Id: s-b\r\n")
            : server(x));
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "no-secret-on-b", Action = "deny", Methods = ["tools/call"], Names = ["secret"], Upstreams = ["b"] },
            new RuleOptions { Name = "all", Action = "allow" },
        ];
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, rules, Federated(a.Url, b.Url));
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize(1))).Header("Mcp-Session-Id")!;

        RawResponse list = await PostAsync(gw, token, Message(2, "tools/list"), session);
        Assert.Equal(["a__echo", "a__secret"], ToolNames(list));
        Assert.DoesNotContain("NAME", list.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Policy_and_list_filtering_see_the_member_and_the_unprefixed_name_and_the_audit_records_both()
    {
        await using var a = new ScriptedUpstream(McpServer("a"));
        await using var b = new ScriptedUpstream(McpServer("b"));
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "no-secret-on-b", Action = "deny", Methods = ["tools/call"], Names = ["secret"], Upstreams = ["b"] },
            new RuleOptions { Name = "all", Action = "allow" },
        ];
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, rules, Federated(a.Url, b.Url));
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize(1))).Header("Mcp-Session-Id")!;

        Assert.Equal(["a__echo", "a__secret", "b__echo"], ToolNames(await PostAsync(gw, token, Message(2, "tools/list"), session)));
        RawResponse denied = await PostAsync(gw, token, Message(3, "tools/call", """{"name":"b__secret","arguments":{}}"""), session);
        Assert.Equal(JsonRpcErrorCodes.Forbidden, denied.JsonRpcError().Code);
        Assert.Equal("a ran secret in session s-a", Text(await PostAsync(gw, token, Message(4, "tools/call", """{"name":"a__secret","arguments":{}}"""), session)));
        Assert.DoesNotContain(b.Requests, r => r.Body.Contains("secret", StringComparison.Ordinal));

        string[] records = await gw.StopAndReadAuditAsync();
        JsonElement[] components = [.. records.Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .Where(r => r.GetProperty("type").GetString() == "Denied").Select(r => r.GetProperty("component"))];
        JsonElement refusal = Assert.Single(components);
        Assert.Equal("b__secret", refusal.GetProperty("target").GetString());
        Assert.Equal("b", refusal.GetProperty("upstreamName").GetString());
        Assert.Contains(records, l => l.Contains("\"upstreamName\":\"a\"", StringComparison.Ordinal) && l.Contains("\"target\":\"a__secret\"", StringComparison.Ordinal));
        // The merged list the client got is one record of its own, naming the path, with the prefixed names it held.
        JsonElement merged = Assert.Single(records.Select(l => JsonDocument.Parse(l).RootElement.Clone()),
            r => r.GetProperty("component").TryGetProperty("upstream", out JsonElement u) && u.GetString() == "federation:/mcp/all");
        Assert.Equal("tools/list", merged.GetProperty("component").GetProperty("method").GetString());
        Assert.False(merged.GetProperty("component").TryGetProperty("upstreamName", out _));
        Assert.Equal(["a__echo", "a__secret", "b__echo"],
            merged.GetProperty("response").GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()!).ToArray());
    }

    [Fact]
    public async Task A_completion_is_decided_on_the_member_and_the_unprefixed_prompt_it_completes()
    {
        await using var a = new ScriptedUpstream(McpServer("a"));
        await using var b = new ScriptedUpstream(McpServer("b"));
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "no-secret-prompt-on-b", Action = "deny", Names = ["secret"], Upstreams = ["b"] },
            new RuleOptions { Name = "all", Action = "allow" },
        ];
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, rules, Federated(a.Url, b.Url));
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize(1))).Header("Mcp-Session-Id")!;
        static string Complete(string prompt) =>
            "{\"ref\":{\"type\":\"ref/prompt\",\"name\":\"" + prompt + "\"},\"argument\":{\"name\":\"team\",\"value\":\"E\"}}";

        RawResponse denied = await PostAsync(gw, token, Message(2, "completion/complete", Complete("b__secret")), session);
        Assert.Equal(JsonRpcErrorCodes.Forbidden, denied.JsonRpcError().Code);
        Assert.Contains("no-secret-prompt-on-b", denied.Body);
        Assert.DoesNotContain(b.Requests, r => r.Body.Contains("completion/complete", StringComparison.Ordinal));

        RawResponse allowed = await PostAsync(gw, token, Message(3, "completion/complete", Complete("a__secret")), session);
        Assert.Equal(200, allowed.Status);
        Assert.Contains(a.Requests, r => r.Body.Contains("\"name\":\"secret\"", StringComparison.Ordinal) && r.Body.Contains("completion/complete", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(200, "{\"tools\":{\"name\":\"4111111111111111\"}}")] // a list the filter cannot read
    [InlineData(500, "{\"tools\":[{\"name\":\"4111 1111 1111 1111\"}]}")] // a failed answer
    [InlineData(200, "{\"tools\":[],\"blob\":\"NDExMSAxMTExIDExMTEgMTExMQ==\"}")] // a card in a base64 payload, and a list refused for it below
    public async Task A_members_list_answer_left_out_of_the_merged_list_is_recorded_masked(int status, string result)
    {
        await using var a = new ScriptedUpstream(McpServer("a"));
        Func<UpstreamExchange, Task> normal = McpServer("b");
        await using var b = new ScriptedUpstream(async x =>
        {
            if (!x.Request.Body.Contains("tools/list", StringComparison.Ordinal))
            {
                await normal(x);
                return;
            }
            string json = "{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":" + result + "}";
            await x.RespondAsync(status, "application/json", json.Replace("\"tools\":[]", "\"tools\":[],\"TOOLS\":[]", StringComparison.Ordinal));
        });
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, Federated(a.Url, b.Url));
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize(1))).Header("Mcp-Session-Id")!;

        Assert.Equal(["a__echo", "a__secret"], ToolNames(await PostAsync(gw, token, Message(2, "tools/list"), session)));
        string[] records = await gw.StopAndReadAuditAsync();
        Assert.Contains(records, r => r.Contains("\"upstreamName\":\"b\"", StringComparison.Ordinal) && r.Contains("tools/list", StringComparison.Ordinal));
        Assert.Empty(AuditCards.FindCardNumbers(records));
        Assert.DoesNotContain(records, r => r.Contains("NDExMSAxMTExIDExMTEgMTExMQ==", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Members_initialize_and_log_level_answers_are_masked_for_the_client_and_the_audit_log()
    {
        Func<UpstreamExchange, Task> Server(string name) => async x =>
        {
            string body = x.Request.Body;
            if (body.Contains("\"initialize\"", StringComparison.Ordinal))
            {
                await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"protocolVersion\":\"2025-06-18\","
                    + "\"capabilities\":{\"logging\":{}},\"serverInfo\":{\"name\":\"" + name + "\",\"version\":\"1\"},"
                    + "\"instructions\":\"support line: card 4111 1111 1111 1111\"}}", $"Mcp-Session-Id: s-{name}\r\n");
                return;
            }
            if (body.Contains("logging/setLevel", StringComparison.Ordinal))
            {
                await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"error\":{\"code\":-32000,"
                    + "\"message\":\"level refused for card 5555555555554444\",\"data\":{\"blob\":\"NDExMSAxMTExIDExMTEgMTExMQ==\"}}}");
                return;
            }
            await McpServer(name)(x);
        };
        await using var a = new ScriptedUpstream(Server("a"));
        await using var b = new ScriptedUpstream(Server("b"));
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, Federated(a.Url, b.Url));
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize(1))).Header("Mcp-Session-Id")!;

        RawResponse level = await PostAsync(gw, token, Message(2, "logging/setLevel", """{"level":"info"}"""), session);
        Assert.Equal(-32000, level.JsonRpcError().Code);
        Assert.False(FastMcp.Pan.PanMasker.ContainsCardNumber(level.BodyBytes), level.Body);
        Assert.DoesNotContain("NDExMSAxMTExIDExMTEgMTExMQ==", level.Body, StringComparison.Ordinal);
        string[] records = await gw.StopAndReadAuditAsync();
        Assert.Contains(records, r => r.Contains("support line", StringComparison.Ordinal));
        Assert.Empty(AuditCards.FindCardNumbers(records));
        Assert.DoesNotContain(records, r => r.Contains("NDExMSAxMTExIDExMTEgMTExMQ==", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_rule_budget_is_charged_once_per_federated_message_not_once_per_member()
    {
        await using var a = new ScriptedUpstream(McpServer("a"));
        await using var b = new ScriptedUpstream(McpServer("b"));
        List<RuleOptions> rules =
        [
            new RuleOptions { Name = "one-list-a-minute", Action = "allow", Methods = ["tools/list"], RateLimitPerMinute = 1, RateLimitBurst = 1 },
            new RuleOptions { Name = "all", Action = "allow" },
        ];
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, rules, Federated(a.Url, b.Url));
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize(1))).Header("Mcp-Session-Id")!;

        Assert.Equal(4, ToolNames(await PostAsync(gw, token, Message(2, "tools/list"), session)).Length);
        RawResponse second = await PostAsync(gw, token, Message(3, "tools/list"), session);
        Assert.Equal(429, second.Status);
        Assert.Equal(JsonRpcErrorCodes.RateLimited, second.JsonRpcError().Code);
    }

    [Fact]
    public async Task Get_batches_and_missing_or_foreign_sessions_are_refused()
    {
        await using var a = new ScriptedUpstream(McpServer("a"));
        await using var b = new ScriptedUpstream(McpServer("b"));
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, Federated(a.Url, b.Url));
        string alice = gw.Token("alice"), bob = gw.Token("bob");

        string Get(string token, string? session) =>
            $"GET /mcp/all HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n"
            + (session is null ? "" : $"Mcp-Session-Id: {session}\r\n") + "\r\n";
        RawResponse get = await SendAsync(gw, Get(alice, null));
        Assert.Equal(400, get.Status);
        Assert.Contains("Mcp-Session-Id required", get.Body);
        Assert.Equal(400, (await PostAsync(gw, alice, "[" + Message(1, "tools/list") + "]")).Status);
        Assert.Equal(400, (await PostAsync(gw, alice, Message(2, "tools/list"))).Status);

        string session = (await PostAsync(gw, alice, Initialize(3))).Header("Mcp-Session-Id")!;
        // A session belongs to who opened it.
        Assert.Equal(404, (await PostAsync(gw, bob, Message(4, "tools/list"), session)).Status);
        Assert.Equal(404, (await SendAsync(gw, Get(bob, session))).Status);
        // Members without an event stream of their own (405): the client is told there is none, each member was asked.
        RawResponse noStream = await SendAsync(gw, Get(alice, session));
        Assert.Equal(405, noStream.Status);
        Assert.Contains("no upstream of this federated path offers an event stream", noStream.Body);
        Assert.Contains(a.Requests, r => r.Method == "GET" && r.Header("Mcp-Session-Id") == "s-a");
        Assert.Contains(b.Requests, r => r.Method == "GET" && r.Header("Mcp-Session-Id") == "s-b");

        // An answer to a server request nobody sent goes nowhere.
        RawResponse answer = await PostAsync(gw, alice, """{"jsonrpc":"2.0","id":"fastmcp-fed-1","result":{}}""", session);
        Assert.Equal(400, answer.Status);
        Assert.Contains("no server request with this id is pending", answer.Body);
        Assert.DoesNotContain(a.Requests, r => r.Body.Contains("\"result\"", StringComparison.Ordinal));
        Assert.DoesNotContain(b.Requests, r => r.Body.Contains("\"result\"", StringComparison.Ordinal));
    }

    /// <summary>A server whose tools/call asks the client (id 0, as every member numbers from its own start), cancels that, asks again, then answers.</summary>
    private static Func<UpstreamExchange, Task> AskingServer(string name) => async x =>
    {
        if (x.Request.Method != "POST")
        {
            await x.RespondAsync(x.Request.Method == "DELETE" ? 200 : 405, "", "");
            return;
        }
        using JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes);
        // Notifications and the client's answers to this server's requests are taken with 202.
        if (!doc.RootElement.TryGetProperty("id", out JsonElement id) || !doc.RootElement.TryGetProperty("method", out JsonElement methodElement))
        {
            await x.RespondAsync(202, "", "");
            return;
        }
        string method = methodElement.GetString()!;
        string session = $"Mcp-Session-Id: s-{name}\r\n";
        if (method != "tools/call")
        {
            string result = method == "initialize"
                ? """{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"NAME","version":"1"}}""".Replace("NAME", name)
                : "{}";
            await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":" + result + "}", session);
            return;
        }
        await x.StartEventStreamAsync(session);
        await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"roots/list\"}\n\n");
        await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":0,\"reason\":\"changed my mind\"}}\n\n");
        await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"elicitation/create\",\"params\":{\"message\":\"card 4111 1111 1111 1111?\"}}\n\n");
        await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"done\"}]}}\n\n");
        await x.EndChunkedAsync();
    };

    [Fact]
    public async Task Server_requests_on_a_call_stream_get_the_gateways_ids_and_their_cancellations_follow()
    {
        await using var a = new ScriptedUpstream(AskingServer("a"));
        await using var b = new ScriptedUpstream(AskingServer("b"));
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, Federated(a.Url, b.Url));
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize(1))).Header("Mcp-Session-Id")!;

        static List<JsonElement> Events(RawResponse r) => [.. r.Body.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l["data: ".Length..]).RootElement)];
        List<JsonElement> fromA = Events(await PostAsync(gw, token, Message(2, "tools/call", """{"name":"a__go","arguments":{}}"""), session));
        List<JsonElement> fromB = Events(await PostAsync(gw, token, Message(3, "tools/call", """{"name":"b__go","arguments":{}}"""), session));

        Assert.Equal(4, fromA.Count);
        string roots = fromA[0].GetProperty("id").GetString()!;
        Assert.StartsWith("fastmcp-fed-", roots, StringComparison.Ordinal);
        // The cancellation names the request by the id the client saw.
        Assert.Equal(roots, fromA[1].GetProperty("params").GetProperty("requestId").GetString());
        // Masking still runs on server requests.
        Assert.DoesNotContain("4111 1111 1111 1111", fromA[2].GetRawText(), StringComparison.Ordinal);
        Assert.Equal(2, fromA[3].GetProperty("id").GetInt32());
        // The same member ids from b are different ids for the client.
        string[] all = [roots, fromA[2].GetProperty("id").GetString()!, fromB[0].GetProperty("id").GetString()!, fromB[2].GetProperty("id").GetString()!];
        Assert.Equal(4, all.Distinct().Count());

        // b's elicitation answered: it reaches b with b's own id "x", in b's session; a hears nothing of it.
        RawResponse answer = await PostAsync(gw, token, "{\"jsonrpc\":\"2.0\",\"id\":\"" + all[3] + "\",\"result\":{\"action\":\"decline\"}}", session);
        Assert.Equal(202, answer.Status);
        Assert.Contains(b.Requests, r => r.Body.Contains("\"id\":\"x\"", StringComparison.Ordinal) && r.Body.Contains("decline", StringComparison.Ordinal)
            && r.Header("Mcp-Session-Id") == "s-b");
        Assert.DoesNotContain(a.Requests, r => r.Body.Contains("decline", StringComparison.Ordinal));
    }


    /// <summary>A server whose events carry ids; its GET answers only a resumption (Last-Event-ID), replaying one event.</summary>
    private static Func<UpstreamExchange, Task> ResumableServer(string name) => async x =>
    {
        string session = $"Mcp-Session-Id: s-{name}\r\n";
        if (x.Request.Method == "GET")
        {
            if (x.Request.Header("Last-Event-ID") is not { } from)
            {
                await x.RespondAsync(405, "", "");
                return;
            }
            await x.StartEventStreamAsync(session);
            await x.SendEventAsync($"id: {from}-next\nevent: message\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{{\"level\":\"info\",\"data\":\"{name} resumed after {from}\"}}}}\n\n");
            await x.EndChunkedAsync();
            return;
        }
        if (x.Request.Method != "POST")
        {
            await x.RespondAsync(200, "", "");
            return;
        }
        using JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes);
        if (!doc.RootElement.TryGetProperty("id", out JsonElement id) || !doc.RootElement.TryGetProperty("method", out JsonElement method))
        {
            await x.RespondAsync(202, "", "");
            return;
        }
        if (method.GetString() == "initialize")
        {
            await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"" + name + "\",\"version\":\"1\"}}}", session);
            return;
        }
        await x.StartEventStreamAsync(session);
        await x.SendEventAsync("id: 7\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"" + name + "\"}]}}\n\n");
        await x.EndChunkedAsync();
    };

    [Fact]
    public async Task With_several_members_event_ids_name_their_member_and_a_resumption_goes_to_that_member_alone()
    {
        await using var a = new ScriptedUpstream(ResumableServer("a"));
        await using var b = new ScriptedUpstream(ResumableServer("b"));
        await using var gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, Federated(a.Url, b.Url));
        string token = gw.Token("alice");
        string session = (await PostAsync(gw, token, Initialize(1))).Header("Mcp-Session-Id")!;

        RawResponse call = await PostAsync(gw, token, Message(2, "tools/call", """{"name":"b__go","arguments":{}}"""), session);
        Assert.Contains("id: b__7\n", call.Body, StringComparison.Ordinal);

        string Get(string lastEventId) =>
            $"GET /mcp/all HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\nLast-Event-ID: {lastEventId}\r\n\r\n";
        RawResponse resumed = await SendAsync(gw, Get("b__7"));
        Assert.Equal(200, resumed.Status);
        Assert.Contains("b resumed after 7", resumed.Body, StringComparison.Ordinal);
        Assert.Contains("id: b__7-next\n", resumed.Body, StringComparison.Ordinal);
        Assert.Contains(b.Requests, r => r.Method == "GET" && r.Header("Last-Event-ID") == "7" && r.Header("Mcp-Session-Id") == "s-b");
        Assert.DoesNotContain(a.Requests, r => r.Method == "GET");

        RawResponse nobodys = await SendAsync(gw, Get("c__7"));
        Assert.Equal(400, nobodys.Status);
        Assert.Contains("Last-Event-ID names no upstream", nobodys.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/"},"b__x":{"url":"http://127.0.0.1:2/"}},"routes":[{"path":"/f","federate":["a","b__x"]}]}""",
        "routes[0].federate[1]", "contains the separator")]
    [InlineData("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/"},"b":{"url":"http://127.0.0.1:2/"}},"routes":[{"path":"/f","federate":["a","c"]}]}""",
        "routes[0].federate[1]", "no upstream named 'c'")]
    [InlineData("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/"},"b":{"url":"http://127.0.0.1:2/"}},"routes":[{"path":"/f","federate":["a","a"]}]}""",
        "routes[0].federate[1]", "named twice")]
    [InlineData("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/"}},"routes":[{"path":"/f","federate":[]}]}""", "routes[0].federate", "at least one")]
    [InlineData("""{"upstreams":{"a-b":{"url":"http://127.0.0.1:1/"},"a":{"url":"http://127.0.0.1:2/"}},"routes":[{"path":"/f","federate":["a","a-b"],"separator":"-"}]}""",
        "routes[0].federate[1]", "contains the separator")]
    [InlineData("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/"},"b":{"url":"http://127.0.0.1:2/"}},"routes":[{"path":"/f","federate":["a","b"],"upstream":"a"}]}""",
        "routes[0].upstream", "not both")]
    [InlineData("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/"},"b":{"url":"http://127.0.0.1:2/"}},"routes":[{"path":"/f","federate":["a","b"],"separator":""}]}""",
        "routes[0].separator", "1 to 8")]
    public void Ambiguous_or_unknown_federation_members_are_refused_naming_the_field(string json, string field, string problem)
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Validate(ConfigurationLoader.Parse(System.Text.Encoding.UTF8.GetBytes(json))));
        Assert.Equal(field, e.Field);
        Assert.Contains(problem, e.Problem);
    }
}
