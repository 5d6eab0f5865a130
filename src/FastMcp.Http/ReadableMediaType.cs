using System.Text;

namespace FastMcp.Http;

/// <summary>
/// Whether an answer's body is of a media type whose bytes a client reads as the text they are, the only reading the
/// gateway's stages make: JSON (application/json, any application/*+json such as problem+json), plain text, or no type
/// stated (JSON clients parse an untyped body as it is). Other types carry an encoding of their own that a client
/// decodes and the masker does not: HTML and XML character references (<c>&amp;#52;</c> is a 4), percent-encoding,
/// multipart parts in base64 or quoted-printable, opaque bytes a client hands to another decoder.
/// </summary>
public static class ReadableMediaType
{
    /// <summary>True when the one Content-Type field (or none) names a media type the stages read as the client does.</summary>
    public static bool IsReadableText(HttpHeaderTable headers)
    {
        int index = ContentCharset.OnlyContentTypeField(headers);
        if (index == ContentCharset.NoField) return true;
        if (index == ContentCharset.SeveralFields) return false;
        ReadOnlySpan<byte> value = headers.ValueAt(index);
        int semicolon = value.IndexOf((byte)';');
        ReadOnlySpan<byte> type = HttpTokens.TrimOws(semicolon < 0 ? value : value[..semicolon]);
        if (Ascii.EqualsIgnoreCase(type, "application/json"u8) || Ascii.EqualsIgnoreCase(type, "text/plain"u8)) return true;
        // A structured-syntax suffix (RFC 6839): the body is JSON whatever the subtype.
        const int Prefix = 12, Suffix = 5; // "application/", "+json"
        return type.Length > Prefix + Suffix && Ascii.EqualsIgnoreCase(type[..Prefix], "application/"u8) && Ascii.EqualsIgnoreCase(type[^Suffix..], "+json"u8);
    }
}
