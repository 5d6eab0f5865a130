using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using FastMcp.Gateway.Buffers;
using FastMcp.Http;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// Responses the gateway itself answers with (rejections, policy errors, upstream failures). MCP
/// clients read JSON-RPC errors, so every such response carries one, with the request's id when
/// the request had one.
/// </summary>
internal static class GatewayResponses
{
    /// <summary>Writes a complete response whose body is a JSON-RPC error; the caller flushes.</summary>
    public static void WriteJsonRpcError(PipeWriter output, PooledBufferWriter scratch, int status, in ReadOnlySequence<byte> body, Range idRange,
        int code, ReadOnlySpan<byte> message, bool close, ReadOnlySpan<byte> extraHeaders = default, ReadOnlySpan<byte> dataJson = default)
    {
        scratch.Clear();
        JsonRpcErrorWriter.Write(scratch, body, idRange, code, message, dataJson);
        WriteHead(output, status, "application/json"u8, scratch.WrittenCount, close, extraHeaders);
        output.Write(scratch.WrittenSpan);
    }

    /// <summary>An error for a request whose id is unknown (unparsed or absent): id is null.</summary>
    public static void WriteJsonRpcError(PipeWriter output, PooledBufferWriter scratch, int status, int code, ReadOnlySpan<byte> message, bool close,
        ReadOnlySpan<byte> extraHeaders = default)
    {
        scratch.Clear();
        JsonRpcErrorWriter.Write(scratch, default, code, message);
        WriteHead(output, status, "application/json"u8, scratch.WrittenCount, close, extraHeaders);
        output.Write(scratch.WrittenSpan);
    }

    /// <summary>A response with a fixed body (health endpoints, metadata documents).</summary>
    public static void WriteSimple(PipeWriter output, int status, ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> body, bool close, ReadOnlySpan<byte> extraHeaders = default)
    {
        WriteHead(output, status, contentType, body.Length, close, extraHeaders);
        output.Write(body);
    }

    public static void WriteHead(PipeWriter output, int status, ReadOnlySpan<byte> contentType, long contentLength, bool close, ReadOnlySpan<byte> extraHeaders)
    {
        WriteStatusLine(output, status);
        if (!contentType.IsEmpty)
        {
            output.Write("Content-Type: "u8);
            output.Write(contentType);
            output.Write("\r\n"u8);
        }
        output.Write("Content-Length: "u8);
        WriteNumber(output, contentLength);
        output.Write("\r\n"u8);
        output.Write("Cache-Control: no-store\r\n"u8);
        if (close) output.Write("Connection: close\r\n"u8);
        output.Write(extraHeaders);
        output.Write("\r\n"u8);
    }

    public static void WriteStatusLine(IBufferWriter<byte> output, int status)
    {
        output.Write("HTTP/1.1 "u8);
        WriteNumber(output, status);
        output.Write(" "u8);
        WriteAscii(output, HttpRejectReasonExtensions.ReasonPhrase(status));
        output.Write("\r\n"u8);
    }

    public static void WriteNumber(IBufferWriter<byte> output, long value)
    {
        Span<byte> span = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out int written);
        output.Advance(written);
    }

    private static void WriteAscii(IBufferWriter<byte> output, string text)
    {
        Span<byte> span = output.GetSpan(text.Length);
        for (int i = 0; i < text.Length; i++) span[i] = (byte)text[i];
        output.Advance(text.Length);
    }
}
