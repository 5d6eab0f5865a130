using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Proxy;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>The HTTP the stdio bridge writes: whole JSON answers, JSON-RPC errors, and chunked event streams.</summary>
internal static class BridgeResponses
{
    public static void Json(PipeWriter output, int status, ReadOnlySpan<byte> body, bool close, string extraHeaders = "") =>
        GatewayResponses.WriteSimple(output, status, "application/json"u8, body, close, Encoding.ASCII.GetBytes(extraHeaders));

    public static void Empty(PipeWriter output, int status, bool close, string extraHeaders = "") =>
        GatewayResponses.WriteSimple(output, status, default, default, close, Encoding.ASCII.GetBytes(extraHeaders));

    public static void Error(PipeWriter output, int status, string? idKey, int code, string message, bool close, string extraHeaders = "") =>
        Json(output, status, ErrorBody(idKey, code, message), close, extraHeaders);

    public static byte[] ErrorBody(string? idKey, int code, string message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("jsonrpc", "2.0");
            w.WritePropertyName("id");
            JsonRpcShape.WriteId(w, idKey);
            w.WriteStartObject("error");
            w.WriteNumber("code", code);
            w.WriteString("message", message);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static void EventStreamHead(PipeWriter output, string extraHeaders = "")
    {
        GatewayResponses.WriteStatusLine(output, 200);
        output.Write("Content-Type: text/event-stream\r\nCache-Control: no-store\r\nTransfer-Encoding: chunked\r\n"u8);
        output.Write(Encoding.ASCII.GetBytes(extraHeaders));
        output.Write("\r\n"u8);
    }

    /// <summary>One SSE event carrying one message, as one chunk.</summary>
    public static void Event(PipeWriter output, ReadOnlySpan<byte> json)
    {
        ReadOnlySpan<byte> start = "event: message\ndata: "u8;
        ReadOnlySpan<byte> end = "\n\n"u8;
        output.Write(Encoding.ASCII.GetBytes((start.Length + json.Length + end.Length).ToString("x", System.Globalization.CultureInfo.InvariantCulture)));
        output.Write("\r\n"u8);
        output.Write(start);
        output.Write(json);
        output.Write(end);
        output.Write("\r\n"u8);
    }

    public static void EndOfStream(PipeWriter output) => output.Write("0\r\n\r\n"u8);
}
