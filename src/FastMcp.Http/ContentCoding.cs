using System.Text;

namespace FastMcp.Http;

/// <summary>
/// Whether a message body is sent as is. A gateway that inspects bodies cannot judge compressed bytes, so it
/// asks for identity and refuses anything else: Content-Encoding other than identity, or a Transfer-Encoding
/// coding other than chunked (RFC 9110 8.4, RFC 9112 6.1).
/// </summary>
public static class ContentCoding
{
    /// <summary>True when no Content-Encoding or Transfer-Encoding line names a coding other than identity / chunked.</summary>
    public static bool IsIdentity(HttpHeaderTable headers)
    {
        for (int i = 0; i < headers.Count; i++)
        {
            KnownHeader kind = headers.KindAt(i);
            if (kind == KnownHeader.TransferEncoding)
            {
                if (!OnlyCodings(headers.ValueAt(i), "chunked"u8)) return false;
            }
            else if (kind == KnownHeader.Other && Ascii.EqualsIgnoreCase(headers.NameAt(i), "Content-Encoding"u8))
            {
                if (!OnlyCodings(headers.ValueAt(i), "identity"u8)) return false;
            }
        }
        return true;
    }

    /// <summary>True when every element of the comma-separated list is <paramref name="allowed"/> (or empty).</summary>
    private static bool OnlyCodings(ReadOnlySpan<byte> list, ReadOnlySpan<byte> allowed)
    {
        while (true)
        {
            int comma = list.IndexOf((byte)',');
            ReadOnlySpan<byte> element = HttpTokens.TrimOws(comma < 0 ? list : list[..comma]);
            if (!element.IsEmpty && !Ascii.EqualsIgnoreCase(element, allowed)) return false;
            if (comma < 0) return true;
            list = list[(comma + 1)..];
        }
    }
}
