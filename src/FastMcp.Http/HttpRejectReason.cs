namespace FastMcp.Http;

/// <summary>Why a peer's message was refused: a closed set, each with exactly one status code.</summary>
public enum HttpRejectReason : byte
{
    None,
    InvalidRequestLine,
    InvalidMethod,
    InvalidTarget,
    TargetTooLong,
    UnsupportedVersion,
    InvalidHeaderLine,
    InvalidHeaderName,
    InvalidHeaderValue,
    HeaderFolding,
    BareCarriageReturn,
    HeadersTooLarge,
    TooManyHeaders,
    MissingHost,
    DuplicateHost,
    /// <summary>An MCP header (Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID, an Mcp-Param-*) appears more than once:
    /// the gateway would check one copy while the upstream might read another.</summary>
    DuplicateMcpHeader,
    InvalidContentLength,
    ConflictingContentLength,
    ContentLengthWithTransferEncoding,
    UnsupportedTransferEncoding,
    InvalidChunkSize,
    InvalidChunkTerminator,
    ChunkLineTooLong,
    TrailersTooLarge,
    BodyTooLarge,
    UnexpectedEndOfBody,
    HeadTimeout,
    BodyTimeout,
    InvalidStatusLine,
}

/// <summary>Status code and reason phrase of each <see cref="HttpRejectReason"/>.</summary>
public static class HttpRejectReasonExtensions
{
    public static int StatusCode(this HttpRejectReason reason) => reason switch
    {
        HttpRejectReason.HeadersTooLarge or HttpRejectReason.TooManyHeaders => 431,
        HttpRejectReason.TargetTooLong => 414,
        HttpRejectReason.BodyTooLarge => 413,
        HttpRejectReason.UnsupportedVersion => 505,
        HttpRejectReason.UnsupportedTransferEncoding => 501,
        HttpRejectReason.HeadTimeout or HttpRejectReason.BodyTimeout => 408,
        _ => 400,
    };

    /// <summary>A short, fixed description safe to send to the peer (never echoes input).</summary>
    public static string Describe(this HttpRejectReason reason) => reason switch
    {
        HttpRejectReason.InvalidRequestLine => "malformed request line",
        HttpRejectReason.InvalidMethod => "invalid method",
        HttpRejectReason.InvalidTarget => "invalid request target",
        HttpRejectReason.TargetTooLong => "request target too long",
        HttpRejectReason.UnsupportedVersion => "HTTP version not supported",
        HttpRejectReason.InvalidHeaderLine => "malformed header line",
        HttpRejectReason.InvalidHeaderName => "invalid header name",
        HttpRejectReason.InvalidHeaderValue => "invalid header value",
        HttpRejectReason.HeaderFolding => "obsolete header folding is not accepted",
        HttpRejectReason.BareCarriageReturn => "bare CR in head",
        HttpRejectReason.HeadersTooLarge => "request header fields too large",
        HttpRejectReason.TooManyHeaders => "too many header fields",
        HttpRejectReason.MissingHost => "missing Host header",
        HttpRejectReason.DuplicateHost => "more than one Host header",
        HttpRejectReason.DuplicateMcpHeader => "more than one Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID or same Mcp-Param-* header",
        HttpRejectReason.InvalidContentLength => "invalid Content-Length",
        HttpRejectReason.ConflictingContentLength => "conflicting Content-Length values",
        HttpRejectReason.ContentLengthWithTransferEncoding => "Content-Length together with Transfer-Encoding",
        HttpRejectReason.UnsupportedTransferEncoding => "unsupported Transfer-Encoding",
        HttpRejectReason.InvalidChunkSize => "invalid chunk size",
        HttpRejectReason.InvalidChunkTerminator => "chunk data not followed by CRLF",
        HttpRejectReason.ChunkLineTooLong => "chunk size line too long",
        HttpRejectReason.TrailersTooLarge => "trailer section too large",
        HttpRejectReason.BodyTooLarge => "payload too large",
        HttpRejectReason.UnexpectedEndOfBody => "connection closed before the body was complete",
        HttpRejectReason.HeadTimeout => "request headers not received in time",
        HttpRejectReason.BodyTimeout => "request body not received in time",
        HttpRejectReason.InvalidStatusLine => "malformed status line",
        _ => "bad request",
    };

    public static string ReasonPhrase(int statusCode) => statusCode switch
    {
        100 => "Continue",
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    };
}
