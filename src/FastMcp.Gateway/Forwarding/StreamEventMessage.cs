using System.Buffers;
using FastMcp.Gateway.Buffers;
using FastMcp.Http;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Forwarding;

/// <summary>What one server-sent event carries, as a client reads it.</summary>
internal enum StreamEventContent : byte
{
    /// <summary>No message: a comment, a retry or id-only event, a priming event with empty data. Relayed, not recorded.</summary>
    None,
    /// <summary>A JSON-RPC message McpResponseInspector reads: a request, notification, response, error or array.</summary>
    Message,
    /// <summary>Data a client would read, but not a readable JSON-RPC message: never relayed (a lenient client might act on it).</summary>
    Unreadable,
    /// <summary>Bytes that are not UTF-8 text (a NUL, invalid UTF-8: UTF-16 or worse): never relayed, and never recorded as they are.</summary>
    Undecodable,
}

/// <summary>
/// Reads the message of one event (its data lines joined with LF, as a client joins them) so that every event on a
/// stream is either recorded as the message it is or refused: nothing with data is relayed unread.
/// </summary>
internal static class StreamEventMessage
{
    /// <param name="joined">scratch for an event whose data spans several lines (rare); <paramref name="json"/> may point into it</param>
    public static StreamEventContent Read(ReadOnlyMemory<byte> evt, PooledBufferWriter joined, out ReadOnlyMemory<byte> json, out McpResponseView view)
    {
        view = default;
        json = default;
        // Read as UTF-8 by every stage while a client may decode it otherwise, or read a field after a mark the gateway does not skip.
        if (!Utf8Text.IsReadable(evt.Span)) return StreamEventContent.Undecodable;
        if (Utf8Text.StartsWithByteOrderMark(evt.Span)) return StreamEventContent.Unreadable;
        if (SseEvent.TryGetSingleData(evt.Span, out Range data))
        {
            json = evt[data];
        }
        else if (SseDataField.Count(evt.Span) == 0)
        {
            return StreamEventContent.None;
        }
        else
        {
            joined.Clear();
            SseDataField.Join(evt.Span, joined);
            json = joined.WrittenMemory;
        }
        if (json.Span.IndexOfAnyExcept(" \t\r\n"u8) < 0) return StreamEventContent.None;
        // The event was found UTF-8 text above; its data (a slice of it, or its data lines joined at ASCII bytes) is too.
        return McpResponseInspector.TryInspectValidUtf8(new ReadOnlySequence<byte>(json), out view) ? StreamEventContent.Message : StreamEventContent.Unreadable;
    }

    /// <summary>The event's data for a record of it (joined like <see cref="Read"/>); the whole event when it has none.</summary>
    public static ReadOnlyMemory<byte> Data(ReadOnlyMemory<byte> evt, PooledBufferWriter joined)
    {
        if (SseEvent.TryGetSingleData(evt.Span, out Range data)) return evt[data];
        if (SseDataField.Count(evt.Span) == 0) return evt;
        joined.Clear();
        SseDataField.Join(evt.Span, joined);
        return joined.WrittenMemory;
    }
}
