using System.Buffers;
using System.Text;
using System.Text.Json;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>Upstream behaviours many tests share.</summary>
internal static class UpstreamScripts
{
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
