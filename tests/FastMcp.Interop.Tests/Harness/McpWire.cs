using System.Text.Json.Nodes;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>One raw request and its whole response.</summary>
internal sealed record RawExchange(RawHttpResponseHead Head, string Body)
{
    public int Status => Head.Status;

    /// <summary>The JSON-RPC messages of the body: the data of each SSE event, or the JSON body.</summary>
    public IReadOnlyList<JsonObject> Messages()
    {
        var messages = new List<JsonObject>();
        if (Head.IsEventStream)
        {
            using var reader = new SseReader(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(Body)));
            while (reader.ReadEventAsync(CancellationToken.None).GetAwaiter().GetResult() is { } e)
            {
                if (e.Data.Length > 0 && JsonNode.Parse(e.Data) is JsonObject message)
                {
                    messages.Add(message);
                }
            }
        }
        else if (Body.Length > 0 && JsonNode.Parse(Body) is JsonObject single)
        {
            messages.Add(single);
        }
        return messages;
    }
}

/// <summary>Hand-written MCP Streamable HTTP exchanges (session era, 2025-11-25) over raw sockets.</summary>
internal static class McpWire
{
    public const string ProtocolVersion = "2025-11-25";

    public static readonly TimeSpan ExchangeTimeout = TimeSpan.FromSeconds(20);

    public static string InitializeBody(int id) =>
        $$$$"""{"jsonrpc":"2.0","id":{{{{id}}}},"method":"initialize","params":{"protocolVersion":"{{{{ProtocolVersion}}}}","capabilities":{},"clientInfo":{"name":"fastmcp-interop-raw","version":"1.0.0"}}}""";

    public const string InitializedNotification = """{"jsonrpc":"2.0","method":"notifications/initialized"}""";

    public static List<KeyValuePair<string, string>> Headers(string? sessionId, params (string Name, string Value)[] extra)
    {
        var headers = new List<KeyValuePair<string, string>>
        {
            new("Content-Type", "application/json"),
            new("Accept", "application/json, text/event-stream"),
        };
        if (sessionId is not null)
        {
            headers.Add(new("Mcp-Session-Id", sessionId));
            headers.Add(new("MCP-Protocol-Version", ProtocolVersion));
        }
        foreach (var (name, value) in extra)
        {
            headers.Add(new(name, value));
        }
        return headers;
    }

    /// <summary>Sends one request on a fresh connection and reads the whole response.</summary>
    public static async Task<RawExchange> ExchangeAsync(
        Uri url, string method, IEnumerable<KeyValuePair<string, string>> headers, string? body)
    {
        using var cts = new CancellationTokenSource(ExchangeTimeout);
        await using var connection = await RawHttpConnection.ConnectAsync(url, cts.Token);
        await connection.SendAsync(method, url.PathAndQuery, headers, body, cts.Token);
        var head = await connection.ReadResponseHeadAsync(cts.Token);
        var text = await connection.ReadBodyToEndAsync(head, method, cts.Token);
        return new RawExchange(head, text);
    }

    public static Task<RawExchange> PostAsync(Uri mcpUrl, string? sessionId, string body, params (string Name, string Value)[] extra) =>
        ExchangeAsync(mcpUrl, "POST", Headers(sessionId, extra), body);

    /// <summary>initialize + notifications/initialized; returns the session id the server issued.</summary>
    public static async Task<string> OpenSessionAsync(Uri mcpUrl)
    {
        var initialize = await PostAsync(mcpUrl, null, InitializeBody(1));
        if (initialize.Status != 200)
        {
            throw new InvalidOperationException($"initialize answered {initialize.Status}: {initialize.Body}");
        }
        var sessionId = initialize.Head.Header("Mcp-Session-Id")
            ?? throw new InvalidOperationException("initialize answer carries no Mcp-Session-Id");
        var initialized = await PostAsync(mcpUrl, sessionId, InitializedNotification);
        if (initialized.Status != 202)
        {
            throw new InvalidOperationException($"notifications/initialized answered {initialized.Status}");
        }
        return sessionId;
    }

    public static string ToolCallBody(int id, string tool, string argumentsJson, string? progressToken = null)
    {
        var meta = progressToken is null ? "" : $$$""","_meta":{"progressToken":"{{{progressToken}}}"}""";
        return $$$"""{"jsonrpc":"2.0","id":{{{id}}},"method":"tools/call","params":{"name":"{{{tool}}}","arguments":{{{argumentsJson}}}{{{meta}}}}}""";
    }
}
