using FastMcp.Pan.Scanning;

namespace FastMcp.Pan;

/// <summary>
/// Cheap test before <see cref="PanMasker.MaskTextInPlace(Span{byte})"/> of a short text (a request's header field): a card
/// number has at least <see cref="CardBrandTable.MinLength"/> digits, and the scanner starts only at an ASCII digit, a
/// backslash (an escape) or a byte above 0x7F (the wide digits, the invisible characters). Text with fewer ASCII digits
/// and neither of the others holds none: masking it would change nothing and report nothing (PanMasking's header fields
/// skip it; TextCardPreTestTests holds this against the scan).
/// </summary>
public static class TextCardPreTest
{
    /// <summary>Longer text is scanned without the test: the scanner skips a 64-byte block at once, this reads byte by byte.</summary>
    public const int MaxTestedLength = 128;

    /// <summary>False only when masking <paramref name="utf8"/> as text cannot find a card number in it.</summary>
    public static bool MightHold(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length < CardBrandTable.MinLength) return false;
        if (utf8.Length > MaxTestedLength) return true;
        int digits = 0;
        foreach (byte b in utf8)
        {
            if (b >= 0x80 || b == (byte)'\\') return true;
            if ((uint)(b - '0') <= 9) digits++;
        }
        return digits >= CardBrandTable.MinLength;
    }
}
