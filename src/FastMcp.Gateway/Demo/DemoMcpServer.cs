using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Hosting;
using FastMcp.Http;
using HttpMethod = FastMcp.Http.HttpMethod;

namespace FastMcp.Gateway.Demo;

/// <summary>
/// The built-in MCP server `fastmcp serve` stands in front of when no upstream is configured, so a
/// fresh machine has something to call. Its lookup_customer tool returns the card networks'
/// public test numbers, which gives masking something to show.
/// </summary>
internal sealed class DemoMcpServer : IDisposable
{
    public const string ServerName = "fastmcp-demo";
    private static readonly string[] SessionEraVersions = ["2025-11-25", "2025-06-18", "2025-03-26"];
    private readonly LocalHttpServer _server;

    public DemoMcpServer(IPEndPoint endpoint) => _server = new LocalHttpServer(endpoint, Handle);

    public string Url => $"http://{Configuration.ListenAddress.ToUrlAuthority(_server.LocalEndPoint)}/mcp";

    private static LocalResponse Handle(HttpRequestHead request, ReadOnlyMemory<byte> body)
    {
        if (!request.Path.SequenceEqual("/mcp"u8)) return Json(404, ErrorBody(null, -32600, "not found"));
        switch (request.Method)
        {
            case HttpMethod.Delete: return new LocalResponse(200, "application/json", []);
            case HttpMethod.Get: return new LocalResponse(405, "application/json", [], "Allow: POST, DELETE\r\n");
            case HttpMethod.Post: break;
            default: return new LocalResponse(405, "application/json", [], "Allow: POST, DELETE\r\n");
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return Json(400, ErrorBody(null, -32700, "parse error"));
        }
        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("method", out JsonElement methodEl) || methodEl.ValueKind != JsonValueKind.String)
                return new LocalResponse(202, "application/json", []); // responses and odd messages: accepted, nothing to say
            string method = methodEl.GetString()!;
            if (!root.TryGetProperty("id", out JsonElement id)) return new LocalResponse(202, "application/json", []); // notification
            root.TryGetProperty("params", out JsonElement p);
            bool acceptsSse = HttpTokens.ListContains(request.Headers.Get(KnownHeader.Accept), "text/event-stream"u8);
            return method switch
            {
                "initialize" => Initialize(id, p),
                "ping" => Json(200, Result(id, w => { })),
                "tools/list" => Json(200, Result(id, WriteTools)),
                "tools/call" => CallTool(id, p, acceptsSse),
                _ => Json(200, ErrorBody(id, -32601, $"method not found: {method}")),
            };
        }
    }

    private static LocalResponse Initialize(JsonElement id, JsonElement p)
    {
        string version = SessionEraVersions[0];
        if (p.ValueKind == JsonValueKind.Object && p.TryGetProperty("protocolVersion", out JsonElement v) && v.ValueKind == JsonValueKind.String
            && Array.IndexOf(SessionEraVersions, v.GetString()) >= 0)
            version = v.GetString()!;
        byte[] body = Result(id, w =>
        {
            w.WriteString("protocolVersion", version);
            w.WriteStartObject("capabilities");
            w.WriteStartObject("tools");
            w.WriteBoolean("listChanged", false);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("serverInfo");
            w.WriteString("name", ServerName);
            w.WriteString("version", "1.0.0");
            w.WriteEndObject();
            w.WriteString("instructions", "Demo server behind FastMcp. Try tools/call lookup_customer to see card numbers masked.");
        });
        string session = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        return new LocalResponse(200, "application/json", body, $"Mcp-Session-Id: {session}\r\n");
    }

    private static void WriteTools(Utf8JsonWriter w)
    {
        w.WriteStartArray("tools");
        Tool(w, "echo", "Returns the message it is given.", ("message", "string"));
        Tool(w, "add", "Adds two numbers.", ("a", "number"), ("b", "number"));
        Tool(w, "lookup_customer", "Returns a customer record, including the card on file (public test numbers).", ("customer_id", "string"));
        Tool(w, "count_down", "Counts down from n, reporting progress over SSE when the client accepts it.", ("n", "number"));
        w.WriteEndArray();
    }

    private static void Tool(Utf8JsonWriter w, string name, string description, params (string Name, string Type)[] args)
    {
        w.WriteStartObject();
        w.WriteString("name", name);
        w.WriteString("description", description);
        w.WriteStartObject("inputSchema");
        w.WriteString("type", "object");
        w.WriteStartObject("properties");
        foreach ((string n, string t) in args)
        {
            w.WriteStartObject(n);
            w.WriteString("type", t);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteStartArray("required");
        foreach ((string n, _) in args) w.WriteStringValue(n);
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static LocalResponse CallTool(JsonElement id, JsonElement p, bool acceptsSse)
    {
        if (p.ValueKind != JsonValueKind.Object || !p.TryGetProperty("name", out JsonElement nameEl) || nameEl.ValueKind != JsonValueKind.String)
            return Json(200, ErrorBody(id, -32602, "tools/call needs params.name"));
        p.TryGetProperty("arguments", out JsonElement args);
        string name = nameEl.GetString()!;
        switch (name)
        {
            case "echo":
                return Json(200, TextResult(id, Arg(args, "message")?.ToString() ?? ""));
            case "add":
                {
                    double a = NumberArg(args, "a"), b = NumberArg(args, "b");
                    return Json(200, TextResult(id, (a + b).ToString(System.Globalization.CultureInfo.InvariantCulture)));
                }
            case "lookup_customer":
                {
                    string customer = Arg(args, "customer_id")?.ToString() ?? "c-1001";
                    string text = $"Customer {customer}: Ada Lovelace, Visa 4111 1111 1111 1111 (exp 12/29), "
                        + "backup Mastercard 5555-5555-5555-4444, last order 2026-11-01T10:15:00Z, epoch 1764000000000.";
                    return Json(200, TextResult(id, text));
                }
            case "count_down":
                {
                    int n = Math.Clamp((int)NumberArg(args, "n"), 0, 20);
                    JsonElement token = default;
                    bool hasToken = p.TryGetProperty("_meta", out JsonElement meta) && meta.ValueKind == JsonValueKind.Object
                        && meta.TryGetProperty("progressToken", out token);
                    if (!acceptsSse || !hasToken) return Json(200, TextResult(id, "lift-off"));
                    var sse = new StringBuilder();
                    for (int i = 1; i <= n; i++)
                    {
                        sse.Append("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":")
                            .Append(token.GetRawText()).Append(",\"progress\":").Append(i).Append(",\"total\":").Append(n)
                            .Append(",\"message\":\"").Append(n - i).Append(" to go\"}}\n\n");
                    }
                    sse.Append("event: message\ndata: ").Append(Encoding.UTF8.GetString(TextResult(id, "lift-off"))).Append("\n\n");
                    return new LocalResponse(200, "text/event-stream", Encoding.UTF8.GetBytes(sse.ToString()));
                }
            default:
                return Json(200, ErrorBody(id, -32602, $"unknown tool: {name}"));
        }
    }

    private static JsonElement? Arg(JsonElement args, string name) =>
        args.ValueKind == JsonValueKind.Object && args.TryGetProperty(name, out JsonElement v) ? v : null;

    private static double NumberArg(JsonElement args, string name) =>
        Arg(args, name) is { ValueKind: JsonValueKind.Number } v ? v.GetDouble() : 0;

    private static byte[] TextResult(JsonElement id, string text) => Result(id, w =>
    {
        w.WriteStartArray("content");
        w.WriteStartObject();
        w.WriteString("type", "text");
        w.WriteString("text", text);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteBoolean("isError", false);
    });

    private static byte[] Result(JsonElement id, Action<Utf8JsonWriter> writeResult)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("jsonrpc", "2.0");
            w.WritePropertyName("id");
            id.WriteTo(w);
            w.WriteStartObject("result");
            writeResult(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] ErrorBody(JsonElement? id, int code, string message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("jsonrpc", "2.0");
            w.WritePropertyName("id");
            if (id is { } value) value.WriteTo(w); else w.WriteNullValue();
            w.WriteStartObject("error");
            w.WriteNumber("code", code);
            w.WriteString("message", message);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static LocalResponse Json(int status, byte[] body) => new(status, "application/json", body);

    public void Dispose() => _server.Dispose();
}
