namespace FastMcp.Mcp;

/// <summary>What <see cref="McpHeaderValue.Decode"/> found.</summary>
public enum McpHeaderValueStatus : byte
{
    /// <summary>A plain header value (returned trimmed, not copied).</summary>
    Plain,
    /// <summary>A <c>=?base64?…?=</c> value, decoded into the scratch buffer.</summary>
    Decoded,
    /// <summary>Bytes outside RFC 9110 field-value characters, or a sentinel whose payload is not base64.</summary>
    Malformed,
    /// <summary>The decoded value does not fit the scratch buffer (see <see cref="McpHeaderValue.MaxDecodedLength"/>).</summary>
    TooLong,
}
