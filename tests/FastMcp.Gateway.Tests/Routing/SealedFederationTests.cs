using System.Collections.Concurrent;
using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// Federated sessions with sessions.sealed (docs/mcp-handling.md, "Sealed federated session ids"): the id the client gets
/// carries its members' sessions sealed for it and the path, so a replica that never saw the session (or this one after a
/// restart) serves it. Two gateway instances with one configuration, one identity key and one card fingerprint key stand
/// for two replicas; the members are MCP servers that answer 404 for a session they did not issue or that was ended.
/// </summary>
public sealed class SealedFederationTests : IAsyncDisposable
{
    private static readonly List<RuleOptions> AllowAll = [new RuleOptions { Name = "all", Action = "allow" }];

    // What the replicas share: the identity provider's key (dev mode) and the card fingerprint key.
    private readonly ReplicaKeys _keys = new();
    private readonly Member _a = new("a");
    private readonly Member _b = new("b", resource: "test://b/doc");
    private readonly ScriptedUpstream _upstreamA;
    private readonly ScriptedUpstream _upstreamB;

    public SealedFederationTests()
    {
        _upstreamA = new ScriptedUpstream(_a.Serve);
        _upstreamB = new ScriptedUpstream(_b.Serve);
    }

    public async ValueTask DisposeAsync()
    {
        await _upstreamA.DisposeAsync();
        await _upstreamB.DisposeAsync();
        _keys.Dispose();
    }

    /// <summary>A minimal MCP server: sessions "s-NAME-n", each request's session checked (404 unknown or ended).</summary>
    private sealed class Member(string name, string? resource = null, int sessionIdPadding = 0)
    {
        private readonly ConcurrentDictionary<string, bool> _live = new(StringComparer.Ordinal);
        private int _issued;

        public ConcurrentQueue<(string Method, string? Session)> Seen { get; } = new();

        public int Count(string method) => Seen.Count(s => s.Method == method);

