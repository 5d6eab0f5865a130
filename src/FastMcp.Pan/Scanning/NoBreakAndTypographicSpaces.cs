namespace FastMcp.Pan.Scanning;

/// <summary>
/// NO-BREAK SPACE U+00A0 (HTML's &amp;nbsp;, which payment pages put between groups so a card number does not wrap),
/// FIGURE SPACE U+2007 (the space made for digits), THIN SPACE U+2009 and NARROW NO-BREAK SPACE U+202F (locale digit
/// grouping, .NET's fr-FR among them). Every reader sees a space there, so each separates groups where ' ' does.
/// They are separators only: the skip never stops at them (only a digit starts a card number), the state machine
/// decodes them after a digit.
/// </summary>
internal static class NoBreakAndTypographicSpaces
{
    /// <summary>Lead byte of U+0080..U+00BF: the no-break space C2 A0, and Latin-1 symbols (©, °, «).</summary>
    public const byte Latin1Lead = 0xC2;
    /// <summary>Lead byte of U+2000..U+2FFF: the three spaces E2 80 87/89/AF, and curly quotes and dashes.</summary>
    public const byte GeneralPunctuationLead = 0xE2;

    private const byte NoBreakSpaceLast = 0xA0;
    private const byte GeneralPunctuationSecond = 0x80;

    /// <summary>Bit n set when U+2000 + n is one of the spaces: n = 0x07, 0x09, 0x2F.</summary>
    private const ulong SpacesAfterE280 = 1UL << (FigureSpace - 0x2000) | 1UL << (ThinSpace - 0x2000) | 1UL << (NarrowNoBreakSpace - 0x2000);

    private const int NoBreakSpace = 0x00A0;
    private const int FigureSpace = 0x2007;
    private const int ThinSpace = 0x2009;
    private const int NarrowNoBreakSpace = 0x202F;

    /// <summary>
    /// Decodes the UTF-8 character starting at <see cref="Latin1Lead"/> or <see cref="GeneralPunctuationLead"/>.
    /// Only the four spaces are <see cref="DecodeStatus.Complete"/>. Text with ©, ° or curly quotes next to numbers
    /// comes here often, so the answer is one comparison of the second byte (and one lookup of the third) and is
    /// <see cref="DecodeStatus.Literal"/> at the first byte that differs: a stray lead byte never swallows digits.
    /// </summary>
    public static DecodeStatus Decode(ReadOnlySpan<byte> s, out int length, out CharKind kind, out byte ascii)
    {
        length = 1;
        kind = CharKind.Other;
        ascii = 0;
        if (s.Length < 2) return DecodeStatus.NeedMore;
        if (s[0] == Latin1Lead)
        {
            if (s[1] != NoBreakSpaceLast) return DecodeStatus.Literal;
            length = 2;
        }
        else
        {
            if (s[1] != GeneralPunctuationSecond) return DecodeStatus.Literal;
            if (s.Length < 3) return DecodeStatus.NeedMore;
            // E2 80 xx is U+2000 + (xx & 0x3F): one bit test for the figure, thin and narrow no-break spaces, so the
            // curly quotes and dashes (E2 80 90..9F) are told apart without a chain of comparisons.
            uint last = s[2];
            if ((last & 0xC0) != 0x80 || (SpacesAfterE280 >> (int)(last & 0x3F) & 1) == 0) return DecodeStatus.Literal;
            length = 3;
        }
        kind = CharKind.Space;
        ascii = (byte)' ';
        return DecodeStatus.Complete;
    }

    /// <summary>Whether a code point written as a JSON escape (<c>\u00A0</c>, <c>\u202f</c>) is one of the four spaces.</summary>
    public static bool Classify(int codePoint, out CharKind kind, out byte ascii)
    {
        if (codePoint is NoBreakSpace or FigureSpace or ThinSpace or NarrowNoBreakSpace)
        {
            kind = CharKind.Space;
            ascii = (byte)' ';
            return true;
        }
        kind = CharKind.Other;
        ascii = 0;
        return false;
    }

    /// <summary>One of the two lead bytes.</summary>
    public static bool IsLead(byte b) => b is Latin1Lead or GeneralPunctuationLead;
}
