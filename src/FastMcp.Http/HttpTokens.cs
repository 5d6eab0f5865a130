using System.Buffers;
using System.Text;

namespace FastMcp.Http;

/// <summary>Character classes and small list helpers from RFC 9110.</summary>
public static class HttpTokens
{
    /// <summary>tchar: what a method or header name may contain.</summary>
    public static readonly SearchValues<byte> TokenChars = SearchValues.Create(
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"u8);

    /// <summary>Bytes never allowed in a field value: controls other than HTAB, and DEL.</summary>
    public static readonly SearchValues<byte> InvalidValueChars = SearchValues.Create(
        "\0\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000a\u000b\u000c\u000d\u000e\u000f\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f\u007f"u8);

    /// <summary>Bytes never allowed in a request-target: controls, space, DEL and non-ASCII.</summary>
    public static readonly SearchValues<byte> InvalidTargetChars = CreateInvalidTargetChars();

    public static bool IsToken(ReadOnlySpan<byte> value) => !value.IsEmpty && !value.ContainsAnyExcept(TokenChars);

    public static ReadOnlySpan<byte> TrimOws(ReadOnlySpan<byte> value)
    {
        int start = 0, end = value.Length;
        while (start < end && (value[start] == (byte)' ' || value[start] == (byte)'\t')) start++;
        while (end > start && (value[end - 1] == (byte)' ' || value[end - 1] == (byte)'\t')) end--;
        return value[start..end];
    }

    /// <summary>True when a comma-separated field value contains <paramref name="token"/> (case-insensitive).</summary>
    public static bool ListContains(ReadOnlySpan<byte> list, ReadOnlySpan<byte> token)
    {
        while (!list.IsEmpty)
        {
            int comma = list.IndexOf((byte)',');
            ReadOnlySpan<byte> item = comma < 0 ? list : list[..comma];
            if (Ascii.EqualsIgnoreCase(TrimOws(item), token)) return true;
            if (comma < 0) break;
            list = list[(comma + 1)..];
        }
        return false;
    }

    /// <summary>Parses a non-negative decimal without sign or whitespace; false on overflow or junk.</summary>
    public static bool TryParseDecimal(ReadOnlySpan<byte> digits, out long value)
    {
        value = 0;
        if (digits.IsEmpty || digits.Length > 18) return false;
        foreach (byte b in digits)
        {
            uint d = (uint)(b - '0');
            if (d > 9) return false;
            value = value * 10 + d;
        }
        return true;
    }

    private static SearchValues<byte> CreateInvalidTargetChars()
    {
        var bytes = new List<byte>();
        for (int b = 0; b <= 0x20; b++) bytes.Add((byte)b);
        for (int b = 0x7f; b <= 0xff; b++) bytes.Add((byte)b);
        bytes.Add((byte)'"');
        bytes.Add((byte)'#'); // a fragment never belongs to a request target (RFC 9112 3.2)
        bytes.Add((byte)'<');
        bytes.Add((byte)'>');
        bytes.Add((byte)'\\');
        bytes.Add((byte)'^');
        bytes.Add((byte)'`');
        bytes.Add((byte)'{');
        bytes.Add((byte)'|');
        bytes.Add((byte)'}');
        return SearchValues.Create(bytes.ToArray());
    }
}
