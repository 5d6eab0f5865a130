using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// The client's header fields beyond MCP's own reach the upstream only when the upstream's forwardHeaders names them:
/// an upstream that authenticates by X-Api-Key or Private-Token would otherwise act as whoever that key belongs to,
/// while the audit log names the verified caller. Through the real gateway, on POST, GET and DELETE.
/// </summary>
[Collection(LogOutputCollection.Name)]
public sealed class ForwardHeadersTests
{
    // Fields a client could use to choose who the upstream acts as, and harmless ones an operator may want passed.
    private const string ClientFields =
        "X-Api-Key: someone-elses-key\r\n" +
        "Private-Token: glpat-someone-else\r\n" +
        "X-Auth-Token: other-token\r\n" +
        "Ocp-Apim-Subscription-Key: sub-key\r\n" +
        "X-MCP-Toolsets: repos,issues\r\n" +
        "x-mcp-readonly: true\r\n" +
        "X-End-To-End: yes\r\n";

    // The fields MCP defines, and User-Agent: always passed.
    private const string ProtocolFields =
        "Mcp-Session-Id: sess-1\r\n" +
        "MCP-Protocol-Version: 2025-06-18\r\n" +
        "Mcp-Method: tools/list\r\n" +
        "Last-Event-ID: evt-9\r\n" +
        "User-Agent: agent/1\r\n";

    private static readonly string[] CredentialLike = ["X-Api-Key", "Private-Token", "X-Auth-Token", "Ocp-Apim-Subscription-Key"];

