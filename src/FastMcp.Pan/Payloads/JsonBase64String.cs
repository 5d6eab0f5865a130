using System.Buffers;

namespace FastMcp.Pan.Payloads;

/// <summary>
/// Masks card numbers inside one JSON string that holds base64 (the raw bytes between its quotes, escapes as written):
/// decodes it the way lenient decoders do (both alphabets, whitespace and JSON escapes skipped, trailing padding), masks
/// the decoded bytes as text, and writes back only the base64 characters that changed, each in the place and width of
/// the one it replaces (a plain character, or a <c>\u00XX</c> escape where the encoder escaped, as System.Text.Json
/// does with '+'). The string keeps its length, so the message keeps its framing.
/// </summary>
public static class JsonBase64String
{
    /// <summary>Fewer base64 characters than this decode to fewer bytes than the shortest card number.</summary>
    public const int MinimumCharacters = 16;

    public enum Result : byte
    {
        /// <summary>Not base64 text, or too short to hold a card number: left as it is.</summary>
        NotBase64,
        /// <summary>Base64 holding no card number: left as it is.</summary>
        Clean,
        /// <summary>Card numbers were masked in the decoded bytes and the changed characters rewritten.</summary>
        Masked,
        /// <summary>A changed character sits where its replacement cannot be written in the same width: refuse the message.</summary>
        Unmaskable,
    }

    // 0-63: a base64 digit (standard and URL-safe alphabets); Pad: '='; Space: skipped by decoders; Invalid: not base64.
    private const byte Pad = 64, Space = 65, Invalid = 255;

    private static readonly byte[] Values = BuildValues();

    private static byte[] BuildValues()
    {
        byte[] v = new byte[256];
        Array.Fill(v, Invalid);
        for (int i = 0; i < 26; i++)
        {
            v['A' + i] = (byte)i;
            v['a' + i] = (byte)(26 + i);
        }
        for (int i = 0; i < 10; i++) v['0' + i] = (byte)(52 + i);
        v['+'] = 62;
        v['-'] = 62;
        v['/'] = 63;
        v['_'] = 63;
        v['='] = Pad;
        v[' '] = Space;
        v['\t'] = Space;
        v['\r'] = Space;
        v['\n'] = Space;
        return v;
    }

    /// <summary>One character of the string as a decoder reads it: its value and how many bytes it takes in the JSON.</summary>
    private static bool Next(ReadOnlySpan<byte> content, ref int at, out byte value, out int width)
    {
        byte b = content[at];
        if (b != (byte)'\\')
        {
            value = Values[b];
            width = 1;
            return value != Invalid;
        }
        width = 2;
        value = Invalid;
        if (at + 1 >= content.Length) return false;
        switch (content[at + 1])
        {
            case (byte)'/': value = 63; return true;
            case (byte)'n' or (byte)'r' or (byte)'t': value = Space; return true;
            case (byte)'u':
                width = 6;
                if (at + 6 > content.Length || !TryHex(content.Slice(at + 2, 4), out int code) || code > 0x7F) return false;
                value = Values[code];
                return value != Invalid;
            default: return false;
        }
    }

    private static bool TryHex(ReadOnlySpan<byte> hex, out int code)
    {
        code = 0;
        foreach (byte h in hex)
        {
            int d = h is >= (byte)'0' and <= (byte)'9' ? h - '0' : (h | 0x20) is >= (byte)'a' and <= (byte)'f' ? (h | 0x20) - 'a' + 10 : -1;
            if (d < 0) return false;
            code = code * 16 + d;
        }
        return true;
    }

