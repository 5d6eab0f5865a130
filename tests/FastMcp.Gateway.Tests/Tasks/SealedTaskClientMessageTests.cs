using System.Text.Json;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tests.Tasks;

/// <summary>
/// With tasks.sealed, a client message other than a tasks request may name a task too: the related-task _meta of its
/// answer to a server request made for a task (elicitation or sampling during a task, 2025-11-25), or of any request or
/// notification. The upstream must get its own task id there, or it cannot match the message to its task; an id that
/// is not sealed for the caller and upstream is refused as a foreign task, never forwarded.
/// </summary>
public sealed class SealedTaskClientMessageTests : IDisposable
{
    private readonly SealedReplicas _replicas = new();

    public void Dispose() => _replicas.Dispose();

    private static string Related(string taskId) => "\"_meta\":{\"io.modelcontextprotocol/related-task\":{\"taskId\":\"" + taskId + "\"}}";

    /// <summary>The client's messages naming a task, by kind: an answer to an elicitation, a notification, a request.</summary>
    private static string Message(string kind, string taskId) => kind switch
    {
        "answer" => "{\"jsonrpc\":\"2.0\",\"id\":\"elicit-1\",\"result\":{\"action\":\"accept\",\"content\":{\"ok\":true}," + Related(taskId) + "}}",
        "notification" => "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"r\",\"progress\":1," + Related(taskId) + "}}",
        _ => "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\",\"params\":{" + Related(taskId) + "}}",
    };

    /// <summary>The task server, taking the client's answers and notifications (202) and pings.</summary>
    private static Func<UpstreamExchange, Task> Script(TaskServer tasks) => async x =>
    {
        using (JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes))
        {
            JsonElement root = doc.RootElement;
            if (!root.TryGetProperty("method", out JsonElement method) || !root.TryGetProperty("id", out _))
            {
                await x.RespondAsync(202, "", "");
                return;
            }
            if (method.GetString() == "ping")
            {
                await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}");
                return;
            }
        }
        await tasks.Script(x);
    };

    private static int RelatedTaskMessages(ScriptedUpstream upstream) =>
        upstream.Requests.Count(r => r.Body.Contains("related-task", StringComparison.Ordinal));

    private static Task<RawResponse> SendAsync(PolicyGateway gw, string token, string session, string json) =>
        gw.PostAsync(json, token, $"Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n");

    [Theory]
    [InlineData("answer")]
    [InlineData("notification")]
    [InlineData("request")]
    public async Task A_sealed_task_id_in_a_client_message_reaches_the_upstream_as_its_own_id_through_any_replica(string kind)
    {
        var tasks = new TaskServer();
        string alice = _replicas.Token("alice");
        await using PolicyGateway a = await _replicas.StartAsync(Script(tasks));
        await using PolicyGateway b = await _replicas.StartAsync(Script(tasks));
        string sealedId = await SealedReplicas.CreateTaskAsync(a, alice);
        string session = await SealedReplicas.InitializeAsync(b, alice);

        RawResponse response = await SendAsync(b, alice, session, Message(kind, sealedId));

        Assert.Equal(kind == "request" ? 200 : 202, response.Status);
        UpstreamRequest forwarded = Assert.Single(b.Upstream.Requests, r => r.Body.Contains("related-task", StringComparison.Ordinal));
        Assert.Equal(Message(kind, "task-1"), forwarded.Body);
        Assert.Equal(forwarded.BodyBytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), forwarded.Header("Content-Length"));

        // The record keeps the client's message as sent, with the sealed id.
        string[] records = await b.StopAndReadAuditAsync();
        Assert.Contains(records, r => r.Contains(sealedId, StringComparison.Ordinal) && r.Contains("\"McpExchange\"", StringComparison.Ordinal));
        Assert.DoesNotContain(records, r => r.Contains("task-1", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("answer", "mallory")]
    [InlineData("answer", "raw")]
    [InlineData("answer", "forged")]
    [InlineData("notification", "mallory")]
    [InlineData("notification", "raw")]
    [InlineData("request", "mallory")]
    [InlineData("request", "forged")]
    public async Task A_client_message_naming_a_task_not_sealed_for_the_caller_is_refused_as_an_unknown_task_and_never_forwarded(string kind, string presented)
    {
        var tasks = new TaskServer();
        string alice = _replicas.Token("alice"), mallory = _replicas.Token("mallory");
        await using PolicyGateway a = await _replicas.StartAsync(Script(tasks));
        string sealedId = await SealedReplicas.CreateTaskAsync(a, alice);
        char flipped = sealedId[8] == 'A' ? 'B' : 'A';
        (string caller, string taskId) = presented switch
        {
            "mallory" => (mallory, sealedId),
            "raw" => (alice, "task-1"),
            _ => (alice, sealedId[..8] + flipped + sealedId[9..]),
        };
        string session = await SealedReplicas.InitializeAsync(a, caller);

        RawResponse response = await SendAsync(a, caller, session, Message(kind, taskId));

        Assert.Equal(kind == "request" ? 200 : 403, response.Status);
        Assert.Equal(JsonRpcErrorCodes.InvalidParams, response.JsonRpcError().Code);
        Assert.Contains("Task not found", response.Body, StringComparison.Ordinal);
        Assert.Equal(0, RelatedTaskMessages(a.Upstream));
        string[] records = await a.StopAndReadAuditAsync();
        JsonElement denied = Assert.Single(records.Select(r => JsonDocument.Parse(r).RootElement.Clone()), r => r.GetProperty("type").GetString() == "Denied");
        Assert.Equal("(task-not-yours)", denied.GetProperty("rule").GetString());
        Assert.Contains("not sealed for this caller", denied.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
