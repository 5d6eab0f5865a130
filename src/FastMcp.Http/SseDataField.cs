using System.Buffers;

namespace FastMcp.Http;

/// <summary>
/// The data of one complete server-sent event as a reader sees it (HTML Living Standard, "interpret an event
/// stream"): every <c>data</c> field's value, one leading space dropped, joined with LF. A stage that must read
/// the JSON of an event uses this instead of assuming one data line, and rewrites the event around new data.
/// </summary>
public static class SseDataField
{
    /// <summary>Number of <c>data</c> fields (lines) in the event.</summary>
    public static int Count(ReadOnlySpan<byte> evt)
    {
        int count = 0;
        int pos = 0;
        while (NextLine(evt, ref pos, out Range line, out _))
        {
            if (IsData(evt[line], out _)) count++;
        }
        return count;
    }

    /// <summary>Writes the event's data: the data field values joined with LF (no LF after the last one).</summary>
    public static void Join(ReadOnlySpan<byte> evt, IBufferWriter<byte> output)
    {
        bool first = true;
        int pos = 0;
        while (NextLine(evt, ref pos, out Range line, out _))
        {
            if (!IsData(evt[line], out int valueStart)) continue;
            if (!first) Write(output, "\n"u8);
            Write(output, evt[line][valueStart..]);
            first = false;
        }
    }

    /// <summary>
    /// Writes the event with its data replaced by <paramref name="json"/> on one data line, at the place of the
    /// first data line; every other field (event, id, retry, comments) is kept as it was. JSON line breaks can
    /// only be whitespace between tokens, so they become spaces and one line holds the whole message.
    /// </summary>
    public static void ReplaceData(ReadOnlySpan<byte> evt, ReadOnlySpan<byte> json, IBufferWriter<byte> output)
    {
        bool written = false;
        int pos = 0;
        while (NextLine(evt, ref pos, out Range line, out Range withTerminator))
        {
            if (!IsData(evt[line], out _))
            {
                Write(output, evt[withTerminator]);
                continue;
            }
            if (written) continue;
            written = true;
            Write(output, "data: "u8);
            Span<byte> value = output.GetSpan(json.Length);
            json.CopyTo(value);
            value[..json.Length].Replace((byte)'\r', (byte)' ');
            value[..json.Length].Replace((byte)'\n', (byte)' ');
            output.Advance(json.Length);
            Write(output, "\n"u8);
        }
    }

    /// <summary>True when the event has an "id" field (the id a client resumes from with Last-Event-ID).</summary>
    public static bool HasId(ReadOnlySpan<byte> evt)
    {
        int pos = 0;
        while (NextLine(evt, ref pos, out Range line, out _))
        {
            if (IsField(evt[line], "id"u8, out _)) return true;
        }
        return false;
    }

    /// <summary>
    /// Writes the event with <paramref name="prefix"/> in front of the value of each "id" field (an event has one in
    /// practice); every other line is kept as it was.
    /// </summary>
    public static void PrefixId(ReadOnlySpan<byte> evt, ReadOnlySpan<byte> prefix, IBufferWriter<byte> output)
    {
        int pos = 0;
        while (NextLine(evt, ref pos, out Range line, out Range withTerminator))
        {
            if (!IsField(evt[line], "id"u8, out int valueStart))
            {
                Write(output, evt[withTerminator]);
                continue;
            }
            Write(output, "id: "u8);
            Write(output, prefix);
            Write(output, evt[withTerminator][valueStart..]);
        }
    }

    private static bool IsField(ReadOnlySpan<byte> line, ReadOnlySpan<byte> name, out int valueStart)
    {
        valueStart = 0;
        if (!line.StartsWith(name) || (line.Length > name.Length && line[name.Length] != (byte)':')) return false;
        valueStart = line.Length == name.Length ? name.Length : name.Length + 1;
        if (valueStart < line.Length && line[valueStart] == (byte)' ') valueStart++;
        return true;
    }

    /// <summary>A "data" field line: the name is exactly "data", followed by a colon or nothing.</summary>
    private static bool IsData(ReadOnlySpan<byte> line, out int valueStart)
    {
        valueStart = 0;
        if (!line.StartsWith("data"u8) || (line.Length > 4 && line[4] != (byte)':')) return false;
        valueStart = line.Length == 4 ? 4 : 5;
        if (valueStart < line.Length && line[valueStart] == (byte)' ') valueStart++;
        return true;
    }

    /// <summary>The next line from <paramref name="pos"/>: without and with its CRLF, LF or CR terminator.</summary>
    private static bool NextLine(ReadOnlySpan<byte> evt, ref int pos, out Range line, out Range withTerminator)
    {
        line = withTerminator = default;
        if (pos >= evt.Length) return false;
        int rel = evt[pos..].IndexOfAny((byte)'\r', (byte)'\n');
        int end = rel < 0 ? evt.Length : pos + rel;
        int next = end;
        if (rel >= 0)
        {
            next = end + 1;
            if (evt[end] == (byte)'\r' && next < evt.Length && evt[next] == (byte)'\n') next++;
        }
        line = new Range(pos, end);
        withTerminator = new Range(pos, next);
        pos = next;
        return true;
    }

    private static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }
}
