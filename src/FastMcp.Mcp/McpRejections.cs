namespace FastMcp.Mcp;

/// <summary>
/// The one JSON-RPC code, HTTP status and message for each way a request is rejected here, so that every caller
/// answers the same rejection the same way (docs/mcp-handling.md lists them).
/// </summary>
public static class McpRejections
{
    /// <summary>JSON-RPC code for an inspection failure: -32700 when the bytes are not JSON, -32600 when the JSON is not a valid request, -32602 for params.</summary>
    public static int JsonRpcCode(McpInspectError error) => error switch
    {
        McpInspectError.EmptyBody or McpInspectError.InvalidJson or McpInspectError.TooDeep => JsonRpcErrorCodes.ParseError,
        McpInspectError.InvalidParams or McpInspectError.InvalidCancelledRequestId => JsonRpcErrorCodes.InvalidParams,
        _ => JsonRpcErrorCodes.InvalidRequest,
    };

    /// <summary>Message text for an inspection failure (static UTF-8).</summary>
    public static ReadOnlySpan<byte> Message(McpInspectError error) => error switch
    {
        McpInspectError.EmptyBody => "Parse error: empty body"u8,
        McpInspectError.InvalidJson => "Parse error: body is not valid UTF-8 JSON"u8,
        McpInspectError.TooDeep => "Parse error: JSON nests too deeply"u8,
        McpInspectError.NotAnObject => "Invalid request: not a JSON-RPC object"u8,
        McpInspectError.MissingJsonRpcVersion => "Invalid request: jsonrpc must be \"2.0\""u8,
        McpInspectError.MissingMethod => "Invalid request: no method"u8,
        McpInspectError.InvalidId => "Invalid request: id must be a string or a number"u8,
        McpInspectError.InvalidParams => "Invalid params"u8,
        McpInspectError.InvalidCancelledRequestId => "Invalid params: notifications/cancelled needs params.requestId, a string or a number naming the request it cancels"u8,
        McpInspectError.DuplicateMember => "Invalid request: duplicate member"u8,
        McpInspectError.AmbiguousMessage => "Invalid request: both a request and a response"u8,
        McpInspectError.CaseVariantMember => "Invalid request: member names that differ only in letter case (from each other, or from a JSON-RPC or MCP member name), or a member name with a control character"u8,
        _ => "Invalid request"u8,
    };

    /// <summary>Message text for a header mismatch (always sent with -32020 and HTTP 400).</summary>
    public static ReadOnlySpan<byte> Message(McpHeaderMismatch mismatch) => mismatch switch
    {
        McpHeaderMismatch.MethodMismatch => "Header mismatch: Mcp-Method does not match the body"u8,
        McpHeaderMismatch.NameMismatch => "Header mismatch: Mcp-Name does not match the body"u8,
        McpHeaderMismatch.ProtocolVersionMismatch => "Header mismatch: MCP-Protocol-Version does not match the body"u8,
        McpHeaderMismatch.MissingMethodHeader => "Header mismatch: Mcp-Method header is required"u8,
        McpHeaderMismatch.MissingNameHeader => "Header mismatch: Mcp-Name header is required"u8,
        McpHeaderMismatch.MissingProtocolVersionHeader => "Header mismatch: MCP-Protocol-Version header is required"u8,
        McpHeaderMismatch.MalformedEncodedValue => "Header mismatch: malformed header value"u8,
        McpHeaderMismatch.ParamMismatch => "Header mismatch: Mcp-Param header does not match the argument"u8,
        McpHeaderMismatch.MissingParamHeader => "Header mismatch: Mcp-Param header is required for this argument"u8,
        _ => "Header mismatch"u8,
    };

    /// <summary>HTTP status for an inspection failure: 400 for all of them.</summary>
    public static int HttpStatus(McpInspectError error) => error == McpInspectError.None ? 200 : 400;
}
