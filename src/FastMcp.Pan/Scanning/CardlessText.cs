using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastMcp.Pan.Scanning;

/// <summary>
/// A short text in which the scanner cannot find a card number, told without running it: fewer ASCII digits than the
/// shortest card number has (<see cref="CardBrandTable.MinLength"/>), no backslash and no byte above 0x7F. Every digit
/// the scanner reads is one of these: an ASCII digit, a JSON escape (<c>\u0034</c>) or a multi-byte digit (fullwidth,
/// Arabic-Indic, Persian, Devanagari), and track data holds a card number too. Such a text is what most record fields,
/// header values and small answers are (<c>{"type":"McpExchange","success":true</c>, <c>application/json</c>), and for
/// them the scanner's set-up and its byte-at-a-time last block cost more than the text (issue #14: four record-field
/// scans, two header values and the answer per exchange). The masking entries of <see cref="PanMasker"/> return at once
/// for such a text: it is what the scan would have answered, nothing found and nothing written.
/// </summary>
internal static class CardlessText
{
    /// <summary>
    /// Longer texts go to the scanner directly: its skip is vectorised per 64 bytes, so asking first would only add a
    /// second pass over a long text whose digits come late.
    /// </summary>
    public const int MaxLength = 1024;

    /// <summary>True when <paramref name="utf8"/> (at most <see cref="MaxLength"/> bytes) cannot hold a card number.</summary>
    public static bool Is(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxLength) return false;
        int digits = 0;
        if (Vector128.IsHardwareAccelerated && utf8.Length >= Vector128<byte>.Count)
        {
            ref byte origin = ref MemoryMarshal.GetReference(utf8);
            int last = utf8.Length - Vector128<byte>.Count;
            int i = 0;
            for (; i < last; i += Vector128<byte>.Count)
            {
                if (!Count(Vector128.LoadUnsafe(ref origin, (nuint)i), 0xFFFF, ref digits)) return false;
            }
            // The last 16 bytes, overlapping what was counted: only the lanes past i are new.
            uint fresh = 0xFFFFu << (i - last) & 0xFFFF;
            return Count(Vector128.LoadUnsafe(ref origin, (nuint)last), fresh, ref digits);
        }
        foreach (byte b in utf8)
        {
            if (b >= 0x80 || b == (byte)'\\') return false;
            if ((uint)(b - '0') <= 9 && ++digits >= CardBrandTable.MinLength) return false;
        }
        return true;
    }

    /// <summary>Adds the digits among the <paramref name="lanes"/> of <paramref name="v"/>; false on a backslash, a byte above 0x7F, or enough digits for a card.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Count(Vector128<byte> v, uint lanes, ref int digits)
    {
        uint encoded = (Vector128.Equals(v, Vector128.Create((byte)'\\')).ExtractMostSignificantBits() | v.ExtractMostSignificantBits()) & lanes;
        if (encoded != 0) return false;
        digits += BitOperations.PopCount(Vector128.LessThan(v - Vector128.Create((byte)'0'), Vector128.Create((byte)10)).ExtractMostSignificantBits() & lanes);
        return digits < CardBrandTable.MinLength;
    }
}
