using System.Buffers;
using System.Globalization;
using System.Text;

namespace FastMcp.Text;

/// <summary>
/// Text someone else chose (a peer's tool name or message, a record's field, a configuration value) made safe to
/// print inside one line of a log or a terminal: nothing in it can end the line, start another, move the cursor,
/// send a terminal escape (ESC, CSI, OSC 8 links, OSC 52 clipboard writes), reorder what is shown or hide a character,
/// and the reader can still tell exactly what it held. Escapes:
///   <c>\\</c> a backslash (so every other backslash starts an escape);
///   <c>\n</c>, <c>\r</c>, <c>\t</c> line feed, carriage return, tab;
///   <c>\xHH</c> any other C0 control (U+0000-U+001F), DEL (U+007F) and the C1 controls (U+0080-U+009F, NEL U+0085);
///   <c>\uHHHH</c> the line and paragraph separators U+2028 and U+2029, every format character of the BMP (Unicode
///   category Cf: the bidirectional controls U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069 that reorder what a
///   reader sees, the zero-width U+200B-U+200D, U+2060 and U+FEFF, the soft hyphen U+00AD, U+2061-U+2064,
///   U+206A-U+206F, U+180E, U+0600-U+0605, U+06DD, U+070F, U+0890, U+0891, U+08E2, U+FFF9-U+FFFB), the blank Hangul
///   fillers U+115F, U+1160, U+3164 and U+FFA0 (letters that print as nothing), and a lone surrogate;
///   <c>\UHHHHHHHH</c> a format character outside the BMP (the tag characters U+E0001 and U+E0020-U+E007F, which
///   spell invisible ASCII, and the other Cf characters above U+FFFF).
/// Hex digits are lowercase. Everything else is kept as it is: other letters of any script print as they are (a name
/// that only looks like another is <see cref="ToolNameSkeleton"/>'s concern).
/// JSON text printed for a reader (a record, a JSONL line) keeps JSON's own escapes instead: <see cref="AppendJsonLine"/>.
/// </summary>
public static class PrintableText
{
    // The BMP characters written as \uHHHH: separators, format characters (Cf) and the blank Hangul fillers.
    private const string Invisible = "\u00ad\u0600\u0601\u0602\u0603\u0604\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u180e"
        + "\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
        + "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u206a\u206b\u206c\u206d\u206e\u206f"
        + "\u3164\ufeff\uffa0\ufff9\ufffa\ufffb";

    // Every character written as an escape, but for surrogates (checked for pairing and for a format character separately).
    private static readonly SearchValues<char> Escaped = SearchValues.Create(
        "\\\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f"
        + "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f"
        + "\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008a\u008b\u008c\u008d\u008e\u008f"
        + "\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009a\u009b\u009c\u009d\u009e\u009f"
        + Invisible);

    // The bytes that start what AppendJsonLine rewrites: JSON whitespace that ends or moves along a line, DEL, and the
    // lead bytes of the escaped characters from U+0080 up (C1 controls, Invisible, and F0-F4 for the format characters
    // past the BMP).
    private static readonly SearchValues<byte> JsonLineStarts = SearchValues.Create(JsonLineLeadBytes());

    private static byte[] JsonLineLeadBytes()
    {
        var leads = new List<byte> { 0x09, 0x0a, 0x0d, 0x7f, 0xc2, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4 };
        Span<byte> utf8 = stackalloc byte[4];
        foreach (char c in Invisible)
        {
            new Rune(c).EncodeToUtf8(utf8);
            if (!leads.Contains(utf8[0])) leads.Add(utf8[0]);
        }
        return [.. leads];
    }

    /// <summary>True when <paramref name="text"/> holds something <see cref="Escape"/> would rewrite.</summary>
    public static bool NeedsEscaping(ReadOnlySpan<char> text) => text.ContainsAny(Escaped) || HasEscapedSurrogate(text);

    /// <summary>The text with every character listed above escaped; the same instance when there is none (no allocation).</summary>
    public static string Escape(string text)
    {
        if (!NeedsEscaping(text)) return text;
        var sb = new StringBuilder(text.Length + 16);
        Append(sb, text);
        return sb.ToString();
    }

