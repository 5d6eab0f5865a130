using System.Buffers;
using System.Globalization;
using System.Text;

namespace FastMcp.Text;

/// <summary>
/// Text someone else chose (a peer's tool name or message, a record's field, a configuration value) made safe to
/// print inside one line of a log or a terminal: nothing in it can end the line, start another, move the cursor,
/// or send a terminal escape (ESC, CSI, OSC 8 links, OSC 52 clipboard writes), and the reader can still tell
/// exactly what it held. Escapes:
///   <c>\\</c> a backslash (so every other backslash starts an escape);
///   <c>\n</c>, <c>\r</c>, <c>\t</c> line feed, carriage return, tab;
///   <c>\xHH</c> any other C0 control (U+0000-U+001F), DEL (U+007F) and the C1 controls (U+0080-U+009F, NEL U+0085);
///   <c>\uHHHH</c> the line and paragraph separators U+2028 and U+2029, the bidirectional controls (U+061C,
///   U+200E, U+200F, U+202A-U+202E, U+2066-U+2069: they reorder what a reader sees), and a lone surrogate.
/// Hex digits are lowercase. Everything else is kept as it is.
/// JSON text printed for a reader (a record, a JSONL line) keeps JSON's own escapes instead: <see cref="AppendJsonLine"/>.
/// </summary>
public static class PrintableText
{
    // Every character written as an escape, but for surrogates (checked for pairing separately).
    private static readonly SearchValues<char> Escaped = SearchValues.Create(
        "\\\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000a\u000b\u000c\u000d\u000e\u000f"
        + "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f"
        + "\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008a\u008b\u008c\u008d\u008e\u008f"
        + "\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009a\u009b\u009c\u009d\u009e\u009f"
        + "\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069");

    // The bytes that start what AppendJsonLine rewrites: JSON whitespace that ends or moves along a line, DEL, and the
    // lead bytes of U+0080-U+009F (C2), U+061C (D8) and U+2000-U+2FFF (E2).
    private static readonly SearchValues<byte> JsonLineStarts = SearchValues.Create([0x09, 0x0a, 0x0d, 0x7f, 0xc2, 0xd8, 0xe2]);

    /// <summary>True when <paramref name="text"/> holds something <see cref="Escape"/> would rewrite.</summary>
    public static bool NeedsEscaping(ReadOnlySpan<char> text) => text.ContainsAny(Escaped) || HasLoneSurrogate(text);

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
                sb.Append(c).Append(text[next + 1]); // a pair: a character outside the BMP, kept
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

    private static bool HasLoneSurrogate(ReadOnlySpan<char> text)
    {
        int i = text.IndexOfAnyInRange('\ud800', '\udfff');
        while (i >= 0 && i < text.Length)
        {
            if (!char.IsHighSurrogate(text[i]) || i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1])) return true;
            i += 2;
            int next = text[i..].IndexOfAnyInRange('\ud800', '\udfff');
            i = next < 0 ? -1 : i + next;
        }
        return false;
    }

    /// <summary>
    /// Writes valid JSON text (UTF-8) as one line with the same meaning: a raw CR, LF or tab (whitespace between tokens,
    /// the only place JSON allows them raw) becomes a space, and DEL, a C1 control, U+2028/U+2029 or a bidirectional
    /// control (allowed raw inside strings) becomes its JSON escape (<c>\u0085</c>). Nothing else changes.
    /// </summary>
    public static void AppendJsonLine(IBufferWriter<byte> output, ReadOnlySpan<byte> json)
    {
        Span<byte> escape = stackalloc byte[6];
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
            int length = lead switch
            {
                0x7f => 1,
                0xc2 or 0xd8 when json.Length >= 2 && IsContinuation(json[1]) => 2,
                0xe2 when json.Length >= 3 && IsContinuation(json[1]) && IsContinuation(json[2]) => 3,
                _ => 0,
            };
            int c = length switch
            {
                1 => lead,
                2 => (lead & 0x1f) << 6 | json[1] & 0x3f,
                3 => (lead & 0x0f) << 12 | (json[1] & 0x3f) << 6 | json[2] & 0x3f,
                _ => -1,
            };
            if (lead is 0x09 or 0x0a or 0x0d)
            {
                output.Write(" "u8);
                json = json[1..];
            }
            else if (c >= 0 && Escaped.Contains((char)c))
            {
                "\\u"u8.CopyTo(escape);
                c.TryFormat(escape[2..], out _, "x4", CultureInfo.InvariantCulture);
                output.Write(escape);
                json = json[length..];
            }
            else
            {
                output.Write(json[..1]);
                json = json[1..];
            }
        }
    }

    private static bool IsContinuation(byte b) => (b & 0xc0) == 0x80;
}
