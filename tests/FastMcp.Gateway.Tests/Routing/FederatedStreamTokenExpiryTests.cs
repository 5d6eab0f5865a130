using System.Text.Json;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Policy;
using static FastMcp.Gateway.Tests.Support.AuditRecordFields;

namespace FastMcp.Gateway.Tests.Routing;

/// <summary>
/// The merged GET stream of a federated path ends with the client's token like a plain GET stream: at the token's expiry
/// (identity.clockSkewSeconds 0 here), with no member event needed to notice it, and no member event after it relayed.
/// </summary>
public sealed class FederatedStreamTokenExpiryTests
{
    /// <summary>A member whose GET stream sends an "early" event, waits for <paramref name="resume"/>, then a "late" one.</summary>
    private static Func<UpstreamExchange, Task> Member(string name, TaskCompletionSource resume) => async x =>
    {
        string session = $"Mcp-Session-Id: s-{name}\r\n";
        if (x.Request.Method == "GET")
        {
            await x.StartEventStreamAsync(session);
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":1,\"message\":\"early-" + name + "\"}}\n\n");
            await resume.Task.WaitAsync(TimeSpan.FromSeconds(20), x.Stopping);
            await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":2,\"message\":\"late-" + name + "\"}}\n\n");
            await x.EndChunkedAsync();
            return;
        }
        if (x.Request.Method == "DELETE")
        {
            await x.RespondAsync(200, "", "");
            return;
        }
        using JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes);
        if (!doc.RootElement.TryGetProperty("id", out JsonElement id))
        {
            await x.RespondAsync(202, "", "");
            return;
        }
        await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id.GetRawText()
            + ",\"result\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"" + name + "\",\"version\":\"1\"}}}", session);
    };

    [Fact]
    public async Task The_merged_get_stream_ends_at_the_tokens_expiry_and_relays_no_member_event_after_it()
    {
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var a = new ScriptedUpstream(Member("a", resume));
        await using var b = new ScriptedUpstream(Member("b", resume));
        await using PolicyGateway gw = await PolicyGateway.StartAsync(UpstreamScripts.Echo,
            [new RuleOptions { Name = "calls", Action = "allow", Methods = ["initialize", "notifications/*"] }], o =>
            {
                o.Identity!.ClockSkewSeconds = 0;
                o.Upstreams["a"] = new UpstreamOptions { Url = a.Url, ConnectTimeoutMs = 1_000 };
                o.Upstreams["b"] = new UpstreamOptions { Url = b.Url, ConnectTimeoutMs = 1_000 };
                o.Routes = [new RouteOptions { Path = "/mcp/all", Federate = ["a", "b"] }];
            });
        string token = gw.ShortLivedToken("alice", TimeSpan.FromSeconds(3));
        RawResponse initialized;
        using (RawClient init = await gw.Gateway.ConnectAsync())
        {
            await init.SendAsync(gw.Gateway.Post(
                """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
                $"Authorization: Bearer {token}\r\n", "/mcp/all"));
            initialized = await init.ReadResponseAsync();
        }
        string session = initialized.Header("Mcp-Session-Id")!;

        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync($"GET /mcp/all HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\nMcp-Session-Id: {session}\r\n\r\n");
        (_, int status) = await client.ReadHeadAsync();
        Assert.Equal(200, status);
        // The members wait for resume: only the gateway can end the stream, at the expiry (bounded by the read timeout per chunk).
        var merged = new System.Text.StringBuilder();
        bool ended = false;
        for (int i = 0; i < 10 && !ended; i++)
        {
            string? chunk = await client.ReadChunkAsync("the merged stream to its end at the token's expiry");
            if (chunk is null) ended = true;
            else merged.Append(chunk);
        }
        resume.SetResult();

        Assert.True(ended);
        Assert.DoesNotContain("late-", merged.ToString());
        Assert.Contains("fastmcp_streams_ended_total{reason=\"token_expired\"} 1\n", await AdminGet.TextAsync(gw.Gateway.AdminEndpoint, "/metrics"));
        List<JsonElement> ends = [.. Parse(await gw.StopAndReadAuditAsync())
            .Where(r => (Field(r, "detail") ?? "").Contains("the token that opened it expired", StringComparison.Ordinal))];
        Assert.Equal(2, ends.Count); // one end record per member's stream
    }
}
