namespace FastMcp.Pan.Scanning;

/// <summary>
/// Decodes JSON string escapes so that digits written as <c>\u0034</c> (or <c>\uFF14</c>, <c>\u06F4</c>, <c>\u096A</c>) are seen as digits
/// and separators written as <c>\u0020</c> (or <c>\u00A0</c>, <c>\u202F</c>) as separators, and invisible characters written as
/// <c>\u200B</c> or, above U+FFFF, as a surrogate pair <c>\uDB40\uDC41</c> as invisible: escaping must not smuggle a card number past the scanner.
/// </summary>
internal static class JsonEscape
{
    /// <summary>One <c>\uXXXX</c> escape.</summary>
    public const int EscapeLength = 6;
    /// <summary>Longest escape: a surrogate pair, <c>\uXXXX\uXXXX</c>.</summary>
    public const int MaxLength = 2 * EscapeLength;

    private const int HighSurrogateFirst = 0xD800;
    private const int LowSurrogateFirst = 0xDC00;
    private const int SurrogateSpan = 0x400;

    /// <param name="s">Bytes starting at a backslash.</param>
    /// <param name="ascii">For a <c>\u</c> escape below U+0080, the decoded ASCII byte; for a fullwidth digit, space or dash, an Arabic-Indic, Persian or Devanagari digit or a no-break or typographic space, its ASCII counterpart.</param>
    public static DecodeStatus Decode(ReadOnlySpan<byte> s, out int length, out CharKind kind, out byte ascii)
    {
        length = 1;
        kind = CharKind.Other;
        ascii = 0;
        if (s.Length < 2) return DecodeStatus.NeedMore;
        switch (s[1])
        {
            case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                length = 2;
                return DecodeStatus.Complete;
            case (byte)'u':
                int cp = 0;
                for (int k = 2; k < EscapeLength; k++)
                {
                    if (k >= s.Length) return DecodeStatus.NeedMore;
                    int h = HexValue(s[k]);
                    if (h < 0) return DecodeStatus.Literal;
                    cp = (cp << 4) | h;
                }
                length = EscapeLength;
                if ((uint)(cp - HighSurrogateFirst) < SurrogateSpan) return DecodeSurrogatePair(s, cp, out length, out kind);
                if (cp < 0x80)
                {
                    ascii = (byte)cp;
                    kind = ByteClass.Of(ascii);
                    // A decoded backslash or quote is a literal character: it starts no escape and ends no string.
                    if (kind is CharKind.Backslash or CharKind.Quote) kind = CharKind.Other;
                }
                else
                {
                    // \uFF14 is a fullwidth 4, \u06F4 a Persian one, \u00A0 a no-break space: the same character to a
                    // reader as the raw one.
                    if (!FullwidthForms.Classify(cp, out kind, out ascii) && !ArabicIndicAndDevanagariDigits.Classify(cp, out kind, out ascii)
                        && !NoBreakAndTypographicSpaces.Classify(cp, out kind, out ascii) && DefaultIgnorables.Contains(cp))
                        kind = CharKind.Ignorable;
                }
                return DecodeStatus.Complete;
            default:
                return DecodeStatus.Literal;
        }
    }

    /// <summary>
    /// A high surrogate's escape: with a low surrogate's escape right after it, the pair is one character (the tag
    /// characters U+E0000..E0FFF are invisible, so a pair may be); otherwise the escape stands alone, an ordinary character.
    /// </summary>
    private static DecodeStatus DecodeSurrogatePair(ReadOnlySpan<byte> s, int high, out int length, out CharKind kind)
    {
        length = EscapeLength;
        kind = CharKind.Other;
        int low = 0;
        for (int k = EscapeLength; k < MaxLength; k++)
        {
            if (k >= s.Length) return DecodeStatus.NeedMore;
            byte b = s[k];
            if (k == EscapeLength ? b != (byte)'\\' : k == EscapeLength + 1 ? b != (byte)'u' : HexValue(b) < 0) return DecodeStatus.Complete;
            if (k >= EscapeLength + 2) low = (low << 4) | HexValue(b);
        }
        if ((uint)(low - LowSurrogateFirst) >= SurrogateSpan) return DecodeStatus.Complete;
        int codePoint = 0x10000 + ((high - HighSurrogateFirst) << 10) + (low - LowSurrogateFirst);
        length = MaxLength;
        if (DefaultIgnorables.Contains(codePoint)) kind = CharKind.Ignorable;
        return DecodeStatus.Complete;
    }

    private static int HexValue(byte b)
    {
        if ((uint)(b - '0') <= 9) return b - '0';
        uint lower = (uint)(b | 0x20) - 'a';
        return lower <= 5 ? (int)lower + 10 : -1;
    }
}
