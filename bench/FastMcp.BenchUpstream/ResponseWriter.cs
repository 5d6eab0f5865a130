using System.Buffers;
using System.Buffers.Text;

namespace FastMcp.BenchUpstream;

/// <summary>Writes pre-encoded HTTP/1.1 response heads and bodies into a connection's output.</summary>
internal static class ResponseWriter
{
    private static ReadOnlySpan<byte> JsonHead => "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "u8;
    private static ReadOnlySpan<byte> SessionHeader => "\r\nMcp-Session-Id: bench-"u8;
    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;
    private static ReadOnlySpan<byte> SseHead =>
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"u8;
    private static ReadOnlySpan<byte> SseEventPrefix => "event: message\ndata: "u8;
    private static ReadOnlySpan<byte> SseEventSuffix => "\n\n\r\n"u8;
    private static ReadOnlySpan<byte> ChunkedEnd => "0\r\n\r\n"u8;

    public static ReadOnlySpan<byte> Accepted => "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"u8;
    public static ReadOnlySpan<byte> Deleted => "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"u8;
    public static ReadOnlySpan<byte> MethodNotAllowed => "HTTP/1.1 405 Method Not Allowed\r\nAllow: POST, DELETE\r\nContent-Length: 0\r\n\r\n"u8;
    public static ReadOnlySpan<byte> NotFound => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"u8;
    public static ReadOnlySpan<byte> BadRequest => "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8;
    public static ReadOnlySpan<byte> HeadTooLarge => "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8;
    public static ReadOnlySpan<byte> BodyTooLarge => "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8;

    public static void WriteRaw(IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes) => writer.Write(bytes);

    /// <summary>200 application/json; with a session id header when <paramref name="sessionId"/> is not negative.</summary>
    public static void WriteJson(IBufferWriter<byte> writer, BodyTemplate body, in TemplateValues values, long sessionId = -1)
    {
        var length = body.Length(values);
        var span = writer.GetSpan(JsonHead.Length + SessionHeader.Length + 16 + 12 + HeadEnd.Length);
        JsonHead.CopyTo(span);
        var written = JsonHead.Length;
        Utf8Formatter.TryFormat(length, span[written..], out var digits);
        written += digits;
        if (sessionId >= 0)
        {
            SessionHeader.CopyTo(span[written..]);
            written += SessionHeader.Length;
            Utf8Formatter.TryFormat(sessionId, span[written..], out digits, new StandardFormat('x', 16));
            written += digits;
        }

        HeadEnd.CopyTo(span[written..]);
        written += HeadEnd.Length;
        writer.Advance(written);
        body.WriteTo(writer, values);
    }

    public static void WriteSseHead(IBufferWriter<byte> writer) => writer.Write(SseHead);

    /// <summary>One SSE event carrying one JSON-RPC message, as one HTTP chunk.</summary>
    public static void WriteSseEvent(IBufferWriter<byte> writer, BodyTemplate message, in TemplateValues values)
    {
        var payload = SseEventPrefix.Length + message.Length(values) + 2;
        var span = writer.GetSpan(16);
        Utf8Formatter.TryFormat(payload, span, out var digits, new StandardFormat('x'));
        span[digits] = (byte)'\r';
        span[digits + 1] = (byte)'\n';
        writer.Advance(digits + 2);
        writer.Write(SseEventPrefix);
        message.WriteTo(writer, values);
        writer.Write(SseEventSuffix);
    }

    public static void WriteChunkedEnd(IBufferWriter<byte> writer) => writer.Write(ChunkedEnd);
}
