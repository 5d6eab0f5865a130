namespace FastMcp.Gateway.Forwarding;

/// <summary>Why an exchange with the upstream failed: a closed set, each with one status and JSON-RPC code.</summary>
internal enum ForwardingError : byte
{
    None,
    /// <summary>Connection refused, unreachable, or the connect timed out (502).</summary>
    UpstreamUnreachable,
    /// <summary>No response head within the response timeout (504).</summary>
    ResponseTimeout,
    /// <summary>The upstream closed or reset before a complete response head (502).</summary>
    UpstreamClosed,
    /// <summary>The response head was not valid HTTP/1.1 (502).</summary>
    InvalidResponse,
    /// <summary>A JSON response larger than the gateway may hold to inspect (502).</summary>
    ResponseTooLarge,
    /// <summary>The response body is compressed (a Content-Encoding or transfer coding other than identity / chunked):
    /// the stages cannot read it, so it is never relayed (502).</summary>
    EncodedResponse,
    /// <summary>The answer is declared in another charset than UTF-8, or its bytes are not UTF-8 text (UTF-16, UTF-32): the
    /// stages read UTF-8 only, so it would pass them unread while a client decodes it (502).</summary>
    UnreadableEncoding,
    /// <summary>A body of a media type with an encoding of its own (HTML or XML character references, percent-encoding,
    /// multipart, opaque bytes) that a client decodes and the stages do not read (502).</summary>
    UnreadableMediaType,
    /// <summary>A redirect (3xx but 304): relayed, it would send the client's call past the gateway to wherever it points (502).</summary>
    RedirectResponse,
    /// <summary>The upstream refused the gateway's credential (401): only the operator can fix that, not the client (502).</summary>
    UpstreamUnauthorized,
    /// <summary>A list answer the policy could not filter (unreadable, or not matched to its request): withheld (502).</summary>
    UnfilterableResponse,
    /// <summary>A card number in a base64 payload (blob, data) that could not be masked in place: withheld (502).</summary>
    UnmaskableResponse,
    /// <summary>With tasks.sealed, an answer naming a task id not bound to the caller here, or that cannot be read: withheld (502).</summary>
    UnsealableResponse,
    /// <summary>The response could not be recorded, so it is not released (503, fail closed).</summary>
    AuditUnavailable,
    /// <summary>The upstream's credential is an OAuth access token and the gateway holds none that is unexpired: the
    /// request is not sent without it (503, fail closed; the name is on audit records).</summary>
    UpstreamCredentialUnavailable,
    /// <summary>The client went away while the response was relayed (nothing to answer).</summary>
    ClientGone,
    /// <summary>An event on a stream whose data is not a readable JSON-RPC message: withheld, the stream ended (an error event).</summary>
    UnreadableEvent,
    /// <summary>A JSON body holding a batch with a request of the upstream's in it, which the gateway does not take apart to
    /// decide under policy.serverRequests: withheld (502).</summary>
    UndecidedServerRequest,
    /// <summary>A JSON body holding a notifications/resources/updated the gateway cannot read to decide (its uri), or a batch
    /// with one or a notifications/message in it, which the gateway does not take apart: withheld (502). The name is kept:
    /// audit records carry it.</summary>
    UndecidedResourceUpdate,
    /// <summary>The upstream's credential is a per-caller token exchange and the identity provider refused a token for this
    /// caller and upstream (invalid_grant, invalid_target, unauthorized_client, 401, 403): not forwarded (403).</summary>
    UpstreamCredentialRefused,
    /// <summary>An event on a stream that had not ended within limits.maxResponseMessageBytes: withheld, the stream ended (an error event).</summary>
    OversizedEvent,
    /// <summary>An upstream's answer (JSON body or event) with an id other than the request's (a batch's: its requests'; on a
    /// federated path any batch): the client would take it for another pending call, maybe another caller's answer or one it
    /// sent another member. Withheld (502; Forwarding/UnaskedAnswer.cs).</summary>
    UnaskedAnswer,
    /// <summary>A held call its caller withdrew (notifications/cancelled) after its approval, before a byte of it was written:
    /// never sent. Not an upstream failure: the hold answers it as the withdrawal it is (Stages/ApprovalHold.cs).</summary>
    Withdrawn,
}

internal static class ForwardingErrors
{
    public static int StatusCode(this ForwardingError e) => e switch
    {
        ForwardingError.ResponseTimeout => 504,
        ForwardingError.AuditUnavailable or ForwardingError.UpstreamCredentialUnavailable => 503,
        ForwardingError.UpstreamCredentialRefused => 403,
        _ => 502,
    };

    /// <summary>
    /// The status the client gets: <see cref="StatusCode"/>, except that a withheld body of an unreadable media type keeps
    /// the upstream's error status (4xx, 5xx), which clients act on (404: the session is gone; 405: no GET stream).
    /// </summary>
    public static int StatusCode(this ForwardingError e, int upstreamStatus) =>
        e == ForwardingError.UnreadableMediaType && upstreamStatus is >= 400 and < 600 ? upstreamStatus : e.StatusCode();

