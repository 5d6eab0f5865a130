namespace FastMcp.Http;

/// <summary>Bounds on what a peer may send; each maps to one rejection reason.</summary>
public sealed class HttpLimits
{
    /// <summary>Request line plus all header lines, including CRLFs (431 beyond).</summary>
    public int MaxHeadBytes { get; set; } = 16 * 1024;

    /// <summary>Header fields in one head (431 beyond).</summary>
    public int MaxHeaderCount { get; set; } = 100;

    /// <summary>Request-target length (414 beyond).</summary>
    public int MaxTargetLength { get; set; } = 8 * 1024;

    /// <summary>Decoded request body (413 beyond).</summary>
    public long MaxRequestBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Upstream response body the gateway holds to inspect (a JSON message or one SSE event).</summary>
    public long MaxResponseMessageBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Chunk-size line including extensions.</summary>
    public int MaxChunkLineBytes { get; set; } = 4096;

    /// <summary>Trailer section of a chunked body.</summary>
    public int MaxTrailerBytes { get; set; } = 4096;

    /// <summary>
    /// Client connections open at once across all listeners. One more is answered 503 and closed at once, so a
    /// flood of idle sockets cannot take every file descriptor from the callers already connected.
    /// </summary>
    public int MaxConnections { get; set; } = 4096;

    /// <summary>
    /// Of <see cref="MaxConnections"/>, slots only a connection that has presented a valid token may take: a
    /// connection that has not yet authenticated counts against MaxConnections minus this reserve, so a flood of
    /// unauthenticated sockets cannot lock out the callers with tokens. 0 turns the reserve off; unset, it is one
    /// sixteenth of MaxConnections (256 of the default 4096).
    /// </summary>
    public int? ReservedAuthenticatedConnections { get; set; }

    /// <summary>The reserve in force: <see cref="ReservedAuthenticatedConnections"/>, or MaxConnections / 16 when unset.</summary>
    public int EffectiveReservedAuthenticatedConnections() => ReservedAuthenticatedConnections ?? MaxConnections / 16;

    /// <summary>
    /// Bytes of a relayed upstream response the gateway holds for one client connection on their way to the client
    /// (written to its send buffer and not yet taken by the socket). At the bound the gateway stops reading the
    /// upstream (back-pressure) until the client reads; a client that takes nothing within timeouts.clientWriteMs
    /// loses the exchange. The message the stages inspect is bounded apart by <see cref="MaxResponseMessageBytes"/>.
    /// </summary>
    public long MaxBufferedResponseBytes { get; set; } = 1024 * 1024;
}
