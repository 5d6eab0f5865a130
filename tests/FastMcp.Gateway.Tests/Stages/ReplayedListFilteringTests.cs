using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// An upstream with an event store replays answers on the session's GET stream (Last-Event-ID): the client's tools/list
/// (id 2), whose POST stream ended after an event id and before its answer, is the one it may answer
/// (Forwarding/UnaskedAnswer.cs). A list answer there is filtered by the shape of its result as any list is, or refused
/// when it holds several kinds of list (the stream then ends there); never relayed whole.
/// </summary>
public sealed class ReplayedListFilteringTests
{
    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    /// <summary>Issues "s-1" on initialize; a GET replays the events after Last-Event-ID: a tools/list answer, a mixed one, a tools/call result, a notification.</summary>
    private static Task ReplayingServer(UpstreamExchange x) => Replaying(x,
        PolicyGateway.ToolsListResult("2", "a_read", "delete_all"),
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"tools\":[],\"prompts\":[{\"name\":\"delete_prompt\"}]}}",
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"call result\"}]}}",
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}");

    /// <summary>Issues "s-1" on initialize; a GET replays <paramref name="replayed"/> as events 6, 7, ...</summary>
    private static async Task Replaying(UpstreamExchange x, params string[] replayed)
    {
        if (x.Request.Method == "POST" && x.Request.Body.Contains("\"tools/list\"", StringComparison.Ordinal))
        {
            // Ends the list's stream after an event id, before its answer: the client resumes it.
            await x.StartEventStreamAsync("Mcp-Session-Id: s-1\r\n");
            await x.SendEventAsync("id: 5\ndata: \n\n");
            await x.EndChunkedAsync();
            return;
        }
        if (x.Request.Method == "POST")
        {
            using JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes);
            await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + doc.RootElement.GetProperty("id").GetRawText() + ",\"result\":{}}", "Mcp-Session-Id: s-1\r\n");
            return;
        }
        await x.StartEventStreamAsync();
        for (int i = 0; i < replayed.Length; i++)
        {
            await x.SendEventAsync("id: " + (6 + i) + "\nevent: message\ndata: " + replayed[i] + "\n\n");
        }
        await x.EndChunkedAsync();
    }

    /// <summary>Initializes, and sends tools/list (id 2), whose stream ends before its answer; returns the session.</summary>
    private static async Task<string> ListUnansweredAsync(PolicyGateway gw, string alice)
    {
        string session = (await gw.PostAsync(Initialize, alice)).Header("Mcp-Session-Id")!;
        RawResponse list = await gw.PostAsync("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}", alice, $"Mcp-Session-Id: {session}\r\n");
        Assert.Contains("id: 5", list.Body);
        return session;
    }

    private static async Task<List<string>> ReplayedEventsAsync(PolicyGateway gw)
    {
        string alice = gw.Token("alice");
        string session = await ListUnansweredAsync(gw, alice);
        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync($"GET /mcp HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {alice}\r\nAccept: text/event-stream\r\n"
            + $"Mcp-Session-Id: {session}\r\nLast-Event-ID: 5\r\n\r\n");
        RawResponse stream = await client.ReadResponseAsync();
        Assert.Equal(200, stream.Status);
        return EventData(stream.Body);
    }

    private static List<string> EventData(string stream) =>
        [.. stream.Replace("\r\n", "\n").Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(e => e.Split('\n')).Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l["data: ".Length..])];

    [Fact]
    public async Task A_list_answer_replayed_on_the_GET_stream_is_filtered_and_one_holding_several_lists_is_withheld()
    {
        await using var gw = await PolicyGateway.StartAsync(ReplayingServer,
        [
            new RuleOptions { Name = "protocol", Action = "allow", Methods = ["initialize", "tools/list"] },
            new RuleOptions { Name = "team-a", Action = "allow", Methods = ["tools/call"], Names = ["a_*"] },
        ]);
        string alice = gw.Token("alice");
        string session = await ListUnansweredAsync(gw, alice);

        using RawClient client = await gw.Gateway.ConnectAsync();
        await client.SendAsync($"GET /mcp HTTP/1.1\r\nHost: {gw.Gateway.Authority}\r\nAuthorization: Bearer {alice}\r\nAccept: text/event-stream\r\n"
            + $"Mcp-Session-Id: {session}\r\nLast-Event-ID: 5\r\n\r\n");
        RawResponse stream = await client.ReadResponseAsync();
        Assert.Equal(200, stream.Status);
        Assert.Contains(gw.Upstream.Requests, r => r.Method == "GET" && r.Header("Last-Event-ID") == "5");

        // The mixed answer is withheld and ends the stream (docs/mcp-handling.md, "Event streams"): a GET stream answers no
        // request, so no error event stands in for it, and nothing the upstream sent after it is relayed.
        List<string> events = EventData(stream.Body);
        string only = Assert.Single(events);
        using (JsonDocument list = JsonDocument.Parse(only))
            Assert.Equal(["a_read"], PolicyGateway.ToolNames(list.RootElement));
        Assert.DoesNotContain("delete_prompt", stream.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("call result", stream.Body, StringComparison.Ordinal);
        Assert.DoesNotContain("delete_all", stream.Body, StringComparison.Ordinal);
    }

    [Theory]
    // "Tools" is no list to the gateway, but the tools list to a Go client (member names matched ignoring case).
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"Tools\":[{\"name\":\"delete_all\"}]}}")]
    [InlineData("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[]},\"Result\":{\"tools\":[{\"name\":\"delete_all\"}]}}")]
    public async Task A_replayed_answer_whose_list_member_a_lenient_client_reads_is_withheld(string replayed)
    {
        await using var gw = await PolicyGateway.StartAsync(x => Replaying(x, replayed, PolicyGateway.ToolsListResult("4", "a_read", "delete_all")),
        [
            new RuleOptions { Name = "protocol", Action = "allow", Methods = ["initialize", "tools/list"] },
            new RuleOptions { Name = "team-a", Action = "allow", Methods = ["tools/call"], Names = ["a_*"] },
        ]);

        // Unreadable to the gateway: withheld, and a GET stream (no request id to answer with an error) ends there,
        // so the clean list after it is not relayed either (mcp-handling.md, "Event streams").
        List<string> events = await ReplayedEventsAsync(gw);
        Assert.Empty(events);
    }
}
