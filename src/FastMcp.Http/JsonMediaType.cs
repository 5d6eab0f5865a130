using System.Text;

namespace FastMcp.Http;

/// <summary>
/// Whether a request declares its body as JSON in UTF-8, the only reading the gateway decides on. A peer that honours
/// a charset parameter decodes other charsets into other text (body-parser with iconv-lite turns UTF-7's
/// <c>+ACIAfQAs-</c> into <c>"},</c>), so anything the gateway would not read the same way is refused: exactly one
/// Content-Type field, media type application/json, and no parameter but <c>charset=utf-8</c> (quoted or not,
/// either part in any case). Parameters are split at every ';' without honouring quotes, so a quoted string cannot
/// hide a charset from this check that another parser would find.
/// </summary>
public static class JsonMediaType
{
    /// <summary>True when the request has one Content-Type field and it says application/json, UTF-8 if anything.</summary>
    public static bool IsUtf8Json(HttpHeaderTable headers)
    {
        int index = ContentCharset.OnlyContentTypeField(headers);
        if (index < 0) return false; // none, or several (peers differ on which of two counts, or join them)
        ReadOnlySpan<byte> value = headers.ValueAt(index);
        int semicolon = value.IndexOf((byte)';');
        ReadOnlySpan<byte> type = HttpTokens.TrimOws(semicolon < 0 ? value : value[..semicolon]);
        if (!Ascii.EqualsIgnoreCase(type, "application/json"u8)) return false;
        while (semicolon >= 0)
        {
            value = value[(semicolon + 1)..];
            semicolon = value.IndexOf((byte)';');
            ReadOnlySpan<byte> parameter = HttpTokens.TrimOws(semicolon < 0 ? value : value[..semicolon]);
            // RFC 9110 8.3.1 allows empty parameters ("application/json;").
            if (!parameter.IsEmpty && !ContentCharset.IsUtf8Charset(parameter)) return false;
        }
        return true;
    }
}
