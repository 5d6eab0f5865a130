namespace FastMcp.Mcp;

/// <summary>Why the 2026-07-28 mirrored headers cannot be trusted. Anything but None → HTTP 400 with -32020 (HeaderMismatch).</summary>
public enum McpHeaderMismatch : byte
{
    /// <summary>Headers agree with the body (or, for a session-era message, none were sent that disagree).</summary>
    None,
    /// <summary>Mcp-Method differs from the body's method, or is sent on a message without one.</summary>
    MethodMismatch,
    /// <summary>Mcp-Name differs from params.name / params.uri (after base64 decoding), or is sent where the method has no name.</summary>
    NameMismatch,
    /// <summary>MCP-Protocol-Version differs from _meta["io.modelcontextprotocol/protocolVersion"], or names a stateless version the body does not carry.</summary>
    ProtocolVersionMismatch,
    /// <summary>A stateless-era request without Mcp-Method.</summary>
    MissingMethodHeader,
    /// <summary>A stateless-era tools/call, prompts/get or resources/read without Mcp-Name.</summary>
    MissingNameHeader,
    /// <summary>A <c>=?base64?…?=</c> value that is not valid base64, or a header value with bytes outside RFC 9110 field-value characters.</summary>
    MalformedEncodedValue,
    /// <summary>The body carries _meta protocolVersion but the request has no MCP-Protocol-Version header.</summary>
    MissingProtocolVersionHeader,
    /// <summary>An Mcp-Param-{Name} header differs from the argument it mirrors, or is sent although the argument is absent or null.</summary>
    ParamMismatch,
    /// <summary>An argument annotated with x-mcp-header has a value but its Mcp-Param-{Name} header is missing.</summary>
    MissingParamHeader,
}
