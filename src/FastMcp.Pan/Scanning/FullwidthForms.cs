namespace FastMcp.Pan.Scanning;

/// <summary>
/// FULLWIDTH DIGIT ZERO..NINE (U+FF10..U+FF19), what Japanese input methods type for numbers, read as digits by
/// every person and model (NFKC maps them to ASCII digits): a card number written with them must be found. The
/// IDEOGRAPHIC SPACE (U+3000) and FULLWIDTH HYPHEN-MINUS (U+FF0D) separate groups where ' ' and '-' do. Each is
/// 3 bytes in UTF-8; a masked one is replaced by the fullwidth form of the mask byte, also 3 bytes.
/// </summary>
internal static class FullwidthForms
{
    public const int Utf8Length = 3;

    /// <summary>Lead byte of U+F000..U+FFFF: fullwidth digits, hyphen-minus and the fullwidth mask.</summary>
    public const byte FullwidthLead = 0xEF;
    /// <summary>Lead byte of U+3000..U+3FFF: the ideographic space.</summary>
    public const byte IdeographicLead = 0xE3;

    private const int FullwidthDigitZero = 0xFF10;
    private const int FullwidthHyphenMinus = 0xFF0D;
    private const int IdeographicSpace = 0x3000;
    /// <summary>U+FF01..U+FF5E are the fullwidth forms of ASCII 0x21..0x7E, at this distance.</summary>
    private const int FullwidthAsciiOffset = 0xFF00 - 0x20;

    /// <summary>
    /// Decodes the UTF-8 character starting at a <see cref="FullwidthLead"/> or <see cref="IdeographicLead"/> byte.
    /// Only fullwidth digits, the hyphen-minus and the ideographic space are <see cref="DecodeStatus.Complete"/>;
    /// anything else is <see cref="DecodeStatus.Literal"/> as soon as a byte differs, so a stray lead byte never
    /// swallows the ASCII digits after it.
    /// </summary>
    public static DecodeStatus Decode(ReadOnlySpan<byte> s, out int length, out CharKind kind, out byte ascii)
    {
        length = 1;
        kind = CharKind.Other;
        ascii = 0;
        // EF BC 90..99 digits, EF BC 8D hyphen-minus; E3 80 80 ideographic space.
        bool fullwidth = s[0] == FullwidthLead;
        if (s.Length < 2) return DecodeStatus.NeedMore;
        if (s[1] != (fullwidth ? 0xBC : 0x80)) return DecodeStatus.Literal;
        if (s.Length < 3) return DecodeStatus.NeedMore;
        // With the first two bytes fixed, the third carries the low 6 bits of the code point.
        int codePoint = (fullwidth ? 0xFF00 : 0x3000) | (s[2] & 0x3F);
        if ((s[2] & 0xC0) != 0x80 || !Classify(codePoint, out kind, out ascii)) return DecodeStatus.Literal;
        length = Utf8Length;
        return DecodeStatus.Complete;
    }

    /// <summary>Kind of a code point at or above U+0080 written as a JSON escape: a fullwidth digit, space or dash, or other.</summary>
    public static bool Classify(int codePoint, out CharKind kind, out byte ascii)
    {
        if ((uint)(codePoint - FullwidthDigitZero) <= 9)
        {
            kind = CharKind.Digit;
            ascii = (byte)('0' + codePoint - FullwidthDigitZero);
            return true;
        }
        if (codePoint == FullwidthHyphenMinus)
        {
            kind = CharKind.Dash;
            ascii = (byte)'-';
            return true;
        }
        if (codePoint == IdeographicSpace)
        {
            kind = CharKind.Space;
            ascii = (byte)' ';
            return true;
        }
        kind = CharKind.Other;
        ascii = 0;
        return false;
    }

    /// <summary>The fullwidth form of a printable ASCII byte (0x21..0x7E) in UTF-8, 3 bytes: '*' becomes U+FF0A.</summary>
    public static void EncodeAscii(byte printable, Span<byte> utf8)
    {
        int codePoint = printable + FullwidthAsciiOffset;
        utf8[0] = FullwidthLead;
        utf8[1] = (byte)(0x80 | (codePoint >> 6 & 0x3F));
        utf8[2] = (byte)(0x80 | (codePoint & 0x3F));
    }
}
