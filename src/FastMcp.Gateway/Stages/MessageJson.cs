using System.Buffers;
using FastMcp.Gateway.Buffers;
using FastMcp.Http;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// The JSON-RPC message a response transform sees: a JSON body as it is, or the data of one event (its data lines
/// joined with LF, as clients join them), and the way back into the message after a rewrite.
/// </summary>
internal static class MessageJson
{
    /// <summary>The message's JSON; empty for events without data (comments, retry, priming events) and blank bodies.</summary>
    public static ReadOnlyMemory<byte> Of(PooledBufferWriter message, bool isEvent, TransformBuffers buffers)
    {
        ReadOnlyMemory<byte> json = message.WrittenMemory;
        if (isEvent)
        {
            int dataLines = SseDataField.Count(message.WrittenSpan);
            if (dataLines == 0) return default;
            if (dataLines == 1 && SseEvent.TryGetSingleData(message.WrittenSpan, out Range data))
            {
                json = message.WrittenMemory[data];
            }
            else
            {
                buffers.Json.Clear();
                SseDataField.Join(message.WrittenSpan, buffers.Json);
                json = buffers.Json.WrittenMemory;
            }
        }
        return json.Span.IndexOfAnyExcept(" \t\r\n"u8) < 0 ? default : json;
    }

    /// <summary>Puts the rewritten JSON in <see cref="TransformBuffers.Output"/> back into the message (an event keeps its other fields).</summary>
    public static void Replace(PooledBufferWriter message, bool isEvent, TransformBuffers buffers)
    {
        if (isEvent)
        {
            buffers.Json.Clear();
            SseDataField.ReplaceData(message.WrittenSpan, buffers.Output.WrittenSpan, buffers.Json);
            message.Clear();
            message.Write(buffers.Json.WrittenSpan);
        }
        else
        {
            message.Clear();
            message.Write(buffers.Output.WrittenSpan);
        }
        buffers.Trim();
    }
}
