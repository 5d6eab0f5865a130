namespace FastMcp.Pan.Scanning;

/// <summary>
/// ARABIC-INDIC DIGIT ZERO..NINE (U+0660..0669), EXTENDED ARABIC-INDIC DIGIT ZERO..NINE (U+06F0..06F9, the Persian
/// and Urdu forms Iranian bank cards are printed and typed in) and DEVANAGARI DIGIT ZERO..NINE (U+0966..096F): decimal
/// digits to every reader, model and Python's int(), so a card number written with them must be found. Only the
/// digits are read here: these scripts' own punctuation (the Arabic decimal and thousands separators, the danda) is
/// no group separator, so groups are joined by the separators ASCII and fullwidth digits use.
/// </summary>
internal static class ArabicIndicAndDevanagariDigits
{
    /// <summary>Lead byte of U+0640..067F: Arabic-Indic digits D9 A0..A9 (and common Arabic letters).</summary>
    public const byte ArabicIndicLead = 0xD9;
    /// <summary>Lead byte of U+06C0..06FF: Extended Arabic-Indic digits DB B0..B9.</summary>
    public const byte ExtendedArabicIndicLead = 0xDB;
    /// <summary>Lead byte of U+0800..0FFF: Devanagari digits E0 A5 A6..AF (and every Devanagari letter).</summary>
    public const byte DevanagariLead = 0xE0;
    /// <summary>Second byte of U+0940..097F, the block's part that holds the digits.</summary>
    public const byte DevanagariDigitsSecond = 0xA5;

    /// <summary>Last byte of digit zero after each lead: D9 A0, DB B0, E0 A5 A6.</summary>
    public const byte ArabicIndicZeroLast = 0xA0;
    public const byte ExtendedArabicIndicZeroLast = 0xB0;
    public const byte DevanagariZeroLast = 0xA6;

    public const int TwoByteLength = 2;
    public const int DevanagariLength = 3;

    /// <summary>
    /// ARABIC FIVE POINTED STAR U+066D (D9 AD), written over a masked 2-byte digit: a star of the same script and
    /// byte length. No 2-byte character stands for every ASCII mask byte, so this one is used whatever the mask byte.
    /// </summary>
    public static ReadOnlySpan<byte> TwoByteMask => [0xD9, 0xAD];

    private const int ArabicIndicZero = 0x0660;
    private const int ExtendedArabicIndicZero = 0x06F0;
    private const int DevanagariZero = 0x0966;

    /// <summary>
    /// Decodes the UTF-8 character starting at one of the three lead bytes. Only the digits are
    /// <see cref="DecodeStatus.Complete"/>; anything else is <see cref="DecodeStatus.Literal"/> as soon as a byte
    /// differs, so a stray lead byte never swallows the ASCII digits after it.
    /// </summary>
    public static DecodeStatus Decode(ReadOnlySpan<byte> s, out int length, out CharKind kind, out byte ascii)
    {
        length = 1;
        kind = CharKind.Other;
        ascii = 0;
        if (s.Length < 2) return DecodeStatus.NeedMore;
        uint digit;
        if (s[0] == DevanagariLead)
        {
            if (s[1] != DevanagariDigitsSecond) return DecodeStatus.Literal;
            if (s.Length < 3) return DecodeStatus.NeedMore;
            digit = (uint)(s[2] - DevanagariZeroLast);
            if (digit > 9) return DecodeStatus.Literal;
            length = DevanagariLength;
        }
        else
        {
            digit = (uint)(s[1] - (s[0] == ArabicIndicLead ? ArabicIndicZeroLast : ExtendedArabicIndicZeroLast));
            if (digit > 9) return DecodeStatus.Literal;
            length = TwoByteLength;
        }
        kind = CharKind.Digit;
        ascii = (byte)('0' + digit);
        return DecodeStatus.Complete;
    }

    /// <summary>Whether a code point written as a JSON escape is one of these digits, and which.</summary>
    public static bool Classify(int codePoint, out CharKind kind, out byte ascii)
    {
        int digit = (uint)(codePoint - ArabicIndicZero) <= 9 ? codePoint - ArabicIndicZero
            : (uint)(codePoint - ExtendedArabicIndicZero) <= 9 ? codePoint - ExtendedArabicIndicZero
            : (uint)(codePoint - DevanagariZero) <= 9 ? codePoint - DevanagariZero
            : -1;
        if (digit < 0)
        {
            kind = CharKind.Other;
            ascii = 0;
            return false;
        }
        kind = CharKind.Digit;
        ascii = (byte)('0' + digit);
        return true;
    }

    /// <summary>One of the three lead bytes.</summary>
    public static bool IsLead(byte b) => b is ArabicIndicLead or ExtendedArabicIndicLead or DevanagariLead;
}
