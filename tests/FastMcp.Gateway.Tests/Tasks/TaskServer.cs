using System.Collections.Concurrent;
using System.Text.Json;
using FastMcp.Gateway.Tests.Support;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>
/// An upstream that follows the tasks spec behind one credential: it cannot tell the gateway's callers apart, so its
/// task store is keyed by task id alone (what a sessionless 2026-07-28 server, or one keying tasks by the authorization
/// context, does). tools/call creates a task ("task-1", "task-2", …) whose result echoes the call's arguments;
/// tasks/get, tasks/result, tasks/cancel and tasks/update answer for any id it knows and -32602 otherwise; tasks/list
/// lists every task. Session-era calls (params.task) get <c>result.task</c>; stateless ones the flat 2026-07-28 shape.
/// tasks/result carries the related-task <c>_meta</c> the spec requires.
/// </summary>
internal sealed class TaskServer
{
    private readonly ConcurrentDictionary<string, string> _results = new(StringComparer.Ordinal);
    private int _created, _sessions;

    /// <summary>Answer task-creating calls on an event stream (the answer event) instead of a JSON body.</summary>
    public bool CreateOnEventStream { get; init; }

    /// <summary>
    /// Answer tasks/result on an event stream the test drives: a notifications/tasks/status event whose statusMessage is
    /// FIRST-MARK, then, once this is set, another (SECOND-MARK and a card number) and the answer event.
    /// </summary>
    public TaskCompletionSource? ResultHeld { get; init; }

    /// <summary>Answer tasks/get on an event stream: a notifications/tasks/status event for the task, then the answer event.</summary>
    public bool PollOnEventStream { get; init; }

    public Func<UpstreamExchange, Task> Script => async x =>
    {
        using JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes);
        JsonElement root = doc.RootElement;
        string id = root.GetProperty("id").GetRawText();
        string method = root.GetProperty("method").GetString()!;
        root.TryGetProperty("params", out JsonElement p);
        switch (method)
        {
            case "initialize":
                await x.RespondJsonAsync(Result(id, "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{\"tasks\":{}},\"serverInfo\":{\"name\":\"t\",\"version\":\"1\"}}"),
                    $"Mcp-Session-Id: s-{Interlocked.Increment(ref _sessions)}\r\n");
                return;
            case "tools/call":
            {
                string taskId = "task-" + Interlocked.Increment(ref _created);
                _results[taskId] = p.GetProperty("arguments").GetRawText();
                string answer = p.TryGetProperty("task", out _)
                    ? Result(id, "{\"task\":{\"taskId\":\"" + taskId + "\",\"status\":\"working\",\"createdAt\":\"2026-01-01T00:00:00Z\",\"ttl\":60000}}")
                    : Result(id, "{\"resultType\":\"task\",\"taskId\":\"" + taskId + "\",\"status\":\"working\"}");
                if (!CreateOnEventStream)
                {
                    await x.RespondJsonAsync(answer);
                    return;
                }
                await x.StartEventStreamAsync();
                await x.SendEventAsync("event: message\ndata: " + answer + "\n\n");
                await x.EndChunkedAsync();
                return;
            }
            case "tasks/list":
            {
                string entries = string.Join(",", _results.Keys.Order(StringComparer.Ordinal).Select(t => "{\"taskId\":\"" + t + "\",\"status\":\"completed\"}"));
                await x.RespondJsonAsync(Result(id, "{\"tasks\":[" + entries + "]}"));
                return;
            }
        }
        string named = p.GetProperty("taskId").GetString()!;
        if (!_results.TryGetValue(named, out string? arguments))
        {
            await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"error\":{\"code\":-32602,\"message\":\"Task not found\"}}");
            return;
        }
        string reply = method == "tasks/result"
            ? Result(id, "{\"content\":[{\"type\":\"text\",\"text\":" + JsonSerializer.Serialize(arguments) + "}],"
                + "\"_meta\":{\"io.modelcontextprotocol/related-task\":{\"taskId\":\"" + named + "\"}}}")
            : Result(id, "{\"taskId\":\"" + named + "\",\"status\":\"completed\",\"result\":{\"content\":[{\"type\":\"text\",\"text\":" + JsonSerializer.Serialize(arguments) + "}]}}");
        if (ResultHeld is not null && method == "tasks/result")
        {
            await x.StartEventStreamAsync();
            await x.SendEventAsync(StatusEvent(named, "FIRST-MARK"));
            await ResultHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await x.SendEventAsync(StatusEvent(named, "SECOND-MARK card 4111111111111111"));
            await x.SendEventAsync("event: message\ndata: " + reply + "\n\n");
            await x.EndChunkedAsync();
            return;
        }
        if (!(PollOnEventStream && method == "tasks/get"))
        {
            await x.RespondJsonAsync(reply);
            return;
        }
        await x.StartEventStreamAsync();
        await x.SendEventAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tasks/status\",\"params\":{\"taskId\":\"" + named + "\",\"status\":\"completed\"}}\n\n");
        await x.SendEventAsync("event: message\ndata: " + reply + "\n\n");
        await x.EndChunkedAsync();
    };

    private static string StatusEvent(string task, string message) =>
        "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tasks/status\",\"params\":{\"taskId\":\"" + task
        + "\",\"status\":\"working\",\"statusMessage\":\"" + message + "\"}}\n\n";

    private static string Result(string id, string result) => "{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":" + result + "}";
}
