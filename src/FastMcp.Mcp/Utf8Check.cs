using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace FastMcp.Mcp;

/// <summary>
/// Whole-body UTF-8 validation. Utf8JsonReader does not validate string contents, and peers disagree on what
/// invalid bytes mean (a Node upstream turns them into U+FFFD), so the gateway refuses them outright: the text
/// it decides on is then the text the upstream reads. Vectorised, and a character split across segments is
/// carried in a 4-byte stack buffer.
/// </summary>
internal static class Utf8Check
{
    internal static bool IsValid(in ReadOnlySequence<byte> body)
    {
        if (body.IsSingleSegment)
        {
            return Utf8.IsValid(body.FirstSpan);
        }
        Span<byte> pending = stackalloc byte[4];
        int pendingLength = 0;
        foreach (ReadOnlyMemory<byte> segment in body)
        {
            ReadOnlySpan<byte> span = segment.Span;
            while (pendingLength > 0 && !span.IsEmpty)
            {
                pending[pendingLength++] = span[0];
                span = span[1..];
                OperationStatus status = Rune.DecodeFromUtf8(pending[..pendingLength], out _, out int consumed);
                if (status == OperationStatus.Done && consumed == pendingLength)
                {
                    pendingLength = 0;
                }
                else if (status != OperationStatus.NeedMoreData || pendingLength == 4)
                {
                    return false;
                }
            }
            if (span.IsEmpty)
            {
                continue;
            }
            int tail = IncompleteTailStart(span);
            if (!Utf8.IsValid(span[..tail]))
            {
                return false;
            }
            span[tail..].CopyTo(pending);
            pendingLength = span.Length - tail;
        }
        return pendingLength == 0;
    }

    /// <summary>Where a multi-byte character that the span cuts off begins; the span's length when none is cut.</summary>
    private static int IncompleteTailStart(ReadOnlySpan<byte> span)
    {
        for (int i = span.Length - 1; i >= Math.Max(0, span.Length - 3); i--)
        {
            byte b = span[i];
            if ((b & 0xC0) == 0x80)
            {
                continue;
            }
            if (b < 0xC0)
            {
                return span.Length;
            }
            int needed = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
            return span.Length - i < needed ? i : span.Length;
        }
        return span.Length;
    }
}
