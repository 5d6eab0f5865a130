namespace FastMcp.Pan.Scanning;

internal enum DecodeStatus : byte
{
    /// <summary>The bytes end before the character can be decided: wait for more input.</summary>
    NeedMore,
    /// <summary>One logical character of <c>length</c> bytes, classified.</summary>
    Complete,
    /// <summary>Not an encoded character the scanner reads: the first byte is an ordinary character of its own.</summary>
    Literal,
}

/// <summary>
/// Characters the scanner has to decode before it can classify them, because they may be digits or separators
/// written in more than one byte: JSON escapes (<c>\u0034</c>, <c>\uFF14</c>, <c>\u06F4</c>, <c>\u00A0</c>,
/// <c>\u200B</c>, <c>\uDB40\uDC41</c>), fullwidth forms, Arabic-Indic, Persian and Devanagari digits, the no-break and
/// typographic spaces, and the invisible (default ignorable) characters in UTF-8.
/// </summary>
internal static class EncodedChar
{
    /// <summary>Longest encoded character: a surrogate pair of <c>\uXXXX</c> escapes.</summary>
    public const int MaxLength = JsonEscape.MaxLength;

    /// <param name="s">Bytes starting at a backslash or at a <see cref="CharKind.WideLead"/> byte.</param>
    /// <param name="ascii">For a digit, space or dash (and any escape below U+0080), the ASCII byte it stands for.</param>
    public static DecodeStatus Decode(ReadOnlySpan<byte> s, out int length, out CharKind kind, out byte ascii)
    {
        switch (s[0])
        {
            case (byte)'\\':
                return JsonEscape.Decode(s, out length, out kind, out ascii);
            case NoBreakAndTypographicSpaces.Latin1Lead or NoBreakAndTypographicSpaces.GeneralPunctuationLead:
                // These lead bytes carry both spaces (C2 A0, E2 80 87) and invisible characters (C2 AD, E2 80 8B).
                DecodeStatus space = NoBreakAndTypographicSpaces.Decode(s, out length, out kind, out ascii);
                return space == DecodeStatus.Literal ? DefaultIgnorables.Decode(s, out length, out kind, out ascii) : space;
            case ArabicIndicAndDevanagariDigits.ArabicIndicLead or ArabicIndicAndDevanagariDigits.ExtendedArabicIndicLead
                or ArabicIndicAndDevanagariDigits.DevanagariLead:
                return ArabicIndicAndDevanagariDigits.Decode(s, out length, out kind, out ascii);
            case FullwidthForms.FullwidthLead or FullwidthForms.IdeographicLead:
                // Likewise fullwidth forms (EF BC 94, E3 80 80) and invisible characters (EF BB BF, E3 85 A4).
                DecodeStatus form = FullwidthForms.Decode(s, out length, out kind, out ascii);
                return form == DecodeStatus.Literal ? DefaultIgnorables.Decode(s, out length, out kind, out ascii) : form;
            default:
                return DefaultIgnorables.Decode(s, out length, out kind, out ascii);
        }
    }
}
