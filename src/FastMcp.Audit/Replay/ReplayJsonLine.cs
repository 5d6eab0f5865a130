using System.Buffers;
using System.Text.Json;

namespace FastMcp.Audit.Replay;

/// <summary>
/// The one JSON-line form of a record, shared by `replay --format jsonl` and the live export: the record's own JSON
/// with the chain id added first (and, for the export, the segment, so a SIEM can deduplicate by chain, segment and seq).
/// Payloads are recorded byte for byte, so a pretty-printed answer holds raw line breaks: outside strings (JSON escapes
/// them inside), so they are whitespace and become spaces here, where a JSONL reader would take them for the end of the record.
/// Inside strings JSON allows DEL, C1 controls (NEL, the 8-bit CSI), U+2028/U+2029 and bidirectional controls raw: they
/// are written as JSON escapes, so a reader that splits on them or a terminal that obeys them sees neither.
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
        FastMcp.Text.PrintableText.AppendJsonLine(output, recordJson[1..]);
    }
}
