namespace FastMcp.Mcp;

/// <summary>Why <see cref="McpInspector"/> rejected a body. Each reason maps to one JSON-RPC error (see docs/mcp-handling.md).</summary>
public enum McpInspectError : byte
{
    /// <summary>The body is one well-formed JSON-RPC message (or a well-formed batch array).</summary>
    None,
    /// <summary>Zero bytes or only whitespace.</summary>
    EmptyBody,
    /// <summary>Not well-formed JSON (including trailing data, bad escapes, invalid UTF-8).</summary>
    InvalidJson,
    /// <summary>Top-level value is neither an object nor an array.</summary>
    NotAnObject,
    /// <summary><c>jsonrpc</c> is missing or is not the string "2.0".</summary>
    MissingJsonRpcVersion,
    /// <summary>Neither <c>method</c> (request/notification) nor <c>result</c>/<c>error</c> (response), or <c>method</c> is not a string.</summary>
    MissingMethod,
    /// <summary><c>id</c> is not a string or number (null is allowed only on error responses), or a response lacks it.</summary>
    InvalidId,
    /// <summary><c>params</c> is not an object, or a member the gateway depends on has the wrong type or is missing
    /// (tools/call and prompts/get need a string <c>name</c>, resources/read a string <c>uri</c>).</summary>
    InvalidParams,
    /// <summary>Nesting deeper than <see cref="McpInspector.MaxDepth"/>.</summary>
    TooDeep,
    /// <summary>A member the gateway reads appears twice in the same object. Parsers disagree on which copy wins
    /// (first vs last), so the gateway and the upstream could see different calls: rejected.</summary>
    DuplicateMember,
    /// <summary>Carries both <c>method</c> and <c>result</c>/<c>error</c>, or both <c>result</c> and <c>error</c>:
    /// peers would classify it differently.</summary>
    AmbiguousMessage,
    /// <summary>Two member names of one object differ only in letter case (<c>"path"</c>, <c>"Path"</c>; also U+017F 'ſ'
    /// as s and U+212A KELVIN SIGN as k), or a member name differs only so from one the gateway reads there
    /// (<c>"METHOD"</c> in the envelope, <c>"Name"</c> in params). Go's encoding/json and other case-insensitive
    /// decoders take such names for one member, so the gateway and the upstream could see different calls: rejected.
    /// So is a member name with a control character (<c>"method\u0000"</c>), which some decoders match to the name
    /// without it.</summary>
    CaseVariantMember,
    /// <summary>A <c>notifications/cancelled</c> without a <c>params.requestId</c> that is a string or a number: it names no
    /// request, so the gateway cannot tell whose it is.</summary>
    InvalidCancelledRequestId,
}
