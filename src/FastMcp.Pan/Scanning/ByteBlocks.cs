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
    /// <summary>Backslashes (JSON escapes) and 0xEF lead bytes (fullwidth digits): characters that may decode to a digit.</summary>
    private ulong _encodedStarts;
    private ulong _quotes;

    public ByteBlocks(ReadOnlySpan<byte> data)
    {
        _data = data;
        _start = 0;
        _valid = 0;
    }

    /// <summary>
    /// First index at or after <paramref name="from"/> holding a digit, a backslash or a 0xEF lead byte (the data's
    /// length when none); flips <paramref name="quoteParity"/> once per quote passed on the way. Only a digit can start
    /// a card number, so the ideographic space's lead byte 0xE3 (common in Japanese text) does not stop the skip.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int NextDigitOrEncodedStart(int from, ref int quoteParity)
    {
        while (from < _data.Length)
        {
            if (from < _start || from >= _start + _valid) Load(from);
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
            if (from < _start || from >= _start + _valid) Load(from);
            int shift = from - _start;
            // Past the valid bytes of a short final block the digit bits are 0, so the run stops at the data's end.
            ulong nonDigits = ~_digits >> shift;
            if (nonDigits != 0) return Math.Min(from + BitOperations.TrailingZeroCount(nonDigits), _data.Length);
            from = _start + _valid;
        }
        return _data.Length;
    }

    private void Load(int at)
    {
        _start = at;
        int available = _data.Length - at;
        ref byte origin = ref Unsafe.Add(ref MemoryMarshal.GetReference(_data), at);
        if (available >= BlockSize && Vector512.IsHardwareAccelerated)
        {
            // One 64-byte vector: the comparisons yield mask registers directly, so the 0xEF test costs one compare.
            _valid = BlockSize;
            Vector512<byte> v = Vector512.LoadUnsafe(ref origin);
            _digits = Vector512.LessThan(v - Vector512.Create((byte)'0'), Vector512.Create((byte)10)).ExtractMostSignificantBits();
            _encodedStarts = (Vector512.Equals(v, Vector512.Create((byte)'\\')) | Vector512.Equals(v, Vector512.Create(FullwidthForms.FullwidthLead)))
                .ExtractMostSignificantBits();
            _quotes = Vector512.Equals(v, Vector512.Create((byte)'"')).ExtractMostSignificantBits();
            return;
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
            // A fullwidth lead byte has its top bit set: one test spares all-ASCII blocks (most JSON) the compares.
            if ((low | high).ExtractMostSignificantBits() != 0)
            {
                Vector256<byte> lead = Vector256.Create(FullwidthForms.FullwidthLead);
                _encodedStarts |= Vector256.Equals(low, lead).ExtractMostSignificantBits()
                    | (ulong)Vector256.Equals(high, lead).ExtractMostSignificantBits() << 32;
            }
            return;
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
            if (any.ExtractMostSignificantBits() != 0)
            {
                Vector128<byte> lead = Vector128.Create(FullwidthForms.FullwidthLead);
                for (int k = 0; k < 4; k++)
                    encodedStarts |= (ulong)Vector128.Equals(Vector128.LoadUnsafe(ref origin, (nuint)(k * 16)), lead).ExtractMostSignificantBits() << (k * 16);
            }
            _digits = digits;
            _encodedStarts = encodedStarts;
            _quotes = quotes;
            return;
        }
        int count = Math.Min(available, BlockSize);
        _valid = count;
        ulong ds = 0, es = 0, qs = 0;
        for (int k = 0; k < count; k++)
        {
            byte b = Unsafe.Add(ref origin, k);
            ulong bit = 1UL << k;
            if ((uint)(b - '0') <= 9) ds |= bit;
            else if (b is (byte)'\\' or FullwidthForms.FullwidthLead) es |= bit;
            else if (b == (byte)'"') qs |= bit;
        }
        _digits = ds;
        _encodedStarts = es;
        _quotes = qs;
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
