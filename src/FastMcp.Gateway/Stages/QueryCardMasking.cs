using System.Buffers;
using FastMcp.Pan;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Card numbers in the request target's query ("?account=4111…"), which the gateway forwards to the upstream. The
/// upstream reads the query decoded (percent escapes, '+' as a space), so it is scanned decoded: "%34%31…" and
/// "4111+1111+…" are card numbers too. Masking writes each masked byte back where it came from, in the same width:
/// a literal digit becomes the mask byte, an escaped byte the escape of its mask ("%34" becomes "%2A"), so the query
/// keeps its length and its structure ('&amp;', '=') wherever the escapes hid one.
/// </summary>
internal static class QueryCardMasking
{
    private const int StackLimit = 512;

    /// <summary>Whether the decoded query holds a card number (block mode).</summary>
    public static bool HoldsCard(ReadOnlySpan<byte> query)
    {
        if (CannotHoldDigits(query)) return false;
        byte[]? rented = null;
        Span<byte> decoded = query.Length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(query.Length));
        try
        {
            int n = Decode(query, decoded);
            return PanMasker.ContainsCardNumber(decoded[..n]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Masks the card numbers of the decoded query in <paramref name="query"/> itself (the request head's buffer).
    /// False when a masked byte cannot be written back in its own width (a mask byte that would change the query's
    /// meaning or is not allowed in a request target): the caller refuses the request rather than forward the number.
    /// </summary>
    public static bool TryMaskInPlace(PanMasker masker, Span<byte> query, ref CardFindings findings)
    {
        if (CannotHoldDigits(query)) return true;
        byte[]? rented = null;
        Span<byte> decoded = query.Length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(query.Length));
        try
        {
            Span<byte> masked = decoded[..Decode(query, decoded)];
            if (masker.MaskTextInPlace(masked, ref findings) == 0) return true;
            return WriteBack(query, masked);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // A request target is ASCII: a digit of any script needs an ASCII digit or a percent escape.
    private static bool CannotHoldDigits(ReadOnlySpan<byte> query) =>
        query.Length < 2 || (query.IndexOfAnyInRange((byte)'0', (byte)'9') < 0 && !query.Contains((byte)'%'));

    /// <summary>The query as its reader sees it: "%XX" as the byte XX, '+' as a space, anything else as sent.</summary>
    private static int Decode(ReadOnlySpan<byte> query, Span<byte> decoded)
    {
        int n = 0;
        for (int i = 0; i < query.Length; n++)
        {
            decoded[n] = DecodedAt(query, ref i);
        }
        return n;
    }

    private static byte DecodedAt(ReadOnlySpan<byte> query, ref int i)
    {
        byte b = query[i];
        if (b == (byte)'%' && IsEscape(query, i))
        {
            i += 3;
            return (byte)(HexValue(query[i - 2]) << 4 | HexValue(query[i - 1]));
        }
        i++;
        return b == (byte)'+' ? (byte)' ' : b;
    }

    private static bool IsEscape(ReadOnlySpan<byte> query, int i) =>
        i + 2 < query.Length && HexValue(query[i + 1]) >= 0 && HexValue(query[i + 2]) >= 0;

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>Writes every byte the masker changed back over its source: an escape as the escape of the new byte.</summary>
    private static bool WriteBack(Span<byte> query, ReadOnlySpan<byte> masked)
    {
        for (int i = 0, n = 0; i < query.Length; n++)
        {
            int start = i;
            byte original = DecodedAt(query, ref i);
            byte now = masked[n];
            if (now == original) continue;
            if (i - start == 3)
            {
                query[start + 1] = HexDigit(now >> 4);
                query[start + 2] = HexDigit(now & 0xF);
            }
            else if (IsPlainInQuery(now))
            {
                query[start] = now;
            }
            else
            {
                return false;
            }
        }
        return true;
    }

    private static byte HexDigit(int v) => (byte)(v < 10 ? '0' + v : 'A' + v - 10);

    // What a query may hold literally without changing how it splits or decodes: not '&', '=', '+', '%', '#'.
    private static bool IsPlainInQuery(byte b) =>
        b is (byte)'*' or (byte)'!' or (byte)'$' or (byte)'\'' or (byte)'(' or (byte)')' or (byte)',' or (byte)';'
            or (byte)':' or (byte)'@' or (byte)'/' or (byte)'?' or (byte)'.' or (byte)'_' or (byte)'~'
        || (b is >= (byte)'a' and <= (byte)'z') || (b is >= (byte)'A' and <= (byte)'Z');
}
