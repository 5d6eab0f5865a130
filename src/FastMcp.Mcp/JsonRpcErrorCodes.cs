namespace FastMcp.Mcp;

/// <summary>
/// JSON-RPC error codes the gateway writes. -32700..-32600 are JSON-RPC 2.0; -32020..-32022 are MCP 2026-07-28;
/// -32001..-32006 are the gateway's own (JSON-RPC reserves -32000..-32099 for implementation-defined server
/// errors). docs/mcp-handling.md has the table with the HTTP status each one travels with.
/// </summary>
public static class JsonRpcErrorCodes
{
    /// <summary>Body is not well-formed JSON.</summary>
    public const int ParseError = -32700;
    /// <summary>JSON, but not a valid JSON-RPC request (no jsonrpc "2.0", bad id, ambiguous kind, batch where not allowed).</summary>
    public const int InvalidRequest = -32600;
    /// <summary>Method unknown to the gateway's policy or the upstream (2026-07-28: HTTP 404).</summary>
    public const int MethodNotFound = -32601;
    /// <summary>Params missing or of the wrong type for the method.</summary>
    public const int InvalidParams = -32602;
    /// <summary>The gateway failed in a way that is its own fault.</summary>
    public const int InternalError = -32603;
    /// <summary>MCP: Mcp-Method / Mcp-Name / MCP-Protocol-Version header missing, malformed or not matching the body (HTTP 400).</summary>
    public const int HeaderMismatch = -32020;
    /// <summary>MCP: the request needs a client capability the client did not declare (HTTP 400).</summary>
    public const int MissingRequiredClientCapability = -32021;
    /// <summary>MCP: protocol version not supported; data carries supported and requested (HTTP 400).</summary>
    public const int UnsupportedProtocolVersion = -32022;
    /// <summary>Gateway: the policy denied this call (sent as an HTTP 200 JSON-RPC answer).</summary>
    public const int Forbidden = -32001;
    /// <summary>Gateway: the call needs human approval that was not (yet) given, or was refused / timed out (HTTP 200).</summary>
    public const int ApprovalRequired = -32002;
    /// <summary>Gateway: the upstream MCP server could not be reached (HTTP 502).</summary>
    public const int UpstreamUnavailable = -32003;
    /// <summary>Gateway: the upstream did not answer in time (HTTP 504).</summary>
    public const int UpstreamTimeout = -32004;
    /// <summary>Gateway: the audit record could not be written durably, so the call was not forwarded (fail closed; HTTP 503).</summary>
    public const int AuditUnavailable = -32005;
    /// <summary>Gateway: no valid bearer token (HTTP 401, or 403 for insufficient scope, with WWW-Authenticate).</summary>
    public const int Unauthorized = -32006;
    /// <summary>The caller's request budget (a rate limit) is used up: retry after the Retry-After seconds.</summary>
    public const int RateLimited = -32007;
}
