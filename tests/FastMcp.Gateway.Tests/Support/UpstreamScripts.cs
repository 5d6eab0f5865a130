using System.Buffers;
using System.Text;
using System.Text.Json;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>Upstream behaviours many tests share.</summary>
internal static class UpstreamScripts
{
    /// <summary>
    /// An upstream with sessions: issues "s-1", "s-2", … on initialize and answers other POSTs with an empty result, GET
    /// with 405, and DELETE as <paramref name="delete"/> says (200 when null).
    /// </summary>
    public static Func<UpstreamExchange, Task> IssuingSessions(Func<UpstreamExchange, Task>? delete = null)
    {
        int issued = 0;
        return async x =>
        {
            if (x.Request.Method == "DELETE")
            {
                await (delete is null ? x.RespondAsync(200, "", "") : delete(x));
                return;
            }
            if (x.Request.Method == "GET")
            {
                await x.RespondAsync(405, "", "");
                return;
            }
            using JsonDocument doc = JsonDocument.Parse(x.Request.BodyBytes);
            string id = doc.RootElement.GetProperty("id").GetRawText();
            string session = doc.RootElement.GetProperty("method").GetString() == "initialize"
                ? $"Mcp-Session-Id: s-{Interlocked.Increment(ref issued)}\r\n"
                : "";
            await x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + id + ",\"result\":{}}", session);
        };
    }

    /// <summary>One session "s-1": issued on initialize (every POST gets an empty result), an empty event stream for a GET, 200 for a DELETE.</summary>
    public static Task OneSessionWithStream(UpstreamExchange x) => x.Request.Method switch
    {
        "GET" => EmptyStreamAsync(x),
        "DELETE" => x.RespondAsync(200, "", "", "Mcp-Session-Id: s-1\r\n"),
        _ => x.RespondJsonAsync("{\"jsonrpc\":\"2.0\",\"id\":" + x.Request.IdJson() + ",\"result\":{}}", "Mcp-Session-Id: s-1\r\n"),
    };

    private static async Task EmptyStreamAsync(UpstreamExchange x)
    {
        await x.StartEventStreamAsync();
        await x.EndChunkedAsync();
    }

    /// <summary>
    /// Answers every request with a JSON-RPC result that echoes what the upstream saw: the request's
    /// id, its method and target, the raw head and the body.
    /// </summary>
    public static Task Echo(UpstreamExchange x) => x.RespondJsonAsync(EchoJson(x.Request));

    /// <summary>Like <see cref="Echo"/>, with a chunked response body in two chunks.</summary>
    public static async Task EchoChunked(UpstreamExchange x)
    {
        string json = EchoJson(x.Request);
        int half = json.Length / 2;
        await x.SendAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
        await x.SendChunkAsync(json[..half]);
        await x.SendChunkAsync(json[half..]);
        await x.EndChunkedAsync();
    }

    public static string EchoJson(UpstreamRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("jsonrpc", "2.0");
            w.WritePropertyName("id");
            w.WriteRawValue(request.IdJson());
            w.WriteStartObject("result");
            w.WriteString("method", request.Method);
            w.WriteString("target", request.Target);
            w.WriteString("head", request.Head.Raw);
            w.WriteString("body", request.Body);
            w.WriteNumber("connection", request.ConnectionNumber);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