        public async Task Serve(UpstreamExchange x)
        {
            string? session = x.Request.Header("Mcp-Session-Id");
            if (x.Request.Method == "DELETE")
            {
                Seen.Enqueue(("DELETE", session));
                await x.RespondAsync(session is not null && _live.TryRemove(session, out _) ? 200 : 404, "", "");
                return;
            }
            if (x.Request.Method != "POST")
            {
                await x.RespondAsync(405, "", "");
                return;
            }
            string method, idJson;
            using (JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes))
            {
                method = doc.RootElement.GetProperty("method").GetString()!;
                Seen.Enqueue((method, session));
                if (!doc.RootElement.TryGetProperty("id", out JsonElement id))
                {
                    await x.RespondAsync(202, "", "");
                    return;
                }
                idJson = id.GetRawText();
            }
            if (method == "initialize")
            {
                string issued = $"s-{name}-{Interlocked.Increment(ref _issued)}" + new string('x', sessionIdPadding);
                _live[issued] = true;
                await x.RespondJsonAsync(ScriptedMember.Result(idJson,
                    "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{},\"resources\":{}},\"serverInfo\":{\"name\":\"" + name + "\",\"version\":\"1\"}}"),
                    $"Mcp-Session-Id: {issued}\r\n");
                return;
            }
            if (session is null || !_live.ContainsKey(session))
            {
                await x.RespondAsync(404, "application/json", "{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"error\":{\"code\":-32600,\"message\":\"session not found\"}}");
                return;
            }
            string result = method switch
            {
                "tools/list" => "{\"tools\":[{\"name\":\"echo\",\"inputSchema\":{\"type\":\"object\"}}]}",
                "tools/call" => "{\"content\":[{\"type\":\"text\",\"text\":\"" + name + " ran in " + session + "\"}]}",
                "resources/list" => resource is null ? "{\"resources\":[]}" : "{\"resources\":[{\"uri\":\"" + resource + "\",\"name\":\"doc\"}]}",
                "resources/templates/list" => "{\"resourceTemplates\":[]}",
                "resources/read" => "{\"contents\":[{\"uri\":\"" + resource + "\",\"text\":\"" + name + " read in " + session + "\"}]}",
                _ => "{}",
            };
            await x.RespondJsonAsync(ScriptedMember.Result(idJson, result));
        }
    }

    private string Token(string subject) => _keys.Token(subject);

    private Task<PolicyGateway> ReplicaAsync(bool sealedIds = true) =>
        PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o =>
        {
            _keys.Share(o);
            o.Sessions.Sealed = sealedIds;
            o.Sessions.RecordIntervalSeconds = 3600;
            o.Upstreams["a"] = new UpstreamOptions { Url = _upstreamA.Url, ConnectTimeoutMs = 1_000 };
            o.Upstreams["b"] = new UpstreamOptions { Url = _upstreamB.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }, new RouteOptions { Path = "/mcp/other", Federate = ["a", "b"] }];
        });

    private static string Message(int id, string method, string paramsJson = "{}") =>
        "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"" + method + "\",\"params\":" + paramsJson + "}";

    private static readonly string Initialize =
        Message(1, "initialize", """{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}""");

    private static Task<RawResponse> PostAsync(PolicyGateway gw, string token, string json, string? session = null, string path = "/mcp/all") =>
        gw.PostAsync(json, token, session is null ? "" : $"Mcp-Session-Id: {session}\r\n", path);

    private static async Task<RawResponse> WithoutBodyAsync(PolicyGateway gw, string method, string token, string session)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync($"{method} /mcp/all HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\n\r\n");
        return await client.ReadResponseAsync();
    }

    private static string Text(RawResponse r)
    {
        using JsonDocument doc = JsonDocument.Parse(r.BodyBytes);
        JsonElement result = doc.RootElement.GetProperty("result");
        return result.TryGetProperty("content", out JsonElement content)
            ? content[0].GetProperty("text").GetString()!
            : result.GetProperty("contents")[0].GetProperty("text").GetString()!;
    }

    private static string[] ToolNames(RawResponse r)
    {
        using JsonDocument doc = JsonDocument.Parse(r.BodyBytes);
        return [.. doc.RootElement.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()!)];
    }

    private static async Task<long> RefusedUnknownAsync(PolicyGateway gw)
    {
        string metrics = await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics");
        string line = metrics.Split('\n').Single(l => l.StartsWith("fastmcp_session_refusals_total{reason=\"unknown\"} ", StringComparison.Ordinal));
        return long.Parse(line[(line.LastIndexOf(' ') + 1)..]);
    }

    private int Forwarded => _a.Seen.Count + _b.Seen.Count;

    [Fact]
    public async Task A_session_opened_on_one_replica_is_served_by_another_with_each_members_own_session()
    {
        await using PolicyGateway a = await ReplicaAsync();
        await using PolicyGateway b = await ReplicaAsync();
        string alice = Token("alice");
        RawResponse opened = await PostAsync(a, alice, Initialize);
        Assert.Equal(200, opened.Status);
        string id = opened.Header("Mcp-Session-Id")!;
        Assert.StartsWith("fmf1.", id);
        Assert.All(id, c => Assert.InRange(c, '!', '~'));

        RawResponse tools = await PostAsync(b, alice, Message(2, "tools/list"), id);
        Assert.Equal(200, tools.Status);
        Assert.Equal(["a__echo", "b__echo"], ToolNames(tools));
        Assert.Equal("a ran in s-a-1", Text(await PostAsync(b, alice, Message(3, "tools/call", """{"name":"a__echo","arguments":{}}"""), id)));
        Assert.Equal("b ran in s-b-1", Text(await PostAsync(b, alice, Message(4, "tools/call", """{"name":"b__echo","arguments":{}}"""), id)));
        // Served from the id alone: no member was asked to initialize again.
        Assert.Equal(1, _a.Count("initialize"));
        Assert.Equal(1, _b.Count("initialize"));
        Assert.All(_a.Seen.Where(s => s.Method != "initialize"), s => Assert.Equal("s-a-1", s.Session));
        Assert.All(_b.Seen.Where(s => s.Method != "initialize"), s => Assert.Equal("s-b-1", s.Session));
        // And the replica that opened it still serves it.
        Assert.Equal("a ran in s-a-1", Text(await PostAsync(a, alice, Message(5, "tools/call", """{"name":"a__echo","arguments":{}}"""), id)));
    }

    [Fact]
    public async Task A_restart_with_the_same_key_keeps_a_sealed_federated_session_usable()
    {
        string id;
        await using (PolicyGateway before = await ReplicaAsync())
        {
            id = (await PostAsync(before, Token("alice"), Initialize)).Header("Mcp-Session-Id")!;
        }
        await using PolicyGateway after = await ReplicaAsync();
        string alice = Token("alice");
        Assert.Equal("b ran in s-b-1", Text(await PostAsync(after, alice, Message(2, "tools/call", """{"name":"b__echo","arguments":{}}"""), id)));
        Assert.Equal(2, ToolNames(await PostAsync(after, alice, Message(3, "tools/list"), id)).Length);
    }

    [Fact]
    public async Task Another_caller_a_forged_a_raw_or_another_paths_id_is_an_unknown_session_and_nothing_is_forwarded()
    {
        await using PolicyGateway a = await ReplicaAsync();
        await using PolicyGateway b = await ReplicaAsync();
        string alice = Token("alice"), mallory = Token("mallory");
        string id = (await PostAsync(a, alice, Initialize)).Header("Mcp-Session-Id")!;
        string otherPath = (await PostAsync(a, alice, Initialize, path: "/mcp/other")).Header("Mcp-Session-Id")!;
        int forwarded = Forwarded;

        char flipped = id[9] == 'A' ? 'B' : 'A';
        string[] refused =
        [
            id[..9] + flipped + id[10..], id + "=", id + "!", "fmf1.", "fmf1." + id[5..20], "fms1." + id[5..], id.ToUpperInvariant(),
            "0123456789abcdef0123456789abcdef", otherPath,
        ];
        foreach (string presented in refused) Assert.Equal(404, (await PostAsync(b, alice, Message(2, "tools/list"), presented)).Status);
        // Before alice used it on b, and after: never mallory's.
        Assert.Equal(404, (await PostAsync(b, mallory, Message(3, "tools/list"), id)).Status);
        Assert.Equal(200, (await PostAsync(b, alice, Message(4, "tools/list"), id)).Status);
        forwarded = Forwarded - forwarded;
        Assert.Equal(2, forwarded);
        Assert.Equal(404, (await PostAsync(b, mallory, Message(5, "tools/call", """{"name":"a__echo","arguments":{}}"""), id)).Status);
        Assert.Equal(404, (await WithoutBodyAsync(b, "GET", mallory, id)).Status);
        Assert.Equal(404, (await WithoutBodyAsync(b, "DELETE", mallory, id)).Status);
        Assert.Equal(404, (await PostAsync(a, mallory, Message(6, "tools/list"), id)).Status);
        Assert.Equal(0, _a.Count("DELETE") + _a.Count("tools/call"));
        Assert.Equal(refused.Length + 4, await RefusedUnknownAsync(b));
    }

    [Fact]
    public async Task Delete_through_another_replica_ends_every_members_session()
    {
        await using PolicyGateway a = await ReplicaAsync();
        await using PolicyGateway b = await ReplicaAsync();
        string alice = Token("alice");
        string id = (await PostAsync(a, alice, Initialize)).Header("Mcp-Session-Id")!;
        // An answer to a server request b never relayed: refused, never sent to a guessed member.
        int forwarded = Forwarded;
        RawResponse answer = await PostAsync(b, alice, """{"jsonrpc":"2.0","id":"fastmcp-fed-1","result":{}}""", id);
        Assert.Equal(400, answer.Status);
        Assert.Contains("no server request with this id is pending", answer.Body, StringComparison.Ordinal);
        Assert.Equal(forwarded, Forwarded);

        Assert.Equal(200, (await WithoutBodyAsync(b, "DELETE", alice, id)).Status);
        Assert.Equal("s-a-1", Assert.Single(_a.Seen, s => s.Method == "DELETE").Session);
        Assert.Equal("s-b-1", Assert.Single(_b.Seen, s => s.Method == "DELETE").Session);
        // The members' sessions are gone: the replica that opened it relays their answer for an ended session.
        RawResponse after = await PostAsync(a, alice, Message(2, "tools/call", """{"name":"a__echo","arguments":{}}"""), id);
        Assert.Equal(404, after.Status);
    }

    [Fact]
    public async Task A_resource_listed_through_one_replica_is_read_through_another_from_the_member_that_listed_it()
    {
        await using PolicyGateway a = await ReplicaAsync();
        await using PolicyGateway b = await ReplicaAsync();
        string alice = Token("alice");
        string id = (await PostAsync(a, alice, Initialize)).Header("Mcp-Session-Id")!;
        Assert.Contains("test://b/doc", (await PostAsync(a, alice, Message(2, "resources/list"), id)).Body, StringComparison.Ordinal);

        RawResponse read = await PostAsync(b, alice, Message(3, "resources/read", """{"uri":"test://b/doc"}"""), id);
        Assert.Equal(200, read.Status);
        Assert.Equal("b read in s-b-1", Text(read));
        Assert.Equal(0, _a.Count("resources/read"));
        // b asked each member once for its lists, then no more.
        Assert.Equal("b read in s-b-1", Text(await PostAsync(b, alice, Message(4, "resources/read", """{"uri":"test://b/doc"}"""), id)));
        Assert.Equal(2, _a.Count("resources/list"));
        // A URI no member listed is still refused, not guessed.
        RawResponse unlisted = await PostAsync(b, alice, Message(5, "resources/read", """{"uri":"test://nobody"}"""), id);
        Assert.Contains("no upstream of this federated path listed this resource", unlisted.Body, StringComparison.Ordinal);
        Assert.Equal(2, _a.Count("resources/list"));
    }

    [Fact]
    public async Task Unsealed_a_federated_session_stays_on_the_replica_that_opened_it()
    {
        await using PolicyGateway a = await ReplicaAsync(sealedIds: false);
        await using PolicyGateway b = await ReplicaAsync(sealedIds: false);
        string alice = Token("alice");
        string id = (await PostAsync(a, alice, Initialize)).Header("Mcp-Session-Id")!;
        Assert.DoesNotContain("fmf1.", id, StringComparison.Ordinal);
        Assert.Equal(404, (await PostAsync(b, alice, Message(2, "tools/list"), id)).Status);
        Assert.Equal(200, (await PostAsync(a, alice, Message(3, "tools/list"), id)).Status);
    }

    [Fact]
    public async Task An_id_that_would_not_fit_a_request_head_is_refused_at_initialize_and_the_members_sessions_are_ended()
    {
        // Two sessions of 2,100 bytes each: past a quarter of the default limits.maxHeadBytes (4,096 bytes).
        var longA = new Member("a", sessionIdPadding: 2_100);
        var longB = new Member("b", sessionIdPadding: 2_100);
        await using var upstreamA = new ScriptedUpstream(longA.Serve);
        await using var upstreamB = new ScriptedUpstream(longB.Serve);
        await using PolicyGateway gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo, AllowAll, o =>
        {
            _keys.Share(o);
            o.Sessions.Sealed = true;
            o.Upstreams["a"] = new UpstreamOptions { Url = upstreamA.Url, ConnectTimeoutMs = 1_000 };
            o.Upstreams["b"] = new UpstreamOptions { Url = upstreamB.Url, ConnectTimeoutMs = 1_000 };
            o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
        });
        RawResponse refused = await PostAsync(gw, Token("alice"), Initialize);
        Assert.Equal(500, refused.Status);
        Assert.Null(refused.Header("Mcp-Session-Id"));
        Assert.Contains("limits.maxHeadBytes", refused.Body, StringComparison.Ordinal);
        // Ended in the background (Sessions/SessionEnder.cs): a bounded wait, no wall-clock assertion.
        for (int i = 0; i < 400 && (longA.Count("DELETE") == 0 || longB.Count("DELETE") == 0); i++) await Task.Delay(25);
        Assert.StartsWith("s-a-1x", Assert.Single(longA.Seen, s => s.Method == "DELETE").Session);
        Assert.StartsWith("s-b-1x", Assert.Single(longB.Seen, s => s.Method == "DELETE").Session);
    }
}
