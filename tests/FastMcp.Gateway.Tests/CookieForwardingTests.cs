using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// Cookies are credentials the gateway does not hold. A client's Cookie could carry an upstream session (another
/// user's) that the upstream would act as while the audit log names the gateway's verified caller; an upstream's
/// Set-Cookie would hand the client the gateway's own standing with the upstream, to replay later. Both stop at the
/// gateway unless the upstream's forwardCookies says otherwise.
/// </summary>
[Collection(LogOutputCollection.Name)]
public sealed class CookieForwardingTests
{
    // Every letter case, both generations of the field, several occurrences.
    private const string ClientCookies =
        "Cookie: upstream_sid=stolen-session\r\n" +
        "cookie: theme=dark\r\n" +
        "COOKIE: other=1\r\n" +
        "Cookie2: $Version=\"1\"\r\n" +
        "cOOKIE2: legacy=1\r\n" +
        "X-End-To-End: yes\r\n";

    private const string UpstreamCookies =
        "Set-Cookie: sid=gateway-standing; HttpOnly; Path=/\r\n" +
        "set-cookie: lb=node-7\r\n" +
        "SET-COOKIE: other=1\r\n" +
        "Set-Cookie2: legacy=\"gateway-standing-2\"; Version=\"1\"\r\n" +
        "set-cookie2: x=1\r\n" +
        "X-Upstream-Note: kept\r\n";

    private const string CallStream = """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{}}}""";
    private const string AnswerEvent = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}\n\n";

    private static void AssertNoCookieFields(WireHead head, string what)
    {
        foreach (string name in new[] { "Cookie", "Cookie2", "Set-Cookie", "Set-Cookie2" })
        {
            Assert.False(head.Has(name), $"{name} must not pass the gateway ({what}); saw:\n{head.Raw}");
        }
        Assert.DoesNotContain("stolen-session", head.Raw, StringComparison.Ordinal);
        Assert.DoesNotContain("gateway-standing", head.Raw, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_clients_cookie_fields_are_not_forwarded()
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        // "*" passes every other field: the cookies stop all the same.
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o => o.Upstream.ForwardHeaders = ["*"]);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1"), ClientCookies));
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);

        WireHead seen = upstream.SingleRequest().Head;
        AssertNoCookieFields(seen, "to the upstream");
        Assert.Equal("yes", seen.Get("X-End-To-End"));
    }

    /// <summary>The upstream answers each kind of exchange with cookies; the client must get none of them.</summary>
    private static Func<UpstreamExchange, Task> AnswersWithCookies(string kind) => async x =>
    {
        switch (kind)
        {
            case "json":
                await x.RespondJsonAsync(UpstreamScripts.EchoJson(x.Request), UpstreamCookies);
                break;
            case "event-stream":
            case "get-stream":
                await x.StartEventStreamAsync(UpstreamCookies);
                await x.SendEventAsync(kind == "event-stream" ? AnswerEvent : "id: 8\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n");
                await x.EndChunkedAsync();
                break;
            case "delete":
                await x.RespondAsync(200, "", "", UpstreamCookies);
                break;
        }
    };

    private static string Request(GatewayUnderTest gateway, string kind) => kind switch
    {
        "json" => gateway.Post(GatewayUnderTest.ToolsList("1")),
        "event-stream" => gateway.Post(CallStream),
        "get-stream" => $"GET /mcp HTTP/1.1\r\nHost: {gateway.Authority}\r\nAccept: text/event-stream\r\nMcp-Session-Id: sess-9\r\n\r\n",
        _ => $"DELETE /mcp HTTP/1.1\r\nHost: {gateway.Authority}\r\nMcp-Session-Id: sess-9\r\n\r\n",
    };

    [Theory]
    [InlineData("json")]
    [InlineData("event-stream")]
    [InlineData("get-stream")]
    [InlineData("delete")]
    public async Task An_upstreams_set_cookie_fields_are_not_relayed(string kind)
    {
        await using var upstream = new ScriptedUpstream(AnswersWithCookies(kind));
        await using var gateway = GatewayUnderTest.Start(upstream.Url);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(Request(gateway, kind));
        RawResponse answer = await client.ReadResponseAsync($"the {kind} answer");

        Assert.Equal(200, answer.Status);
        AssertNoCookieFields(answer.Head, $"to the client, {kind}");
        Assert.Equal("kept", answer.Header("X-Upstream-Note"));
        // The connection is still good for the next exchange (the head was written whole).
        await client.SendAsync(Request(gateway, kind));
        Assert.Equal(200, (await client.ReadResponseAsync($"the second {kind} answer")).Status);
    }

    [Theory]
    [InlineData("json")]
    [InlineData("event-stream")]
    public async Task With_forwardCookies_both_directions_pass(string kind)
    {
        await using var upstream = new ScriptedUpstream(AnswersWithCookies(kind));
        await using var gateway = GatewayUnderTest.Start(upstream.Url, o => o.Upstream.ForwardCookies = true);
        using RawClient client = await gateway.ConnectAsync();

        await client.SendAsync(Request(gateway, kind).Replace("\r\n\r\n", "\r\n" + ClientCookies + "\r\n", StringComparison.Ordinal));
        RawResponse answer = await client.ReadResponseAsync($"the {kind} answer");

        Assert.Equal(200, answer.Status);
        WireHead seen = upstream.SingleRequest().Head;
        Assert.Equal(["upstream_sid=stolen-session", "theme=dark", "other=1"], seen.GetAll("Cookie"));
        Assert.Equal(["$Version=\"1\"", "legacy=1"], seen.GetAll("Cookie2"));
        Assert.Equal(["sid=gateway-standing; HttpOnly; Path=/", "lb=node-7", "other=1"], answer.Head.GetAll("Set-Cookie"));
        Assert.Equal(["legacy=\"gateway-standing-2\"; Version=\"1\"", "x=1"], answer.Head.GetAll("Set-Cookie2"));
    }

    [Fact]
    public async Task A_dropped_cookie_is_logged_once_per_upstream_without_its_value()
    {
        var lines = new SynchronizedLines();
        TextWriter previous = Log.Output;
        Log.Output = lines;
        try
        {
            await using var upstream = new ScriptedUpstream(AnswersWithCookies("json"));
            await using var gateway = GatewayUnderTest.Start(upstream.Url);
            using RawClient client = await gateway.ConnectAsync();
            for (int i = 1; i <= 3; i++)
            {
                await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList(i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
                Assert.Equal(200, (await client.ReadResponseAsync()).Status);
            }

            string[] warnings = Array.FindAll(lines.Text.Split('\n'), l => l.Contains("set a cookie", StringComparison.Ordinal));
            string warning = Assert.Single(warnings);
            Assert.Contains("upstream default set a cookie; dropped (upstream.forwardCookies is false)", warning, StringComparison.Ordinal);
            Assert.DoesNotContain("gateway-standing", lines.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("node-7", lines.Text, StringComparison.Ordinal);
        }
        finally
        {
            Log.Output = previous;
        }
    }

    // Log writes under a lock on the writer: reading under the same lock sees whole lines.
    private sealed class SynchronizedLines : StringWriter
    {
        public string Text { get { lock (this) return ToString(); } }
    }
}
