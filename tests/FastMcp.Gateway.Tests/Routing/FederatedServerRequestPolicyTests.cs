using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// policy.serverRequests on a federated path: a member's request on a call's stream and on the merged GET stream is
/// decided with the member's name as the upstream; a denied one is not relayed, and the member that asked gets the
/// gateway's -32001 answer with its own id, in its own session.
/// </summary>
public sealed class FederatedServerRequestPolicyTests
{
    private const string Elicitation = "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"elicitation/create\",\"params\":{\"message\":\"your card number?\"}}";

    /// <summary>A member whose tools/call stream and GET stream each carry an elicitation; answers to it are taken with 202 and kept.</summary>
    private sealed class AskingMember(string name)
    {
        public TaskCompletionSource<UpstreamRequest> Answered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task Script(UpstreamExchange x)
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
                await x.SendEventAsync("event: message\ndata: " + Elicitation + "\n\n");
                await Answered.Task.WaitAsync(TimeSpan.FromSeconds(20), x.Stopping);
                await x.EndChunkedAsync();
                return;
            }
            using JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes);
            if (!doc.RootElement.TryGetProperty("method", out JsonElement method))
            {
                await x.RespondAsync(202, "", "");
                Answered.TrySetResult(x.Request);
                return;
            }
            if (!doc.RootElement.TryGetProperty("id", out JsonElement id))
            {
                await x.RespondAsync(202, "", "");
                return;
            }
            if (method.GetString() != "tools/call")
            {
                string result = method.GetString() == "initialize"
                    ? """{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"NAME","version":"1"}}""".Replace("NAME", name, StringComparison.Ordinal)
                    : "{}";
                await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":" + result + "}", session);
                return;
            }
            await x.StartEventStreamAsync(session);
            await x.SendEventAsync("event: message\ndata: " + Elicitation + "\n\n");
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText() + ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"done\"}]}}\n\n");
            await x.EndChunkedAsync();
        }
    }

    /// <summary>Members a and b asking on every stream, behind a federated path, and alice's session on it.</summary>
    private sealed class AskingPath : IAsyncDisposable
    {
        private ScriptedUpstream _upstreamA = null!, _upstreamB = null!;

        public AskingMember A { get; } = new("a");
        public AskingMember B { get; } = new("b");
        public PolicyGateway Gateway { get; private set; } = null!;
        public string Token { get; private set; } = "";
        public string Session { get; private set; } = "";

        public static async Task<AskingPath> StartAsync()
        {
            var path = new AskingPath();
            path._upstreamA = new ScriptedUpstream(path.A.Script);
            path._upstreamB = new ScriptedUpstream(path.B.Script);
            path.Gateway = await PolicyGateway.StartAsync(UpstreamScripts.Echo, [new RuleOptions { Name = "all", Action = "allow" }],
                Federated(path._upstreamA.Url, path._upstreamB.Url));
            path.Token = path.Gateway.Token("alice");
            path.Session = await InitializeAsync(path.Gateway, path.Token);
            return path;
        }

        public async ValueTask DisposeAsync()
        {
            if (Gateway is not null) await Gateway.DisposeAsync();
            await _upstreamA.DisposeAsync();
            await _upstreamB.DisposeAsync();
        }
    }

    private static Action<GatewayOptions> Federated(string a, string b) => o =>
    {
        o.Upstreams["a"] = new UpstreamOptions { Url = a, ConnectTimeoutMs = 1_000 };
        o.Upstreams["b"] = new UpstreamOptions { Url = b, ConnectTimeoutMs = 1_000 };
        o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
        // Elicitation is denied from member b only.
        o.Policy!.ServerRequests = new ServerRequestPolicyOptions
        {
            Rules = [new RuleOptions { Name = "no-elicitation-from-b", Action = "deny", Methods = ["elicitation/*"], Upstreams = ["b"] }],
        };
    };

    private static async Task<RawResponse> PostAsync(PolicyGateway gw, string token, string json, string? session = null)
    {
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync(gw.Gateway.Post(json, $"Authorization: Bearer {token}\r\n" + (session is null ? "" : $"Mcp-Session-Id: {session}\r\n"), "/mcp/all"));
        return await client.ReadResponseAsync();
    }

    private static string Call(int id, string name) => "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + name + "\",\"arguments\":{}}}";

    private static async Task<string> InitializeAsync(PolicyGateway gw, string token) =>
        (await PostAsync(gw, token, """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"""))
            .Header("Mcp-Session-Id")!;

    private static void AssertMemberAnswered(UpstreamRequest answer, string member)
    {
        using JsonDocument doc = JsonDocument.Parse(answer.BodyBytes);
        Assert.Equal("\"x\"", doc.RootElement.GetProperty("id").GetRawText());
        Assert.Equal(-32001, doc.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("no-elicitation-from-b", doc.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal($"s-{member}", answer.Header("Mcp-Session-Id"));
    }

    [Fact]
    public async Task A_members_denied_request_on_a_call_stream_is_withheld_and_answered_to_that_member()
    {
        await using var path = await AskingPath.StartAsync();
        (AskingMember a, AskingMember b, PolicyGateway gw, string token, string session) = (path.A, path.B, path.Gateway, path.Token, path.Session);

        RawResponse fromA = await PostAsync(gw, token, Call(2, "a__go"), session);
        Assert.Contains("elicitation/create", fromA.Body);
        RawResponse fromB = await PostAsync(gw, token, Call(3, "b__go"), session);
        Assert.DoesNotContain("elicitation/create", fromB.Body);
        Assert.Contains("\"done\"", fromB.Body);
        AssertMemberAnswered(await b.Answered.Task.WaitAsync(TimeSpan.FromSeconds(20)), "b");
        Assert.False(a.Answered.Task.IsCompleted);
    }

    [Fact]
    public async Task A_members_denied_request_on_the_merged_get_stream_is_withheld_and_answered_to_that_member()
    {
        await using var path = await AskingPath.StartAsync();
        (AskingMember a, AskingMember b, PolicyGateway gw, string token, string session) = (path.A, path.B, path.Gateway, path.Token, path.Session);

        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync($"GET /mcp/all HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\n\r\n");
        (_, int status) = await client.ReadHeadAsync();
        Assert.Equal(200, status);
        // a's elicitation is relayed (under the gateway's id); b's is not, and b has the gateway's answer.
        string? first = await client.ReadChunkAsync("a's elicitation");
        Assert.NotNull(first);
        Assert.Contains("fastmcp-fed-", first);
        AssertMemberAnswered(await b.Answered.Task.WaitAsync(TimeSpan.FromSeconds(20)), "b");
        // a's stream ends once a hears an answer: the client's, to the id it was given.
        string fedId = JsonDocument.Parse(first[(first.IndexOf("data: ", StringComparison.Ordinal) + 6)..].Split('\n')[0]).RootElement.GetProperty("id").GetString()!;
        RawResponse answered = await PostAsync(gw, token, "{\"jsonrpc\":\"2.0\",\"id\":\"" + fedId + "\",\"result\":{\"action\":\"decline\"}}", session);
        Assert.Equal(202, answered.Status);
        Assert.Contains("decline", (await a.Answered.Task.WaitAsync(TimeSpan.FromSeconds(20))).Body);
        Assert.DoesNotContain("elicitation", string.Concat(await ReadRestAsync(client)));
    }

    private static async Task<List<string>> ReadRestAsync(RawClient client)
    {
        var chunks = new List<string>();
        for (int i = 0; i < 20; i++)
        {
            string? chunk = await client.ReadChunkAsync("the rest of the stream");
            if (chunk is null) break;
            chunks.Add(chunk);
        }
        return chunks;
    }
}
