using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Support.AuditRecordFields;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// A member's notifications/resources/updated on a federated path is decided as a resources/subscribe of its URI (which
/// reaches the client as the member sent it) with the member as the upstream the rules see: on a call's stream and on the
/// merged GET stream, a rule scoped to one member lets that member's updates through and withholds the other's. A member's
/// notifications/message is decided the same way, as a logging/setLevel.
/// </summary>
public sealed class FederatedResourceUpdatePolicyTests
{
    private static string Updated(string member) =>
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{\"uri\":\"file:///shared/from-" + member + "\"}}";

    private static string Log(string member) =>
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"log-from-" + member + "\"}}";

    /// <summary>A member whose tools/call stream and GET stream each carry its <paramref name="notification"/> (default: an update of one of its resources).</summary>
    private static Func<UpstreamExchange, Task> Member(string name, Func<string, string>? notification = null) => async x =>
    {
        string session = $"Mcp-Session-Id: s-{name}\r\n";
        if (x.Request.Method == "DELETE")
        {
            await x.RespondAsync(200, "", "");
            return;
        }
        if (x.Request.Method == "GET")
        {
            await x.StartEventStreamAsync(session);
            await x.SendEventAsync("id: 1\nevent: message\ndata: " + (notification ?? Updated)(name) + "\n\n");
            await x.EndChunkedAsync();
            return;
        }
        using JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes);
        if (!doc.RootElement.TryGetProperty("id", out JsonElement id))
        {
            await x.RespondAsync(202, "", "");
            return;
        }
        string method = doc.RootElement.GetProperty("method").GetString()!;
        if (method != "tools/call")
        {
            string result = method == "initialize"
                ? """{"protocolVersion":"2025-06-18","capabilities":{"tools":{},"resources":{"subscribe":true}},"serverInfo":{"name":"NAME","version":"1"}}""".Replace("NAME", name, StringComparison.Ordinal)
                : "{}";
            await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":" + result + "}", session);
            return;
        }
        await x.StartEventStreamAsync(session);
        await x.SendEventAsync("event: message\ndata: " + (notification ?? Updated)(name) + "\n\n");
        await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"done\"}]}}\n\n");
        await x.EndChunkedAsync();
    };

    /// <summary>Subscribing to file:///shared/* is allowed on member a only; calls are allowed everywhere.</summary>
    private static List<RuleOptions> SharedOnA =>
    [
        new RuleOptions { Name = "shared-on-a", Action = "allow", Methods = ["resources/subscribe"], Names = ["file:///shared/*"], Upstreams = ["a"] },
        new RuleOptions { Name = "calls", Action = "allow", Methods = ["initialize", "tools/call", "notifications/*"] },
    ];

    private static async Task<RawResponse> PostAsync(PolicyGateway gw, string token, string json, string? session = null)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(json, $"Authorization: Bearer {token}\r\n" + (session is null ? "" : $"Mcp-Session-Id: {session}\r\n"), "/mcp/all"));
        return await client.ReadResponseAsync();
    }

    private static string Call(int id, string name) => "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + name + "\",\"arguments\":{}}}";

    /// <summary>A gateway federating <paramref name="a"/> and <paramref name="b"/> on /mcp/all under <paramref name="rules"/>.</summary>
    private static Task<PolicyGateway> FederatedAsync(ScriptedUpstream a, ScriptedUpstream b, List<RuleOptions> rules) =>
        PolicyGateway.StartAsync(UpstreamScripts.Echo, rules, o =>
        {
            o.Upstreams["a"] = new UpstreamOptions { Url = a.Url, ConnectTimeoutMs = 1_000 };
            o.Upstreams["b"] = new UpstreamOptions { Url = b.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
        });

    /// <summary>
    /// Initializes a federated session, calls each member's watch tool (its notifications come on the call's stream), then
    /// reads the merged GET stream to its end (each member sends its notification there too).
    /// </summary>
    private static async Task<(RawResponse FromA, RawResponse FromB, string Merged)> CallBothAndReadMergedStreamAsync(PolicyGateway gw, string token)
    {
        string session = (await PostAsync(gw, token,
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"""))
            .Header("Mcp-Session-Id")!;
        RawResponse fromA = await PostAsync(gw, token, Call(2, "a__watch"), session);
        RawResponse fromB = await PostAsync(gw, token, Call(3, "b__watch"), session);

        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync($"GET /mcp/all HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\n\r\n");
        (_, int status) = await client.ReadHeadAsync();
        Assert.Equal(200, status);
        var merged = new System.Text.StringBuilder();
        for (int i = 0; i < 20; i++)
        {
            string? chunk = await client.ReadChunkAsync("the merged stream");
            if (chunk is null) break;
            merged.Append(chunk);
        }
        return (fromA, fromB, merged.ToString());
    }

    [Fact]
    public async Task A_members_update_is_decided_on_that_member_on_call_streams_and_the_merged_get_stream()
    {
        await using var a = new ScriptedUpstream(Member("a"));
        await using var b = new ScriptedUpstream(Member("b"));
        await using PolicyGateway gw = await FederatedAsync(a, b, SharedOnA);
        (RawResponse fromA, RawResponse fromB, string merged) = await CallBothAndReadMergedStreamAsync(gw, gw.Token("alice"));
        Assert.Contains("file:///shared/from-a", fromA.Body);
        Assert.DoesNotContain("from-b", fromB.Body);
        Assert.Contains("\"done\"", fromB.Body);

        Assert.Contains("file:///shared/from-a", merged);
        Assert.DoesNotContain("from-b", merged);

        foreach (JsonElement denial in await MemberBDenialsAsync(gw))
        {
            JsonElement component = denial.GetProperty("component");
            Assert.Equal("notifications/resources/updated", component.GetProperty("method").GetString());
            Assert.Equal("file:///shared/from-b", component.GetProperty("target").GetString());
            Assert.Equal("b", component.GetProperty("upstreamName").GetString());
            Assert.Equal("(default)", Field(denial, "rule"));
        }
    }

    /// <summary>The server-to-client denials once the gateway stopped: member b's message, once on its call stream and once on the merged GET stream.</summary>
    private static async Task<List<JsonElement>> MemberBDenialsAsync(PolicyGateway gw)
    {
        List<JsonElement> denials = [.. Parse(await gw.StopAndReadAuditAsync()).Where(r => Field(r, "type") == "Denied" && Field(r, "direction") == "serverToClient")];
        Assert.Equal(2, denials.Count);
        return denials;
    }

    [Fact]
    public async Task A_members_log_message_is_decided_as_set_level_on_that_member_on_call_streams_and_the_merged_get_stream()
    {
        await using var a = new ScriptedUpstream(Member("a", Log));
        await using var b = new ScriptedUpstream(Member("b", Log));
        await using PolicyGateway gw = await FederatedAsync(a, b,
        [
            new RuleOptions { Name = "logs-on-a", Action = "allow", Methods = ["logging/setLevel"], Upstreams = ["a"] },
            new RuleOptions { Name = "calls", Action = "allow", Methods = ["initialize", "tools/call", "notifications/*"] },
        ]);
        (RawResponse fromA, RawResponse fromB, string merged) = await CallBothAndReadMergedStreamAsync(gw, gw.Token("alice"));
        Assert.Contains("log-from-a", fromA.Body);
        Assert.DoesNotContain("log-from-b", fromB.Body);
        Assert.Contains("\"done\"", fromB.Body);

        Assert.Contains("log-from-a", merged);
        Assert.DoesNotContain("log-from-b", merged);

        foreach (JsonElement denial in await MemberBDenialsAsync(gw))
        {
            JsonElement component = denial.GetProperty("component");
            Assert.Equal("notifications/message", component.GetProperty("method").GetString());
            Assert.Equal("b", component.GetProperty("upstreamName").GetString());
            Assert.Contains("log-from-b", denial.GetProperty("request").GetRawText());
        }
    }
}