    /// <summary>Masks the card numbers base64 <paramref name="content"/> decodes to; see <see cref="Result"/>.</summary>
    public static Result MaskInPlace<TSink>(PanMasker masker, Span<byte> content, ref TSink sink, out int found) where TSink : IPanFindingSink
    {
        found = 0;
        if (!IsBase64(content, out int digits, out bool urlSafe)) return Result.NotBase64;
        int decodedLength = digits * 6 / 8;
        byte[] rented = ArrayPool<byte>.Shared.Rent(decodedLength);
        try
        {
            Span<byte> decoded = rented.AsSpan(0, decodedLength);
            Decode(content, decoded);
            found = masker.MaskTextInPlace(decoded, ref sink);
            if (found == 0) return Result.Clean;
            // Checked whole before anything is written: an unmaskable payload is left exactly as it was, so a copy of it can
            // be found unmaskable again (and blanked) rather than read as clean with half its digits masked.
            if (!RewriteChanged(content, decoded, urlSafe, write: false)) return Result.Unmaskable;
            RewriteChanged(content, decoded, urlSafe, write: true);
            return Result.Masked;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>True when base64 <paramref name="content"/> decodes to text holding a card number (nothing is changed).</summary>
    public static bool ContainsCardNumber(ReadOnlySpan<byte> content) => DecodedHolds(content, trackData: false);

    /// <summary>True when base64 <paramref name="content"/> decodes to text holding track data after a card number.</summary>
    public static bool ContainsTrackData(ReadOnlySpan<byte> content) => DecodedHolds(content, trackData: true);

    private static bool DecodedHolds(ReadOnlySpan<byte> content, bool trackData)
    {
        if (!IsBase64(content, out int digits, out _)) return false;
        int decodedLength = digits * 6 / 8;
        byte[] rented = ArrayPool<byte>.Shared.Rent(decodedLength);
        try
        {
            Span<byte> decoded = rented.AsSpan(0, decodedLength);
            Decode(content, decoded);
            return trackData ? PanMasker.ContainsTrackData(decoded) : PanMasker.ContainsCardNumber(decoded);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Whether the string is one base64 text long enough to hold a card number: digits, whitespace, padding only at its end.</summary>
    private static bool IsBase64(ReadOnlySpan<byte> content, out int digits, out bool urlSafe)
    {
        digits = 0;
        urlSafe = false;
        int padding = 0;
        for (int at = 0; at < content.Length;)
        {
            if (!Next(content, ref at, out byte value, out int width)) return false;
            if (value < 64)
            {
                if (padding > 0) return false;
                digits++;
                if (width == 1 && content[at] is (byte)'-' or (byte)'_') urlSafe = true;
            }
            else if (value == Pad)
            {
                padding++;
            }
            at += width;
        }
        return digits >= MinimumCharacters && padding <= 2 && digits % 4 != 1;
    }

    private static void Decode(ReadOnlySpan<byte> content, Span<byte> decoded)
    {
        int bits = 0, held = 0, written = 0;
        for (int at = 0; at < content.Length;)
        {
            Next(content, ref at, out byte value, out int width);
            at += width;
            if (value >= 64) continue;
            bits = (bits << 6) | value;
            held += 6;
            if (held < 8) continue;
            held -= 8;
            if (written < decoded.Length) decoded[written++] = (byte)(bits >> held);
            bits &= (1 << held) - 1;
        }
    }

    /// <summary>Second pass: each base64 digit whose value the masked bytes changed is written over, in its own width.</summary>
    private static bool RewriteChanged(Span<byte> content, ReadOnlySpan<byte> masked, bool urlSafe, bool write)
    {
        int index = 0;
        for (int at = 0; at < content.Length;)
        {
            Next(content, ref at, out byte value, out int width);
            if (value < 64)
            {
                int now = DigitAt(masked, index++, value);
                if (now != value && !WriteDigit(content.Slice(at, width), now, urlSafe, write)) return false;
            }
            at += width;
        }
        return true;
    }

    /// <summary>
    /// The value of base64 digit <paramref name="index"/> re-encoded from <paramref name="bytes"/>; a last digit's bits past the
    /// data (non-canonical encoders may set them) keep what <paramref name="original"/> had.
    /// </summary>
    private static int DigitAt(ReadOnlySpan<byte> bytes, int index, int original)
    {
        int bit = index * 6;
        int value = 0;
        for (int i = 0; i < 6; i++, bit++)
        {
            int b = bit >> 3;
            int v = b < bytes.Length ? (bytes[b] >> (7 - (bit & 7))) & 1 : (original >> (5 - i)) & 1;
            value = (value << 1) | v;
        }
        return value;
    }

    /// <summary>Writes digit <paramref name="value"/> over <paramref name="slot"/>, or with <paramref name="write"/> false only says whether it can.</summary>
    private static bool WriteDigit(Span<byte> slot, int value, bool urlSafe, bool write)
    {
        byte c = value switch
        {
            < 26 => (byte)('A' + value),
            < 52 => (byte)('a' + value - 26),
            < 62 => (byte)('0' + value - 52),
            62 => urlSafe ? (byte)'-' : (byte)'+',
            _ => urlSafe ? (byte)'_' : (byte)'/',
        };
        // A two-byte escape can only be "\/", and no other character fits two bytes: the caller refuses the message rather
        // than leave the card. Only a masked Devanagari nine before a non-ASCII byte gets here.
        if (slot.Length is not (1 or 6)) return c == (byte)'/';
        if (!write) return true;
        if (slot.Length == 1)
        {
            slot[0] = c;
            return true;
        }
        "\\u00"u8.CopyTo(slot);
        slot[4] = Hex(c >> 4);
        slot[5] = Hex(c & 0xF);
        return true;
    }

    private static byte Hex(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'A' + nibble - 10);
}
