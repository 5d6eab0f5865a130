using System.Text.Json;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>
/// With tasks.sealed and two replicas, a task created through replica B has its status notifications (and messages
/// relating themselves to it) sent on streams replica A holds. A cannot vouch that the task is the caller's, so it
/// withholds such a notification, and the stream goes on: the client's other events are not lost to a reconnect.
/// </summary>
public sealed class SealedTaskStreamTests : IDisposable
{
    private readonly SealedReplicas _replicas = new();

    public void Dispose() => _replicas.Dispose();

    private const string Status = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tasks/status\",\"params\":{\"taskId\":\"task-1\",\"status\":\"working\"}}";

    private const string RelatedProgress = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"p\",\"progress\":1,"
        + "\"_meta\":{\"io.modelcontextprotocol/related-task\":{\"taskId\":\"task-1\"}}}}";

    private static string Log(string text) => "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"" + text + "\"}}";

    /// <summary>
    /// The task server behind both replicas; besides, a GET stream (and a tools/call of "watch") carrying the status of
    /// task-1, a related-task progress, a log "first", then, once <paramref name="release"/> is set, a log "second".
    /// </summary>
    private static Func<UpstreamExchange, Task> Script(TaskServer tasks, TaskCompletionSource release) => async x =>
    {
        bool get = x.Request.Method == "GET";
        if (!get && !x.Request.Body.Contains("\"watch\"", StringComparison.Ordinal))
        {
            await tasks.Script(x);
            return;
        }
        await x.StartEventStreamAsync();
        foreach (string message in new[] { Status, RelatedProgress, Log("first") }) await x.SendEventAsync("event: message\ndata: " + message + "\n\n");
        await release.Task.WaitAsync(TimeSpan.FromSeconds(20), x.Stopping);
        await x.SendEventAsync("event: message\ndata: " + Log("second") + "\n\n");
        if (!get) await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{\"content\":[]}}\n\n");
        await x.EndChunkedAsync();
    };

    /// <summary>Chunks until one holds <paramref name="text"/> (what came before it included), or the stream ends (null).</summary>
    private static async Task<string?> ReadUntilAsync(RawClient client, string text)
    {
        var seen = new System.Text.StringBuilder();
        for (int i = 0; i < 20; i++)
        {
            string? chunk = await client.ReadChunkAsync("an event holding " + text);
            if (chunk is null) return null;
            seen.Append(chunk);
            if (seen.ToString().Contains(text, StringComparison.Ordinal)) return seen.ToString();
        }
        return null;
    }

    private static void AssertWithheldRecords(string[] records)
    {
        JsonElement[] denied = [.. records.Select(r => JsonDocument.Parse(r).RootElement.Clone())
            .Where(r => r.GetProperty("type").GetString() == "Denied")];
        Assert.Equal(2, denied.Length);
        Assert.Equal(["notifications/tasks/status", "notifications/progress"], denied.Select(r => r.GetProperty("component").GetProperty("method").GetString()));
        Assert.All(denied, r =>
        {
            Assert.Equal("(task-not-yours)", r.GetProperty("rule").GetString());
            Assert.Equal("serverToClient", r.GetProperty("direction").GetString());
            Assert.Equal("alice", r.GetProperty("user").GetProperty("subject").GetString());
            Assert.Contains("the stream goes on", r.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.False(r.TryGetProperty("jsonrpcId", out _));
        });
    }

    [Fact]
    public async Task On_a_get_stream_a_notification_for_a_task_bound_on_another_replica_is_withheld_and_the_stream_goes_on()
    {
        var tasks = new TaskServer();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string alice = _replicas.Token("alice");
        await using PolicyGateway a = await _replicas.StartAsync(Script(tasks, release));
        await using PolicyGateway b = await _replicas.StartAsync(Script(tasks, release));
        await SealedReplicas.CreateTaskAsync(b, alice);
        string session = await SealedReplicas.InitializeAsync(a, alice);

        using RawClient client = await a.Gateway.ConnectAsync();
        await client.SendAsync($"GET /mcp HTTP/1.1\r\nHost: {a.Gateway.Authority}\r\nAccept: text/event-stream\r\nAuthorization: Bearer {alice}\r\n"
            + $"Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n\r\n");
        (_, int status) = await client.ReadHeadAsync();
        Assert.Equal(200, status);
        string? before = await ReadUntilAsync(client, "first");
        release.SetResult();
        string? after = await ReadUntilAsync(client, "second");

        Assert.NotNull(before);
        Assert.NotNull(after);
        Assert.DoesNotContain("task-1", before + after, StringComparison.Ordinal);
        Assert.DoesNotContain("tasks/status", before + after, StringComparison.Ordinal);
        Assert.DoesNotContain("notifications/progress", before + after, StringComparison.Ordinal);
        Assert.DoesNotContain("withheld", before + after, StringComparison.Ordinal);
        Assert.Null(await client.ReadChunkAsync("the end of the stream"));
        AssertWithheldRecords(await a.StopAndReadAuditAsync());
    }

    [Fact]
    public async Task On_a_request_stream_a_notification_for_a_task_bound_on_another_replica_is_withheld_and_the_call_gets_its_answer()
    {
        var tasks = new TaskServer();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        release.SetResult();
        string alice = _replicas.Token("alice");
        await using PolicyGateway a = await _replicas.StartAsync(Script(tasks, release));
        await using PolicyGateway b = await _replicas.StartAsync(Script(tasks, release));
        await SealedReplicas.CreateTaskAsync(b, alice);

        RawResponse response = await a.PostAsync(
            "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"watch\",\"arguments\":{},\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"}}}",
            alice, "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: watch\r\n");

        Assert.Equal(200, response.Status);
        List<string> events = EventStreamText.EventData(response.Body);
        Assert.Equal(3, events.Count);
        Assert.Contains("\"first\"", events[0], StringComparison.Ordinal);
        Assert.Contains("\"second\"", events[1], StringComparison.Ordinal);
        using (JsonDocument answer = JsonDocument.Parse(events[2]))
        {
            Assert.Equal(7, answer.RootElement.GetProperty("id").GetInt32());
            Assert.True(answer.RootElement.TryGetProperty("result", out _));
        }
        Assert.DoesNotContain("task-1", response.Body, StringComparison.Ordinal);
        AssertWithheldRecords(await a.StopAndReadAuditAsync());
    }
}