    private static async Task<WireHead> ForwardedHeadAsync(Action<GatewayOptions>? configure, string fields)
    {
        await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
        await using var gateway = GatewayUnderTest.Start(upstream.Url, configure);
        using RawClient client = await gateway.ConnectAsync();
        await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList("1"), fields));
        Assert.Equal(200, (await client.ReadResponseAsync()).Status);
        return upstream.SingleRequest().Head;
    }

    [Fact]
    public async Task By_default_no_field_beyond_MCPs_own_reaches_the_upstream_and_MCPs_own_still_do()
    {
        WireHead seen = await ForwardedHeadAsync(null, ClientFields + ProtocolFields);

        foreach (string name in CredentialLike)
            Assert.False(seen.Has(name), $"{name} must not reach the upstream by default; it saw:\n{seen.Raw}");
        Assert.False(seen.Has("X-MCP-Toolsets"));
        Assert.False(seen.Has("X-End-To-End"));
        Assert.DoesNotContain("someone-else", seen.Raw, StringComparison.Ordinal);

        Assert.Equal("application/json", seen.Get("Content-Type"));
        Assert.Equal("application/json, text/event-stream", seen.Get("Accept"));
        Assert.Equal("sess-1", seen.Get("Mcp-Session-Id"));
        Assert.Equal("2025-06-18", seen.Get("MCP-Protocol-Version"));
        Assert.Equal("tools/list", seen.Get("Mcp-Method"));
        Assert.Equal("evt-9", seen.Get("Last-Event-ID"));
        Assert.Equal("agent/1", seen.Get("User-Agent"));
    }

    [Fact]
    public async Task A_prefix_pattern_passes_the_fields_it_names_in_any_letter_case_and_nothing_else()
    {
        WireHead seen = await ForwardedHeadAsync(o => o.Upstream.ForwardHeaders = ["X-MCP-*", "x-end-to-end"], ClientFields);

        Assert.Equal("repos,issues", seen.Get("X-MCP-Toolsets"));
        Assert.Equal("true", seen.Get("X-MCP-Readonly"));
        Assert.Equal("yes", seen.Get("X-End-To-End"));
        foreach (string name in CredentialLike)
            Assert.False(seen.Has(name), $"{name} is not in forwardHeaders; the upstream saw:\n{seen.Raw}");
    }

    [Fact]
    public async Task A_star_passes_every_field_but_those_that_stop_at_the_gateway()
    {
        WireHead seen = await ForwardedHeadAsync(o => o.Upstream.ForwardHeaders = ["*"],
            ClientFields + "Authorization: Bearer client-token\r\nDPoP: a.b.c\r\nCookie: sid=stolen\r\nX-Real-IP: 6.6.6.6\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n");

        Assert.Equal("someone-elses-key", seen.Get("X-Api-Key"));
        Assert.Equal("glpat-someone-else", seen.Get("Private-Token"));
        Assert.Equal("yes", seen.Get("X-End-To-End"));
        foreach (string name in new[] { "Authorization", "DPoP", "Cookie", "X-Real-IP", "Connection", "X-Hop" })
            Assert.False(seen.Has(name), $"{name} stops at the gateway whatever forwardHeaders says; the upstream saw:\n{seen.Raw}");
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task A_get_or_delete_follows_the_same_list(string method)
    {
        foreach (bool allowed in new[] { false, true })
        {
            await using var upstream = new ScriptedUpstream(UpstreamScripts.OneSessionWithStream);
            await using var gateway = GatewayUnderTest.Start(upstream.Url, o => o.Upstream.ForwardHeaders = allowed ? ["X-MCP-*"] : []);
            using RawClient client = await gateway.ConnectAsync();
            await client.SendAsync(gateway.Post("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}"));
            Assert.Equal(200, (await client.ReadResponseAsync()).Status);

            await client.SendAsync($"{method} /mcp HTTP/1.1\r\nHost: {gateway.Authority}\r\nMcp-Session-Id: s-1\r\nAccept: text/event-stream\r\n"
                + "MCP-Protocol-Version: 2025-06-18\r\nX-Api-Key: someone-elses-key\r\nX-MCP-Toolsets: repos\r\n\r\n");
            Assert.Equal(200, (await client.ReadResponseAsync()).Status);

            UpstreamRequest seen = upstream.Requests.Last();
            Assert.Equal(method, seen.Method);
            Assert.Equal("s-1", seen.Header("Mcp-Session-Id"));
            Assert.Null(seen.Header("X-Api-Key"));
            Assert.Equal(allowed ? "repos" : null, seen.Header("X-MCP-Toolsets"));
        }
    }

    [Theory]
    [InlineData("""{"upstream":{"forwardHeaders":["X-MCP-*","Authorization"]}}""", "upstream.forwardHeaders[1]", "never passed")]
    [InlineData("""{"upstreams":{"github":{"url":"http://127.0.0.1:1/","forwardHeaders":["cookie2"]}},"routes":[{"path":"/gh","upstream":"github"}]}""",
        "upstreams.github.forwardHeaders[0]", "forwardCookies")]
    [InlineData("""{"upstreams":{"github":{"url":"http://127.0.0.1:1/","forwardHeaders":["X-Api-Key"],"credential":{"headerName":"x-api-key","valueEnv":"K"}}},"routes":[{"path":"/gh","upstream":"github"}]}""",
        "upstreams.github.forwardHeaders[0]", "credential")]
    [InlineData("""{"identity":{"mode":"anonymous","upstreamCredential":{"headerName":"Private-Token","valueEnv":"K"}},"upstream":{"forwardHeaders":["private-token"]}}""",
        "upstream.forwardHeaders[0]", "credential")]
    [InlineData("""{"upstream":{"forwardHeaders":["dpop"]}}""", "upstream.forwardHeaders[0]", "DPoP key")]
    [InlineData("""{"upstream":{"forwardHeaders":["Keep-Alive"]}}""", "upstream.forwardHeaders[0]", "hop-by-hop")]
    [InlineData("""{"upstream":{"forwardHeaders":["X-Forwarded-For"]}}""", "upstream.forwardHeaders[0]", "gateway")]
    [InlineData("""{"upstream":{"forwardHeaders":["Host"]}}""", "upstream.forwardHeaders[0]", "gateway")]
    [InlineData("""{"upstream":{"forwardHeaders":["X-*-Key"]}}""", "upstream.forwardHeaders[0]", "trailing")]
    [InlineData("""{"upstream":{"forwardHeaders":[""]}}""", "upstream.forwardHeaders[0]", "field name")]
    [InlineData("""{"upstream":{"forwardHeaders":["X Api"]}}""", "upstream.forwardHeaders[0]", "field name")]
    [InlineData("""{"upstreams":{"a":{"url":"http://127.0.0.1:1/","forwardHeaders":["X-MCP-*"]},"b":{"url":"http://127.0.0.1:2/"}},"routes":[{"path":"/all","federate":["a","b"]}]}""",
        "upstreams.a.forwardHeaders", "federated path")]
    public void A_field_that_can_never_be_forwarded_is_refused_naming_the_entry(string json, string field, string problem)
    {
        var e = Assert.Throws<ConfigurationException>(() => ConfigurationLoader.Validate(ConfigurationLoader.Parse(System.Text.Encoding.UTF8.GetBytes(json))));
        Assert.Equal(field, e.Field);
        Assert.Contains(problem, e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_is_empty_and_the_setting_loads_per_upstream()
    {
        Assert.Empty(new GatewayOptions().Upstream.ForwardHeaders);
        GatewayOptions o = ConfigurationLoader.Parse("""
            {"upstream":{"url":"http://127.0.0.1:1/mcp","forwardHeaders":["*"]},
             "upstreams":{"github":{"url":"http://127.0.0.1:2/mcp","forwardHeaders":["X-MCP-*","User-Agent"]}},
             "routes":[{"path":"/gh","upstream":"github"}]}
            """u8);
        ConfigurationLoader.Validate(o);
        Assert.Equal(["*"], o.Upstream.ForwardHeaders);
        Assert.Equal(["X-MCP-*", "User-Agent"], o.Upstreams["github"].ForwardHeaders);
    }

    [Fact]
    public async Task The_first_dropped_field_is_logged_once_per_upstream_by_name_only()
    {
        var lines = new SynchronizedLines();
        TextWriter previous = Log.Output;
        Log.Output = lines;
        try
        {
            await using var upstream = new ScriptedUpstream(UpstreamScripts.Echo);
            await using var gateway = GatewayUnderTest.Start(upstream.Url);
            using RawClient client = await gateway.ConnectAsync();
            for (int i = 1; i <= 3; i++)
            {
                await client.SendAsync(gateway.Post(GatewayUnderTest.ToolsList(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), "X-Api-Key: someone-elses-key\r\n"));
                Assert.Equal(200, (await client.ReadResponseAsync()).Status);
            }

            string line = Assert.Single(Array.FindAll(lines.Text.Split('\n'), l => l.Contains("not forwarded", StringComparison.Ordinal)));
            Assert.Contains("info", line, StringComparison.Ordinal);
            Assert.Contains("upstream default: the client's header field X-Api-Key is not forwarded (not in upstream.forwardHeaders)", line, StringComparison.Ordinal);
            Assert.DoesNotContain("someone-elses-key", lines.Text, StringComparison.Ordinal);
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
