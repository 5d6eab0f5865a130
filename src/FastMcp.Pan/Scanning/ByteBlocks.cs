using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastMcp.Pan.Scanning;

/// <summary>
/// Classifies 64 bytes at a time into bit masks (digits, starts of encoded characters, quotes) so the scanner finds the next digit,
/// the end of a digit run and the quotes in between with bit operations. A vectorised IndexOfAny per short gap
/// costs more than the gap itself in number-dense JSON; one classification per 64 bytes does not.
/// </summary>
internal ref struct ByteBlocks
{
    private const int BlockSize = 64;

    private readonly ReadOnlySpan<byte> _data;
    private int _start;
    private int _valid;
    private ulong _digits;
    /// <summary>
    /// Backslashes (JSON escapes), 0xEF lead bytes (fullwidth digits) and the starts of Arabic-Indic, Persian and
    /// Devanagari digits: characters that may decode to a digit.
    /// </summary>
    private ulong _encodedStarts;
    private ulong _quotes;

    public ByteBlocks(ReadOnlySpan<byte> data)
    {
        _data = data;
        _start = 0;
        _valid = 0;
    }

    /// <summary>
    /// First index at or after <paramref name="from"/> holding a digit, a backslash, a 0xEF lead byte or the start of
    /// an Arabic-Indic, Persian or Devanagari digit (the data's length when none); flips <paramref name="quoteParity"/>
    /// once per quote passed on the way. Only a digit can start a card number, so the ideographic space's lead byte
    /// 0xE3 (common in Japanese text), the no-break and typographic spaces' 0xC2 and 0xE2 (Latin-1 symbols, curly
    /// quotes and dashes in any European text), Arabic and Devanagari letters and the invisible characters' lead bytes
    /// (0xCD, 0xD8, 0xE1, 0xF0, 0xF3: Arabic, Hangul, Vietnamese, emoji) do not stop the skip.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int NextDigitOrEncodedStart(int from, ref int quoteParity)
    {
        while (from < _data.Length)
        {
            if (from < _start || from >= _start + _valid) LoadBlock(from);
            int shift = from - _start;
            ulong interesting = (_digits | _encodedStarts) >> shift;
            ulong quotes = _quotes >> shift;
            if (interesting != 0)
            {
                int found = BitOperations.TrailingZeroCount(interesting);
                quoteParity ^= BitOperations.PopCount(quotes & ((1UL << found) - 1));
                return from + found;
            }
            quoteParity ^= BitOperations.PopCount(quotes);
            from = _start + _valid;
        }
        return _data.Length;
    }

    /// <summary>First index at or after <paramref name="from"/> that is not an ASCII digit (the data's length when none).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int DigitRunEnd(int from)
    {
        while (from < _data.Length)
        {
            if (from < _start || from >= _start + _valid) LoadBlock(from);
            int shift = from - _start;
            // Past the valid bytes of a short final block the digit bits are 0, so the run stops at the data's end.
            ulong nonDigits = ~_digits >> shift;
            if (nonDigits != 0) return Math.Min(from + BitOperations.TrailingZeroCount(nonDigits), _data.Length);
            from = _start + _valid;
        }
        return _data.Length;
    }

    /// <summary>
    /// Classifies the block at <paramref name="at"/>. All-ASCII blocks (most JSON) pay one "any byte above 0x7F" test
    /// in <see cref="Load"/>, which calls nothing; the wide starts are computed out of line. Extracting the 64 sign
    /// bits instead of that test made all-ASCII input ~15 % slower (process CPU time, 1 MiB scans).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void LoadBlock(int at)
    {
        if (Load(at)) _encodedStarts |= WideStarts(at);
    }

    /// <summary>Sets the masks of the block at <paramref name="at"/> but its wide starts; true when it holds a non-ASCII byte, which may start one.</summary>
    private bool Load(int at)
    {
        _start = at;
        int available = _data.Length - at;
        ref byte origin = ref Unsafe.Add(ref MemoryMarshal.GetReference(_data), at);
        if (available >= BlockSize && Vector512.IsHardwareAccelerated)
        {
            _valid = BlockSize;
            Vector512<byte> v = Vector512.LoadUnsafe(ref origin);
            _digits = Vector512.LessThan(v - Vector512.Create((byte)'0'), Vector512.Create((byte)10)).ExtractMostSignificantBits();
            _encodedStarts = Vector512.Equals(v, Vector512.Create((byte)'\\')).ExtractMostSignificantBits();
            _quotes = Vector512.Equals(v, Vector512.Create((byte)'"')).ExtractMostSignificantBits();
            // Only bytes with the top bit set start a wide digit.
            return Vector512.GreaterThanAny(v, Vector512.Create((byte)0x7F));
        }
        if (available >= BlockSize && Vector256.IsHardwareAccelerated)
        {
            _valid = BlockSize;
            Vector256<byte> low = Vector256.LoadUnsafe(ref origin), high = Vector256.LoadUnsafe(ref origin, 32);
            Classify256(low, out uint d0, out uint b0, out uint q0);
            Classify256(high, out uint d1, out uint b1, out uint q1);
            _digits = d0 | (ulong)d1 << 32;
            _encodedStarts = b0 | (ulong)b1 << 32;
            _quotes = q0 | (ulong)q1 << 32;
            return (low | high).ExtractMostSignificantBits() != 0;
        }
        if (available >= BlockSize && Vector128.IsHardwareAccelerated)
        {
            _valid = BlockSize;
            ulong digits = 0, encodedStarts = 0, quotes = 0;
            Vector128<byte> any = Vector128<byte>.Zero;
            for (int k = 0; k < 4; k++)
            {
                Vector128<byte> v = Vector128.LoadUnsafe(ref origin, (nuint)(k * 16));
                Classify128(v, out uint d, out uint b, out uint q);
                digits |= (ulong)d << (k * 16);
                encodedStarts |= (ulong)b << (k * 16);
                quotes |= (ulong)q << (k * 16);
                any |= v;
            }
            _digits = digits;
            _encodedStarts = encodedStarts;
            _quotes = quotes;
            return any.ExtractMostSignificantBits() != 0;
        }
        if (available >= Vector128<byte>.Count && Vector128.IsHardwareAccelerated)
        {
            // The data's last block, shorter than 64 bytes (of short texts, the only one): classified 16 bytes at a time,
            // the last 16 ending at the data's end and overlapping the ones before it (the same byte sets the same bit).
            // Byte by byte it cost ~5 instructions a byte, more than the scan of a short record field or header value.
            _valid = available;
            ulong digits = 0, encodedStarts = 0, quotes = 0;
            Vector128<byte> any = Vector128<byte>.Zero;
            for (int k = 0; k < available; k += Vector128<byte>.Count)
            {
                int at16 = Math.Min(k, available - Vector128<byte>.Count);
                Vector128<byte> v = Vector128.LoadUnsafe(ref origin, (nuint)at16);
                Classify128(v, out uint d, out uint b, out uint q);
                digits |= (ulong)d << at16;
                encodedStarts |= (ulong)b << at16;
                quotes |= (ulong)q << at16;
                any |= v;
            }
            _digits = digits;
            _encodedStarts = encodedStarts;
            _quotes = quotes;
            return any.ExtractMostSignificantBits() != 0;
        }
        int count = Math.Min(available, BlockSize);
        _valid = count;
        ulong ds = 0, es = 0, qs = 0;
        int topBits = 0;
        for (int k = 0; k < count; k++)
        {
            byte b = Unsafe.Add(ref origin, k);
            ulong bit = 1UL << k;
            if ((uint)(b - '0') <= 9) ds |= bit;
            else if (b == (byte)'\\') es |= bit;
            else if (b == (byte)'"') qs |= bit;
            topBits |= b;
        }
        _digits = ds;
        _encodedStarts = es;
        _quotes = qs;
        return topBits >= 0x80;
    }

    /// <summary>Wide starts (see <see cref="Starts"/>) of the block at <paramref name="at"/>, which holds a non-ASCII byte.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private readonly ulong WideStarts(int at)
    {
        int available = _data.Length - at;
        ref byte origin = ref Unsafe.Add(ref MemoryMarshal.GetReference(_data), at);
        if (available >= BlockSize && Vector512.IsHardwareAccelerated) return WideStarts512(ref origin);
        if (available >= BlockSize && Vector256.IsHardwareAccelerated) return WideStarts256(ref origin);
        if (available >= BlockSize && Vector128.IsHardwareAccelerated) return WideStarts128(ref origin);
        int count = Math.Min(available, BlockSize);
        ulong starts = 0;
        for (int k = 0; k < count; k++)
        {
            byte b = Unsafe.Add(ref origin, k);
            // A lead byte whose character the data cuts short counts too: the next chunk may complete a digit.
            if (b == FullwidthForms.FullwidthLead
                || ArabicIndicAndDevanagariDigits.IsLead(b)
                && ArabicIndicAndDevanagariDigits.Decode(_data.Slice(at + k), out _, out _, out _) != DecodeStatus.Literal)
                starts |= 1UL << k;
        }
        return starts;
    }

    /// <summary>
    /// Positions where a fullwidth form (lead 0xEF) or an Arabic-Indic, Persian or Devanagari digit starts. These
    /// digits share their lead bytes with the letters of their scripts, so a lead counts only when the bytes after it
    /// are a digit's: stopping at every Arabic or Hindi letter would decode most of such text character by character.
    /// A lead near the block's end, whose following bytes are in the next block, counts without that check.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Starts(ulong fullwidthLeads, ulong arabicLeads, ulong extendedLeads, ulong devanagariLeads,
        ulong devanagariSeconds, ulong arabicLasts, ulong extendedLasts, ulong devanagariLasts)
    {
        const ulong lastOne = 1UL << 63, lastTwo = 3UL << 62;
        ulong twoByte = arabicLeads & (arabicLasts >> 1 | lastOne) | extendedLeads & (extendedLasts >> 1 | lastOne);
        ulong devanagari = devanagariLeads & (devanagariSeconds >> 1 | lastOne) & (devanagariLasts >> 2 | lastTwo);
        return fullwidthLeads | twoByte | devanagari;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong WideStarts512(ref byte origin)
    {
        Vector512<byte> v = Vector512.LoadUnsafe(ref origin);
        return Starts(
            Vector512.Equals(v, Vector512.Create(FullwidthForms.FullwidthLead)).ExtractMostSignificantBits(),
            Vector512.Equals(v, Vector512.Create(ArabicIndicAndDevanagariDigits.ArabicIndicLead)).ExtractMostSignificantBits(),
            Vector512.Equals(v, Vector512.Create(ArabicIndicAndDevanagariDigits.ExtendedArabicIndicLead)).ExtractMostSignificantBits(),
            Vector512.Equals(v, Vector512.Create(ArabicIndicAndDevanagariDigits.DevanagariLead)).ExtractMostSignificantBits(),
            Vector512.Equals(v, Vector512.Create(ArabicIndicAndDevanagariDigits.DevanagariDigitsSecond)).ExtractMostSignificantBits(),
            Vector512.LessThan(v - Vector512.Create(ArabicIndicAndDevanagariDigits.ArabicIndicZeroLast), Vector512.Create((byte)10)).ExtractMostSignificantBits(),
            Vector512.LessThan(v - Vector512.Create(ArabicIndicAndDevanagariDigits.ExtendedArabicIndicZeroLast), Vector512.Create((byte)10)).ExtractMostSignificantBits(),
            Vector512.LessThan(v - Vector512.Create(ArabicIndicAndDevanagariDigits.DevanagariZeroLast), Vector512.Create((byte)10)).ExtractMostSignificantBits());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong WideStarts256(ref byte origin)
    {
        Vector256<byte> low = Vector256.LoadUnsafe(ref origin), high = Vector256.LoadUnsafe(ref origin, 32);
        return Starts(
            Equal256(low, high, FullwidthForms.FullwidthLead),
            Equal256(low, high, ArabicIndicAndDevanagariDigits.ArabicIndicLead),
            Equal256(low, high, ArabicIndicAndDevanagariDigits.ExtendedArabicIndicLead),
            Equal256(low, high, ArabicIndicAndDevanagariDigits.DevanagariLead),
            Equal256(low, high, ArabicIndicAndDevanagariDigits.DevanagariDigitsSecond),
            TenFrom256(low, high, ArabicIndicAndDevanagariDigits.ArabicIndicZeroLast),
            TenFrom256(low, high, ArabicIndicAndDevanagariDigits.ExtendedArabicIndicZeroLast),
            TenFrom256(low, high, ArabicIndicAndDevanagariDigits.DevanagariZeroLast));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong WideStarts128(ref byte origin) => Starts(
        Equal128(ref origin, FullwidthForms.FullwidthLead),
        Equal128(ref origin, ArabicIndicAndDevanagariDigits.ArabicIndicLead),
        Equal128(ref origin, ArabicIndicAndDevanagariDigits.ExtendedArabicIndicLead),
        Equal128(ref origin, ArabicIndicAndDevanagariDigits.DevanagariLead),
        Equal128(ref origin, ArabicIndicAndDevanagariDigits.DevanagariDigitsSecond),
        TenFrom128(ref origin, ArabicIndicAndDevanagariDigits.ArabicIndicZeroLast),
        TenFrom128(ref origin, ArabicIndicAndDevanagariDigits.ExtendedArabicIndicZeroLast),
        TenFrom128(ref origin, ArabicIndicAndDevanagariDigits.DevanagariZeroLast));

    private static ulong Equal256(Vector256<byte> low, Vector256<byte> high, byte value) =>
        Vector256.Equals(low, Vector256.Create(value)).ExtractMostSignificantBits()
        | (ulong)Vector256.Equals(high, Vector256.Create(value)).ExtractMostSignificantBits() << 32;

    /// <summary>Bytes <paramref name="first"/>..<paramref name="first"/>+9: the last bytes of ten consecutive digits.</summary>
    private static ulong TenFrom256(Vector256<byte> low, Vector256<byte> high, byte first) =>
        Vector256.LessThan(low - Vector256.Create(first), Vector256.Create((byte)10)).ExtractMostSignificantBits()
        | (ulong)Vector256.LessThan(high - Vector256.Create(first), Vector256.Create((byte)10)).ExtractMostSignificantBits() << 32;

    private static ulong Equal128(ref byte origin, byte value)
    {
        ulong bits = 0;
        for (int k = 0; k < 4; k++)
            bits |= (ulong)Vector128.Equals(Vector128.LoadUnsafe(ref origin, (nuint)(k * 16)), Vector128.Create(value)).ExtractMostSignificantBits() << (k * 16);
        return bits;
    }

    private static ulong TenFrom128(ref byte origin, byte first)
    {
        ulong bits = 0;
        for (int k = 0; k < 4; k++)
            bits |= (ulong)Vector128.LessThan(Vector128.LoadUnsafe(ref origin, (nuint)(k * 16)) - Vector128.Create(first), Vector128.Create((byte)10))
                .ExtractMostSignificantBits() << (k * 16);
        return bits;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Classify256(Vector256<byte> v, out uint digits, out uint backslashes, out uint quotes)
    {
        digits = Vector256.LessThan(v - Vector256.Create((byte)'0'), Vector256.Create((byte)10)).ExtractMostSignificantBits();
        backslashes = Vector256.Equals(v, Vector256.Create((byte)'\\')).ExtractMostSignificantBits();
        quotes = Vector256.Equals(v, Vector256.Create((byte)'"')).ExtractMostSignificantBits();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Classify128(Vector128<byte> v, out uint digits, out uint backslashes, out uint quotes)
    {
        digits = Vector128.LessThan(v - Vector128.Create((byte)'0'), Vector128.Create((byte)10)).ExtractMostSignificantBits();
        backslashes = Vector128.Equals(v, Vector128.Create((byte)'\\')).ExtractMostSignificantBits();
        quotes = Vector128.Equals(v, Vector128.Create((byte)'"')).ExtractMostSignificantBits();
    }
}
