using System.Buffers;
using System.Text.Unicode;

namespace FastMcp.Policy;

/// <summary>
/// The request target's query read as the upstream reads it (application/x-www-form-urlencoded, as web frameworks
/// parse a query): <c>&amp;</c>-separated <c>name=value</c> pairs, percent escapes decoded, <c>+</c> as a space, the
/// bytes UTF-8. Works on the raw text after <c>?</c>, copying nothing: a name is compared as it is decoded.
/// </summary>
internal static class QueryText
{
    // Queries up to this many bytes are decoded on the stack; longer ones (up to PolicyEngine.MaxQueryBytes) in a pooled buffer.
    internal const int StackDecodeLimit = 512;

    /// <summary>The query without the <c>?</c> that starts it in a request target, if it has one.</summary>
    public static ReadOnlySpan<byte> WithoutQuestionMark(ReadOnlySpan<byte> query) =>
        !query.IsEmpty && query[0] == (byte)'?' ? query[1..] : query;

    /// <summary>The next non-empty pair of <paramref name="rest"/> (advanced past it); a pair without '=' has an empty value.</summary>
    public static bool Next(ref ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        while (!rest.IsEmpty)
        {
            int amp = rest.IndexOf((byte)'&');
            ReadOnlySpan<byte> pair = amp < 0 ? rest : rest[..amp];
            rest = amp < 0 ? default : rest[(amp + 1)..];
            if (pair.IsEmpty) continue;
            int eq = pair.IndexOf((byte)'=');
            name = eq < 0 ? pair : pair[..eq];
            value = eq < 0 ? default : pair[(eq + 1)..];
            return true;
        }
        name = value = default;
        return false;
    }

    /// <summary>
    /// Whether every server reads <paramref name="query"/> the same way, so that a decision on it holds for the upstream:
    /// within <see cref="PolicyEngine.MaxQueryBytes"/>; no <c>;</c> (which some servers take for a separator); every
    /// <c>%</c> the start of an escape; UTF-8 once decoded; and no parameter named in <paramref name="names"/> given
    /// twice or spelled in another letter case (frameworks differ on which of two values, or which case, they read).
    /// </summary>
    public static bool IsReadable(ReadOnlySpan<byte> query, byte[][] names)
    {
        if (query.Length > PolicyEngine.MaxQueryBytes || query.Contains((byte)';')) return false;
        for (int i = query.IndexOf((byte)'%'); i >= 0; i = NextPercent(query, i + 3))
        {
            if (!IsEscape(query, i)) return false;
        }
        if (!DecodesToUtf8(query)) return false;
        foreach (byte[] wanted in names)
        {
            int seen = 0;
            ReadOnlySpan<byte> rest = query;
            while (Next(ref rest, out ReadOnlySpan<byte> name, out _))
            {
                if (!DecodedEquals(name, wanted, ignoreAsciiCase: true)) continue;
                if (++seen > 1 || !DecodedEquals(name, wanted, ignoreAsciiCase: false)) return false;
            }
        }
        return true;
    }

    private static int NextPercent(ReadOnlySpan<byte> query, int from)
    {
        if (from >= query.Length) return -1;
        int at = query[from..].IndexOf((byte)'%');
        return at < 0 ? -1 : from + at;
    }

    private static bool DecodesToUtf8(ReadOnlySpan<byte> query)
    {
        // Without an escape the query is the request target's ASCII; a caller of the library may pass anything.
        if (!query.Contains((byte)'%')) return Utf8.IsValid(query);
        byte[]? rented = null;
        Span<byte> decoded = query.Length <= StackDecodeLimit ? stackalloc byte[StackDecodeLimit] : (rented = ArrayPool<byte>.Shared.Rent(query.Length));
        try
        {
            return Utf8.IsValid(decoded[..Decode(query, decoded)]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Decodes <paramref name="raw"/> (a name or a value) into <paramref name="decoded"/>, at least as long; returns the length.</summary>
    public static int Decode(ReadOnlySpan<byte> raw, Span<byte> decoded)
    {
        int n = 0;
        for (int i = 0; i < raw.Length;) decoded[n++] = DecodedAt(raw, ref i);
        return n;
    }

    /// <summary>Whether <paramref name="raw"/> decodes to <paramref name="wanted"/> (ASCII letters folded when asked).</summary>
    public static bool DecodedEquals(ReadOnlySpan<byte> raw, ReadOnlySpan<byte> wanted, bool ignoreAsciiCase)
    {
        int n = 0;
        for (int i = 0; i < raw.Length; n++)
        {
            if (n >= wanted.Length) return false;
            byte b = DecodedAt(raw, ref i);
            if (b != wanted[n] && !(ignoreAsciiCase && Fold(b) == Fold(wanted[n]))) return false;
        }
        return n == wanted.Length;
    }

    private static byte Fold(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;

    private static byte DecodedAt(ReadOnlySpan<byte> raw, ref int i)
    {
        byte b = raw[i];
        if (b == (byte)'%' && IsEscape(raw, i))
        {
            i += 3;
            return (byte)(HexValue(raw[i - 2]) << 4 | HexValue(raw[i - 1]));
        }
        i++;
        return b == (byte)'+' ? (byte)' ' : b;
    }

    private static bool IsEscape(ReadOnlySpan<byte> raw, int i) =>
        i + 2 < raw.Length && HexValue(raw[i + 1]) >= 0 && HexValue(raw[i + 2]) >= 0;

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
