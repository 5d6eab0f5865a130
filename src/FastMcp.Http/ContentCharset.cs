using System.Text;

namespace FastMcp.Http;

/// <summary>
/// Whether a message's Content-Type lets its text be read as UTF-8, the only reading the gateway's stages make. A peer
/// that honours a charset parameter decodes other charsets into other text (UTF-7's <c>+ADQ-</c> is a <c>4</c> no
/// byte scan sees), so a Content-Type field is acceptable only alone and with no charset but UTF-8 (quoted or not,
/// any case). Other parameters are not the gateway's concern. Parameters are split at every ';' without honouring
/// quotes, so a quoted string cannot hide a charset that another parser would find.
/// </summary>
public static class ContentCharset
{
    /// <summary>True when no Content-Type field names a charset other than UTF-8 and there is at most one field.</summary>
    public static bool IsUtf8OrUnstated(HttpHeaderTable headers)
    {
        int index = OnlyContentTypeField(headers);
        if (index == NoField) return true;
        if (index == SeveralFields) return false;
        ReadOnlySpan<byte> value = headers.ValueAt(index);
        int semicolon = value.IndexOf((byte)';');
        while (semicolon >= 0)
        {
            value = value[(semicolon + 1)..];
            semicolon = value.IndexOf((byte)';');
            ReadOnlySpan<byte> parameter = HttpTokens.TrimOws(semicolon < 0 ? value : value[..semicolon]);
            int equals = parameter.IndexOf((byte)'=');
            ReadOnlySpan<byte> name = HttpTokens.TrimOws(equals < 0 ? parameter : parameter[..equals]);
            if (Ascii.EqualsIgnoreCase(name, "charset"u8) && !IsUtf8Charset(parameter)) return false;
        }
        return true;
    }

    internal const int NoField = -1, SeveralFields = -2;

    /// <summary>
    /// The index of the message's one Content-Type field; <see cref="NoField"/>, or <see cref="SeveralFields"/> when there
    /// are two or more (peers differ on which of them counts, or join them, so none is read).
    /// </summary>
    internal static int OnlyContentTypeField(HttpHeaderTable headers)
    {
        int index = headers.IndexOf(KnownHeader.ContentType);
        if (index < 0) return NoField;
        for (int i = index + 1; i < headers.Count; i++)
        {
            if (headers.KindAt(i) == KnownHeader.ContentType) return SeveralFields;
        }
        return index;
    }

    /// <summary>True for exactly <c>charset=utf-8</c> or <c>charset="utf-8"</c>, in any case.</summary>
    internal static bool IsUtf8Charset(ReadOnlySpan<byte> parameter)
    {
        const int NameLength = 8; // "charset="
        if (parameter.Length < NameLength || !Ascii.EqualsIgnoreCase(parameter[..NameLength], "charset="u8)) return false;
        ReadOnlySpan<byte> charset = parameter[NameLength..];
        if (charset.Length == 7 && charset[0] == (byte)'"' && charset[^1] == (byte)'"') charset = charset[1..^1];
        return Ascii.EqualsIgnoreCase(charset, "utf-8"u8);
    }
}