    public static int JsonRpcCode(this ForwardingError e) => e switch
    {
        ForwardingError.ResponseTimeout => Mcp.JsonRpcErrorCodes.UpstreamTimeout,
        ForwardingError.AuditUnavailable => Mcp.JsonRpcErrorCodes.AuditUnavailable,
        ForwardingError.UnfilterableResponse or ForwardingError.UnsealableResponse => Mcp.JsonRpcErrorCodes.InternalError,
        ForwardingError.UpstreamCredentialRefused => Mcp.JsonRpcErrorCodes.Forbidden,
        _ => Mcp.JsonRpcErrorCodes.UpstreamUnavailable,
    };

    public static ReadOnlySpan<byte> Message(this ForwardingError e) => e switch
    {
        ForwardingError.UpstreamUnreachable => "upstream MCP server unreachable"u8,
        ForwardingError.ResponseTimeout => "upstream MCP server did not answer in time"u8,
        ForwardingError.UpstreamClosed => "upstream MCP server closed the connection"u8,
        ForwardingError.InvalidResponse => "upstream MCP server sent an invalid HTTP response"u8,
        ForwardingError.ResponseTooLarge => "upstream response exceeds the gateway's message limit"u8,
        ForwardingError.EncodedResponse => "upstream MCP server sent a compressed response, which the gateway cannot inspect: withheld"u8,
        ForwardingError.UnreadableEncoding => "upstream MCP server sent an answer in a character encoding the gateway cannot inspect: withheld"u8,
        ForwardingError.UnreadableMediaType => "upstream MCP server sent a body of a media type the gateway cannot inspect: withheld"u8,
        ForwardingError.RedirectResponse => "upstream MCP server answered with a redirect, which the gateway neither follows nor relays"u8,
        ForwardingError.UpstreamUnauthorized => "upstream MCP server refused the gateway's credential"u8,
        ForwardingError.UnfilterableResponse => "list result could not be filtered by policy: withheld"u8,
        ForwardingError.UnmaskableResponse => "upstream answer holds a card number or sensitive authentication data that could not be masked: withheld"u8,
        ForwardingError.UnsealableResponse => "upstream answer names a task id that could not be sealed for this caller: withheld"u8,
        ForwardingError.AuditUnavailable => "audit log unavailable: the response is withheld"u8,
        ForwardingError.UpstreamCredentialUnavailable => "the gateway holds no valid access token for the upstream MCP server: not forwarded"u8,
        ForwardingError.UpstreamCredentialRefused => "the identity provider refused a token for this upstream MCP server to this caller: not forwarded"u8,
        ForwardingError.UnreadableEvent => "upstream MCP server sent an event that is not a readable JSON-RPC message: withheld"u8,
        ForwardingError.OversizedEvent => "upstream MCP server sent an event longer than the gateway's message limit: withheld"u8,
        ForwardingError.UndecidedServerRequest => "upstream MCP server sent its own requests in a batch instead of an answer, which the gateway does not decide: withheld"u8,
        ForwardingError.UnaskedAnswer => "upstream MCP server answered a request it was not sent (an id other than the call's): withheld"u8,
        ForwardingError.UndecidedResourceUpdate => "upstream MCP server sent a resource update or log message instead of an answer that the gateway cannot read or take apart to decide: withheld"u8,
        ForwardingError.Withdrawn => "the call was withdrawn by its caller (notifications/cancelled) before it was forwarded"u8,
        _ => "upstream error"u8,
    };

    /// <summary>
    /// <see cref="Message(ForwardingError)"/> as said for <paramref name="exchange"/>: a list answer that could not be filtered
    /// says why (<see cref="Proxy.Exchange.ListRefusal"/>), so that an upstream whose every tool vanished can be told what to
    /// change. Static text: nothing allocated.
    /// </summary>
    public static ReadOnlySpan<byte> Message(this ForwardingError e, Proxy.Exchange exchange) =>
        e == ForwardingError.UnfilterableResponse && exchange.ListRefusal != Mcp.ListFilterRefusal.None ? Unfilterable(exchange.ListRefusal) : e.Message();

    private static ReadOnlySpan<byte> Unfilterable(Mcp.ListFilterRefusal why) => why switch
    {
        Mcp.ListFilterRefusal.NotUtf8 => "list result could not be filtered by policy: withheld: its bytes are not UTF-8"u8,
        Mcp.ListFilterRefusal.InvalidJson =>
            "list result could not be filtered by policy: withheld: not well-formed JSON (broken or truncated, trailing data, or an escape that is not Unicode)"u8,
        // McpInspector.MaxDepth
        Mcp.ListFilterRefusal.TooDeep => "list result could not be filtered by policy: withheld: objects and arrays in it nest deeper than 64 levels"u8,
        Mcp.ListFilterRefusal.NotAListResult =>
            "list result could not be filtered by policy: withheld: not a success answer whose result holds the list as one array"u8,
        Mcp.ListFilterRefusal.DuplicateMember => "list result could not be filtered by policy: withheld: an object in it names a member twice"u8,
        Mcp.ListFilterRefusal.CaseVariantMember =>
            "list result could not be filtered by policy: withheld: member names in it differ only in letter case (from each other, or from result, the list or an entry's identifying member), which case-insensitive clients read as one"u8,
        Mcp.ListFilterRefusal.ControlCharacterInMemberName =>
            "list result could not be filtered by policy: withheld: a member name in it holds a control character (U+0000-U+001F or U+007F, in any object, a tool's input schema included)"u8,
        _ => "list result could not be filtered by policy: withheld: not a JSON-RPC answer the gateway can read and match to its list request"u8,
    };
}
