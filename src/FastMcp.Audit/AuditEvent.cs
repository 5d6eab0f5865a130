namespace FastMcp.Audit;

/// <summary>
/// One audit event, filled by the gateway per exchange. Reusable: <see cref="AuditLog.AppendAsync"/>
/// serializes it before returning, so the caller may <see cref="Reset"/> and refill it.
/// Payloads must already be masked: the log stores what it is given.
/// </summary>
public sealed class AuditEvent
{
    public AuditEventType Type;
    /// <summary>UTC; recorded to the microsecond. Default (unset) means "now".</summary>
    public DateTime TimestampUtc;
    public bool Success;
    public string? Subject;
    public string[]? Groups;
    public string? ClientId;
    public string? ClientAddress;
    /// <summary>The proxy or load balancer the request came through when the client is behind one (its socket peer).</summary>
    public string? ClientHop;
    /// <summary>The TLS client certificate the connection presented (mutual TLS at the gateway's listener): its subject and SHA-256 (hex).</summary>
    public string? ClientCertificateSubject, ClientCertificateSha256;
    public string? McpClientName;
    public string? McpClientVersion;
    public string? Upstream;
    /// <summary>The configured name of the upstream ("default", or a key of the gateway's "upstreams").</summary>
    public string? UpstreamName;
    public string? Method;
    /// <summary>Tool, prompt or resource the call affects.</summary>
    public string? Target;
    /// <summary>
    /// The request target's query as the upstream got it or would have got it, '?' included, card numbers masked (the
    /// caller masks it, as payloads): recorded as component.query, the text after '?'. Empty: the target had no query.
    /// ASCII (a request target is).
    /// </summary>
    public ReadOnlyMemory<byte> Query;
    /// <summary>
    /// The client's header fields the upstream got under forwardHeaders, as the approval digest's headers line encodes
    /// them (card numbers masked by the caller, redacted fields as keyed MACs): recorded as component.headers. Empty: none
    /// forwarded. ASCII.
    /// </summary>
    public ReadOnlyMemory<byte> Headers;
    /// <summary>The cookies the upstream got under forwardCookies, names and keyed MACs (the digest's cookies line): component.cookies. ASCII.</summary>
    public ReadOnlyMemory<byte> Cookies;
    public string? SessionId;
    /// <summary>The W3C trace the exchange belongs to (128-bit id) and the gateway's span in it; absent when TraceHigh and TraceLow are 0.</summary>
    public ulong TraceHigh, TraceLow, SpanId;
    /// <summary>The JSON-RPC id exactly as it appeared (a JSON string or number token).</summary>
    public ReadOnlyMemory<byte> JsonRpcIdRaw;
    public string? Decision;
    public string? Rule;
    public string? Approver;
    public int HttpStatus;
    /// <summary>Masked request JSON; may be empty.</summary>
    public ReadOnlyMemory<byte> RequestPayload;
    /// <summary>
    /// Set by a caller that parsed exactly the bytes of <see cref="RequestPayload"/> as one JSON value (the gateway's
    /// inspector, when masking changed nothing): the serializer embeds them without parsing them again. Unset, it
    /// checks them, and keeps anything that is not one JSON value base64-encoded under another name.
    /// </summary>
    public bool RequestPayloadIsJson;
    /// <summary>Masked response JSON; may be empty.</summary>
    public ReadOnlyMemory<byte> ResponsePayload;
    /// <summary>
    /// The same as <see cref="RequestPayloadIsJson"/> for <see cref="ResponsePayload"/>: set by a caller whose response
    /// inspector read exactly these bytes as one JSON message (no stage changed them after it).
    /// </summary>
    public bool ResponsePayloadIsJson;
    /// <summary>Hex HMAC fingerprints of card numbers seen in the exchange.</summary>
    public List<string> CardFingerprints = new();
    public long LatencyMicroseconds;
    public string? Detail;
    /// <summary>
    /// The record is a request the upstream sent the client on an event stream (sampling/createMessage, elicitation/create,
    /// roots/list, ping): <see cref="RequestPayload"/> is that event's JSON, Method and JsonRpcIdRaw are its own.
    /// Recorded as "direction":"serverToClient".
    /// </summary>
    public bool ServerToClient;

    /// <summary>How often this event was serialized (the second time, it starts keeping its shared fields).</summary>
    internal int TimesWritten;

    /// <summary>
    /// The fields the next record of the same exchange shares, kept across <see cref="Reset"/> (the serializer
    /// checks every value before it uses them). Only an event serialized more than once has one.
    /// </summary>
    internal Recording.RecordFieldReuse? FieldReuse;

    /// <summary>Drops the kept shared fields, so that the next records write them afresh (benchmarks and tests).</summary>
    internal void ForgetSharedFields()
    {
        FieldReuse = null;
        TimesWritten = 0;
    }

    public void Reset()
    {
        Type = default;
        TimestampUtc = default;
        Success = false;
        Subject = null;
        Groups = null;
        ClientId = null;
        ClientAddress = null;
        ClientHop = null;
        ClientCertificateSubject = null;
        ClientCertificateSha256 = null;
        McpClientName = null;
        McpClientVersion = null;
        Upstream = null;
        UpstreamName = null;
        Method = null;
        Target = null;
        Query = default;
        Headers = default;
        Cookies = default;
        SessionId = null;
        TraceHigh = TraceLow = SpanId = 0;
        JsonRpcIdRaw = default;
        Decision = null;
        Rule = null;
        Approver = null;
        HttpStatus = 0;
        RequestPayload = default;
        RequestPayloadIsJson = false;
        ResponsePayload = default;
        ResponsePayloadIsJson = false;
        CardFingerprints.Clear();
        LatencyMicroseconds = 0;
        Detail = null;
        ServerToClient = false;
    }
}
