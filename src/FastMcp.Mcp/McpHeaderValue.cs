using System.Buffers;
using System.Buffers.Text;

namespace FastMcp.Mcp;

/// <summary>
/// Mcp-Name / Mcp-Param-* header values of MCP 2026-07-28: plain visible ASCII, or the UTF-8 bytes in base64
/// between the case-sensitive markers <c>=?base64?</c> and <c>?=</c>. Intermediaries that inspect them must decode.
/// </summary>
public static class McpHeaderValue
{
    private static ReadOnlySpan<byte> Prefix => "=?base64?"u8;
    private static ReadOnlySpan<byte> Suffix => "?="u8;

    /// <summary>Bytes needed to decode any sentinel value of a header of <paramref name="headerLength"/> bytes.</summary>
    public static int MaxDecodedLength(int headerLength) => Base64.GetMaxDecodedFromUtf8Length(Math.Max(headerLength, 0));

    /// <summary>Removes leading and trailing optional whitespace (SP, HTAB).</summary>
    public static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> value)
    {
        int start = value.IndexOfAnyExcept((byte)' ', (byte)'\t');
        if (start < 0)
        {
            return ReadOnlySpan<byte>.Empty;
        }
        int end = value.LastIndexOfAnyExcept((byte)' ', (byte)'\t');
        return value[start..(end + 1)];
    }

    /// <summary>True when every byte is a field-value character: visible ASCII, SP or HTAB.</summary>
    public static bool IsFieldValue(ReadOnlySpan<byte> value)
    {
        foreach (byte b in value)
        {
            if (b is not ((>= 0x20 and <= 0x7E) or 0x09))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>True when the (trimmed) value uses the base64 sentinel form.</summary>
    public static bool IsEncoded(ReadOnlySpan<byte> value) =>
        value.Length >= Prefix.Length + Suffix.Length && value.StartsWith(Prefix) && value.EndsWith(Suffix);

    /// <summary>
    /// Trims and validates <paramref name="raw"/>; a sentinel value is decoded into <paramref name="scratch"/>.
    /// <paramref name="value"/> is the text to compare with the body (a slice of raw or of scratch).
    /// </summary>
    public static McpHeaderValueStatus Decode(ReadOnlySpan<byte> raw, Span<byte> scratch, out ReadOnlySpan<byte> value)
    {
        value = default;
        ReadOnlySpan<byte> trimmed = Trim(raw);
        if (!IsFieldValue(trimmed))
        {
            return McpHeaderValueStatus.Malformed;
        }
        if (!IsEncoded(trimmed))
        {
            value = trimmed;
            return McpHeaderValueStatus.Plain;
        }
        ReadOnlySpan<byte> payload = trimmed[Prefix.Length..^Suffix.Length];
        if (payload.IndexOfAny((byte)' ', (byte)'\t') >= 0)
        {
            // The decoder skips whitespace; inside a header token it is not base64.
            return McpHeaderValueStatus.Malformed;
        }
        if (Base64.GetMaxDecodedFromUtf8Length(payload.Length) > scratch.Length)
        {
            return McpHeaderValueStatus.TooLong;
        }
        OperationStatus status = Base64.DecodeFromUtf8(payload, scratch, out int consumed, out int written);
        if (status != OperationStatus.Done || consumed != payload.Length)
        {
            return McpHeaderValueStatus.Malformed;
        }
        value = scratch[..written];
        return McpHeaderValueStatus.Decoded;
    }
}
