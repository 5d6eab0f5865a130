using System.Buffers;
using System.Text.Json;

namespace FastMcp.Audit.Replay;

/// <summary>
/// The one JSON-line form of a record, shared by `replay --format jsonl` and the live export: the record's own JSON
/// with the chain id added first (and, for the export, the segment, so a SIEM can deduplicate by chain, segment and seq).
/// Payloads are recorded byte for byte, so a pretty-printed answer holds raw line breaks: outside strings (JSON escapes
/// them inside), so they are whitespace and become spaces here, where a JSONL reader would take them for the end of the record.
/// </summary>
public static class ReplayJsonLine
{
    /// <summary>Writes the line without its line feed.</summary>
    public static void Write(IBufferWriter<byte> output, string chain, long? segment, bool? verified, ReadOnlySpan<byte> recordJson)
    {
        output.Write("{\"chain\":"u8);
        using (var w = new Utf8JsonWriter(output)) w.WriteStringValue(chain);
        output.Write(","u8);
        if (segment is { } s)
        {
            output.Write("\"segment\":"u8);
            Span<byte> digits = stackalloc byte[20];
            s.TryFormat(digits, out int n, default, System.Globalization.CultureInfo.InvariantCulture);
            output.Write(digits[..n]);
            output.Write(","u8);
        }
        if (verified is { } v) output.Write(v ? "\"verified\":true,"u8 : "\"verified\":false,"u8);
        // The record starts with '{': its members follow the ones added above.
        var rest = recordJson[1..];
        var target = output.GetSpan(rest.Length);
        rest.CopyTo(target);
        for (int i = target[..rest.Length].IndexOfAny((byte)'\r', (byte)'\n'); i >= 0 && i < rest.Length;)
        {
            target[i] = (byte)' ';
            int next = target[(i + 1)..rest.Length].IndexOfAny((byte)'\r', (byte)'\n');
            i = next < 0 ? -1 : i + 1 + next;
        }
        output.Advance(rest.Length);
    }
}
