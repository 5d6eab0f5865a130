namespace FastMcp.Mcp;

/// <summary>
/// Why a list answer could not be filtered (<see cref="ListResultFilter"/> wrote nothing; the gateway withholds it). Said in
/// the client's error and the audit record, so that an operator can tell an upstream's broken answer from one a rule of
/// the gateway refuses (docs/mcp-handling.md, "What the gateway filters, and what it refuses").
/// </summary>
public enum ListFilterRefusal : byte
{
    /// <summary>Filtered (nothing refused).</summary>
    None,
    /// <summary>The bytes are not UTF-8.</summary>
    NotUtf8,
    /// <summary>Not one well-formed JSON value: broken or truncated, trailing data, an escape that is not Unicode (a lone surrogate).</summary>
    InvalidJson,
    /// <summary>Objects and arrays nested deeper than <see cref="McpInspector.MaxDepth"/>, anywhere in the message.</summary>
    TooDeep,
    /// <summary>Not a success answer whose result holds the list as one array (an error answer, no result, the list missing or not an array).</summary>
    NotAListResult,
    /// <summary>Some object names a member twice after unescaping: two results, the list twice, an entry's name twice, or any other object.</summary>
    DuplicateMember,
    /// <summary>
    /// Two member names of one object differ only in letter case, or a member differs only so from the envelope's, result's, the
    /// list's or an entry's identifying member (<c>"TOOLS"</c>, <c>"Name"</c>): a case-insensitive client reads another list.
    /// </summary>
    CaseVariantMember,
    /// <summary>
    /// A member name holds a control character (U+0000-U+001F or U+007F, only possible escaped), in any object of the message, a
    /// tool's input schema included: some decoders drop such characters when they match names, so no reading is certain.
    /// </summary>
    ControlCharacterInMemberName,
    /// <summary>Not a JSON-RPC message the gateway reads, or one it cannot match to the list it answers (a batch's answer naming no list request).</summary>
    Unreadable,
}