    /// <summary>Appends <paramref name="text"/> escaped; with <paramref name="quote"/> a double quote is written <c>\"</c> too (inside a quoted value).</summary>
    public static void Append(StringBuilder sb, ReadOnlySpan<char> text, bool quote = false)
    {
        while (text.Length > 0)
        {
            int next = quote ? IndexOfEscapedOrQuote(text) : IndexOfEscaped(text);
            if (next < 0)
            {
                sb.Append(text);
                return;
            }
            sb.Append(text[..next]);
            char c = text[next];
            int used = 1;
            if (char.IsHighSurrogate(c) && next + 1 < text.Length && char.IsLowSurrogate(text[next + 1]))
            {
                // A pair: a character outside the BMP, kept unless it is a format character (a tag spells invisible ASCII).
                int scalar = char.ConvertToUtf32(c, text[next + 1]);
                if (IsFormat(scalar)) sb.Append("\\U").Append(scalar.ToString("x8", CultureInfo.InvariantCulture));
                else sb.Append(c).Append(text[next + 1]);
                used = 2;
            }
            else
            {
                AppendEscape(sb, c);
            }
            text = text[(next + used)..];
        }
    }

    private static void AppendEscape(StringBuilder sb, char c)
    {
        switch (c)
        {
            case '\\': sb.Append("\\\\"); break;
            case '"': sb.Append("\\\""); break;
            case '\n': sb.Append("\\n"); break;
            case '\r': sb.Append("\\r"); break;
            case '\t': sb.Append("\\t"); break;
            case <= '\u009f': sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)); break;
            default: sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
        }
    }

    // The next character to escape or any surrogate (a pair is kept by the caller).
    private static int IndexOfEscaped(ReadOnlySpan<char> text)
    {
        int special = text.IndexOfAny(Escaped);
        int surrogate = text.IndexOfAnyInRange('\ud800', '\udfff');
        return special < 0 ? surrogate : surrogate < 0 ? special : Math.Min(special, surrogate);
    }

    private static int IndexOfEscapedOrQuote(ReadOnlySpan<char> text)
    {
        int next = IndexOfEscaped(text);
        int quote = text.IndexOf('"');
        return next < 0 ? quote : quote < 0 ? next : Math.Min(next, quote);
    }

    // A lone surrogate, or a pair that is a format character.
    private static bool HasEscapedSurrogate(ReadOnlySpan<char> text)
    {
        int i = text.IndexOfAnyInRange('\ud800', '\udfff');
        while (i >= 0 && i < text.Length)
        {
            if (!char.IsHighSurrogate(text[i]) || i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1])) return true;
            if (IsFormat(char.ConvertToUtf32(text[i], text[i + 1]))) return true;
            i += 2;
            int next = text[i..].IndexOfAnyInRange('\ud800', '\udfff');
            i = next < 0 ? -1 : i + next;
        }
        return false;
    }

    // A character past the BMP that prints as nothing or changes how others print (Unicode category Cf).
    private static bool IsFormat(int scalar) => Rune.GetUnicodeCategory(new Rune(scalar)) == UnicodeCategory.Format;

    /// <summary>
    /// Writes valid JSON text (UTF-8) as one line with the same meaning: a raw CR, LF or tab (whitespace between tokens,
    /// the only place JSON allows them raw) becomes a space, and DEL, a C1 control, U+2028/U+2029, a format character or
    /// a blank Hangul filler (allowed raw inside strings; the set <see cref="Escape"/> writes as \u or \U) becomes its
    /// JSON escape (<c>\u0085</c>, <c>\udb40\udc41</c> past the BMP). Nothing else changes.
    /// </summary>
    public static void AppendJsonLine(IBufferWriter<byte> output, ReadOnlySpan<byte> json)
    {
        Span<char> pair = stackalloc char[2];
        while (json.Length > 0)
        {
            int i = json.IndexOfAny(JsonLineStarts);
            if (i < 0)
            {
                output.Write(json);
                return;
            }
            output.Write(json[..i]);
            json = json[i..];
            byte lead = json[0];
            if (lead is 0x09 or 0x0a or 0x0d)
            {
                output.Write(" "u8);
                json = json[1..];
                continue;
            }
            bool escape = Rune.DecodeFromUtf8(json, out Rune rune, out int length) == OperationStatus.Done
                && (rune.IsBmp ? Escaped.Contains((char)rune.Value) : IsFormat(rune.Value));
            if (!escape)
            {
                output.Write(json[..1]);
                json = json[1..];
                continue;
            }
            int chars = rune.EncodeToUtf16(pair);
            for (int k = 0; k < chars; k++) WriteJsonEscape(output, pair[k]);
            json = json[length..];
        }
    }

    private static void WriteJsonEscape(IBufferWriter<byte> output, char c)
    {
        Span<byte> escape = stackalloc byte[6];
        "\\u"u8.CopyTo(escape);
        ((int)c).TryFormat(escape[2..], out _, "x4", CultureInfo.InvariantCulture);
        output.Write(escape);
    }

    private static bool IsContinuation(byte b) => (b & 0xc0) == 0x80;
}
