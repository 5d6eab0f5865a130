using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tests.Stages;

/// <summary>
/// An upstream with an event store replays old answers on the session's GET stream (Last-Event-ID), where the gateway
/// saw no call: a list answer there is filtered by the shape of its result as any list is, or refused when it holds
/// several kinds of list (the stream then ends there); never relayed whole.
/// </summary>
public sealed class ReplayedListFilteringTests
{
    private const string Initialize =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""";

    /// <summary>Issues "s-1" on initialize; a GET replays the events after Last-Event-ID: a tools/list answer, a mixed one, a tools/call result, a notification.</summary>
    private static async Task ReplayingServer(UpstreamExchange x)
    {
        if (x.Request.Method == "POST")
        {
            using JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes);
            await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + doc.RootElement.GetProperty("id").GetRawText() + ",\"result\":{}}", "Mcp-Session-Id: s-1\r\n");
            return;
        }
        await x.StartEventStreamAsync();
        await x.SendEventAsync("id: 6\nevent: message\ndata: " + PolicyGateway.ToolsListResult("2", "a_read", "delete_all") + "\n\n");
        await x.SendEventAsync("id: 7\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"tools\":[],\"prompts\":[{\"name\":\"delete_prompt\"}]}}\n\n");
        await x.SendEventAsync("id: 8\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"call result\"}]}}\n\n");
        await x.SendEventAsync("id: 9\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n");
        await x.EndChunkedAsync();
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
        string session = (await gw.PostAsync(Initialize, alice)).Header("Mcp-Session-Id")!;

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
}
