using System.Buffers;
using System.Buffers.Text;

namespace FastMcp.Http;

/// <summary>Writes the chunked transfer coding around data the caller supplies.</summary>
public static class ChunkedWriter
{
    /// <summary>Writes one chunk: hex size, CRLF, data, CRLF. Empty data writes nothing (that would end the body).</summary>
    public static void WriteChunk(IBufferWriter<byte> output, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        WriteChunkHeader(output, data.Length);
        output.Write(data);
        output.Write("\r\n"u8);
    }

    public static void WriteChunk(IBufferWriter<byte> output, in ReadOnlySequence<byte> data)
    {
        if (data.IsEmpty) return;
        WriteChunkHeader(output, data.Length);
        foreach (ReadOnlyMemory<byte> m in data) output.Write(m.Span);
        output.Write("\r\n"u8);
    }

    public static void WriteChunkHeader(IBufferWriter<byte> output, long length)
    {
        Span<byte> span = output.GetSpan(18);
        Utf8Formatter.TryFormat(length, span, out int written, new StandardFormat('x'));
        span[written++] = (byte)'\r';
        span[written++] = (byte)'\n';
        output.Advance(written);
    }

    /// <summary>The last chunk with no trailers.</summary>
    public static void WriteTerminator(IBufferWriter<byte> output) => output.Write("0\r\n\r\n"u8);
}
