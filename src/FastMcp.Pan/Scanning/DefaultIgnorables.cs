namespace FastMcp.Pan.Scanning;

/// <summary>
/// The characters with the Unicode property Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 16, the
/// version .NET 10 uses): ZERO WIDTH SPACE and its kin, SOFT HYPHEN, WORD JOINER, the byte order mark, joiners, bidi
/// marks and embeddings, variation selectors, Hangul fillers and the tag characters. A renderer draws nothing for them,
/// so a reader sees a plain card number where they stand between its digits: the scanner reads through them. They
/// never start a number, so the skip does not stop at their lead bytes; the state machine decodes them inside one.
/// </summary>
internal static class DefaultIgnorables
{
    /// <summary>
    /// Lead bytes of their UTF-8 forms: C2 (U+00AD), CD (U+034F), D8 (U+061C), E1 (U+115F..17B5..180F), E2
    /// (U+200B..206F), E3 (U+3164), EF (U+FE00..FFF8), F0 (U+1BCA0.., U+1D173..) and F3 (U+E0000..E0FFF).
    /// </summary>
    public static bool IsLead(byte b) => b is 0xC2 or 0xCD or 0xD8 or 0xE1 or 0xE2 or 0xE3 or 0xEF or 0xF0 or 0xF3;

    /// <summary>Whether <paramref name="codePoint"/> is Default_Ignorable_Code_Point.</summary>
    public static bool Contains(int codePoint) => codePoint switch
    {
        0x00AD or 0x034F or 0x061C or 0x3164 or 0xFEFF or 0xFFA0 => true,
        >= 0x115F and <= 0x1160 or >= 0x17B4 and <= 0x17B5 or >= 0x180B and <= 0x180F => true,
        >= 0x200B and <= 0x200F or >= 0x202A and <= 0x202E or >= 0x2060 and <= 0x206F => true,
        >= 0xFE00 and <= 0xFE0F or >= 0xFFF0 and <= 0xFFF8 => true,
        >= 0x1BCA0 and <= 0x1BCA3 or >= 0x1D173 and <= 0x1D17A or >= 0xE0000 and <= 0xE0FFF => true,
        _ => false,
    };

    /// <summary>
    /// Decodes the UTF-8 character at one of the <see cref="IsLead"/> bytes: <see cref="DecodeStatus.Complete"/> with
    /// <see cref="CharKind.Ignorable"/> for one of these characters, <see cref="DecodeStatus.Literal"/> at the first byte
    /// that is no continuation (a stray lead never swallows the digits after it) or for any other character, an overlong
    /// form included (not UTF-8: decoders reject it), <see cref="DecodeStatus.NeedMore"/> when the bytes end first.
    /// </summary>
    public static DecodeStatus Decode(ReadOnlySpan<byte> s, out int length, out CharKind kind, out byte ascii)
    {
        length = 1;
        kind = CharKind.Other;
        ascii = 0;
        byte lead = s[0];
        int size, codePoint, smallest;
        if (lead >= 0xF0)
        {
            (size, codePoint, smallest) = (4, lead & 0x07, 0x10000);
        }
        else if (lead >= 0xE0)
        {
            (size, codePoint, smallest) = (3, lead & 0x0F, 0x800);
        }
        else
        {
            (size, codePoint, smallest) = (2, lead & 0x1F, 0x80);
        }
        for (int k = 1; k < size; k++)
        {
            if (k >= s.Length) return DecodeStatus.NeedMore;
            byte next = s[k];
            if ((next & 0xC0) != 0x80) return DecodeStatus.Literal;
            codePoint = codePoint << 6 | (next & 0x3F);
        }
        if (codePoint < smallest || !Contains(codePoint)) return DecodeStatus.Literal;
        length = size;
        kind = CharKind.Ignorable;
        return DecodeStatus.Complete;
    }
}
