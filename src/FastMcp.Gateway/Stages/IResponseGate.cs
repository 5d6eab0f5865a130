using FastMcp.Gateway.Proxy;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Called by the relay before a held response reaches the client, and when a stream ends. The
/// audit stage uses it to make the response record durable first (strict mode).
/// </summary>
internal interface IResponseGate
{
    /// <summary>False: the response must not be released (the audit cannot be written).</summary>
    ValueTask<bool> BeforeReleaseAsync(Exchange exchange, ReadOnlyMemory<byte> message);

    /// <summary>
    /// A request from the upstream to the client (<paramref name="view"/> over <paramref name="message"/>, the masked
    /// event's JSON) is about to be relayed on a stream: it is recorded (queued, not waited for). False: the audit log
    /// refused it, and the event must not be relayed.
    /// </summary>
    bool RecordServerRequest(Exchange exchange, ReadOnlyMemory<byte> message, in McpResponseView view);

    /// <summary>An event stream ended; <paramref name="lastEvent"/> is its final (masked) event.</summary>
    ValueTask AfterStreamAsync(Exchange exchange, ReadOnlyMemory<byte> lastEvent);
}
