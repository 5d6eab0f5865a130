namespace FastMcp.Http;

/// <summary>
/// Finds event boundaries in a text/event-stream: an event ends at an empty line, and lines end in
/// CRLF, LF or CR (HTML Living Standard, server-sent events). It resumes where it stopped, so bytes
/// arriving one at a time are scanned once.
/// </summary>
public struct SseEventSplitter
{
    private int _scanned;
    private int _lineStart;

    public void Reset() => this = default;

    /// <summary>
    /// Returns the length of the first complete event in <paramref name="buffer"/> including its
    /// terminating empty line, or 0 when it is not complete yet. After a non-zero return the caller
    /// removes that many bytes from the front and calls <see cref="Reset"/>.
    /// </summary>
    public int TryFindEventEnd(ReadOnlySpan<byte> buffer, bool isFinalBlock = false)
    {
        while (_scanned < buffer.Length)
        {
            int rel = buffer[_scanned..].IndexOfAny((byte)'\r', (byte)'\n');
            if (rel < 0)
            {
                _scanned = buffer.Length;
                break;
            }
            int at = _scanned + rel;
            int terminatorLength = 1;
            if (buffer[at] == (byte)'\r')
            {
                // A CR at the end may be the first half of CRLF: wait for the next byte.
                if (at + 1 == buffer.Length)
                {
                    if (!isFinalBlock) return 0;
                }
                else if (buffer[at + 1] == (byte)'\n') terminatorLength = 2;
            }
            bool emptyLine = at == _lineStart;
            _scanned = at + terminatorLength;
            _lineStart = _scanned;
            if (emptyLine) return _scanned;
        }
        return isFinalBlock && buffer.Length > 0 ? buffer.Length : 0;
    }
}

/// <summary>Reads fields of one complete server-sent event without copying.</summary>
public static class SseEvent
{
    /// <summary>
    /// Finds the value of the event's only "data" field (the JSON-RPC message the MCP transports
    /// carry). Returns false when the event has no data line or several (then the caller treats the
    /// event as opaque text).
    /// </summary>
    public static bool TryGetSingleData(ReadOnlySpan<byte> evt, out Range data)
    {
        data = default;
        bool found = false;
        int pos = 0;
        while (pos < evt.Length)
        {
            ReadOnlySpan<byte> rest = evt[pos..];
            int end = rest.IndexOfAny((byte)'\r', (byte)'\n');
            int lineLength = end < 0 ? rest.Length : end;
            ReadOnlySpan<byte> line = rest[..lineLength];
            if (line.StartsWith("data"u8) && (line.Length == 4 || line[4] == (byte)':'))
            {
                if (found) return false;
                found = true;
                int valueStart = line.Length == 4 ? 4 : 5;
                if (valueStart < line.Length && line[valueStart] == (byte)' ') valueStart++;
                data = new Range(pos + valueStart, pos + lineLength);
            }
            if (end < 0) break;
            int next = end + 1;
            if (rest[end] == (byte)'\r' && next < rest.Length && rest[next] == (byte)'\n') next++;
            pos += next;
        }
        return found;
    }

    /// <summary>
    /// Writes <paramref name="json"/> as one "message" event. Line breaks (only possible between
    /// JSON tokens) split it over several data lines, which a reader joins back with '\n'.
    /// </summary>
    public static void WriteMessageEvent(System.Buffers.IBufferWriter<byte> output, ReadOnlySpan<byte> json)
    {
        Write(output, "event: message\n"u8);
        while (true)
        {
            int end = json.IndexOfAny((byte)'\r', (byte)'\n');
            ReadOnlySpan<byte> line = end < 0 ? json : json[..end];
            Write(output, "data: "u8);
            Write(output, line);
            Write(output, "\n"u8);
            if (end < 0) break;
            int next = end + 1;
            if (json[end] == (byte)'\r' && next < json.Length && json[next] == (byte)'\n') next++;
            json = json[next..];
            if (json.IsEmpty) break;
        }
        Write(output, "\n"u8);
    }

    /// <summary>Writes a comment line (": text"), which readers ignore: a keep-alive for idle timeouts.</summary>
    public static void WriteComment(System.Buffers.IBufferWriter<byte> output, ReadOnlySpan<byte> text)
    {
        Write(output, ": "u8);
        Write(output, text);
        Write(output, "\n\n"u8);
    }

    private static void Write(System.Buffers.IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }
}
