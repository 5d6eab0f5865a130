namespace FastMcp.Mcp;

/// <summary>
/// A view of one message coming back from an upstream (a JSON body or one SSE event's data): positions into the
/// JSON, never a copy. Ranges are byte offsets from its start; 0..0 means absent; strings include their quotes.
/// </summary>
public struct McpResponseView
{
    /// <summary>Response, error response, or a server-sent request / notification (or a batch array, not viewed).</summary>
    public McpMessageKind Kind;
    /// <summary>For server requests and notifications: the method (Unknown otherwise).</summary>
    public McpMethod Method;
    /// <summary>For server requests and notifications: raw string token of <c>method</c>.</summary>
    public Range MethodRange;
    /// <summary>Raw <c>id</c> token (string or number); empty for notifications and for an error response with a null id.</summary>
    public Range IdRange;
    /// <summary><c>error.code</c> when it is a 32-bit integer; 0 otherwise.</summary>
    public int ErrorCode;
    /// <summary><c>error.message</c> raw string token.</summary>
    public Range ErrorMessageRange;
    /// <summary><c>result.protocolVersion</c>: the version an initialize result negotiated (session era).</summary>
    public Range ProtocolVersionRange;
    /// <summary><c>result.resultType</c> (2026-07-28): "complete" or "input_required".</summary>
    public Range ResultTypeRange;
    /// <summary><c>name</c> of <c>result.serverInfo</c> (initialize) or of <c>result._meta["io.modelcontextprotocol/serverInfo"]</c>.</summary>
    public Range ServerInfoNameRange;
    /// <summary><c>version</c> of the same serverInfo object.</summary>
    public Range ServerInfoVersionRange;
    /// <summary><c>params</c> when it is an object (a server request's, for policy.serverRequests rules over it).</summary>
    public Range ParamsRange;
    /// <summary><c>params.progressToken</c> of a notifications/progress (string or number token).</summary>
    public Range ProgressTokenRange;

    /// <summary>True for an error response.</summary>
    public readonly bool IsError => Kind == McpMessageKind.ErrorResponse;
    /// <summary>True for a response or error response (the answer to a request).</summary>
    public readonly bool IsResponse => Kind is McpMessageKind.Response or McpMessageKind.ErrorResponse;
}
