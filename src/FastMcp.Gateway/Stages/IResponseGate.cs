using FastMcp.Gateway.Proxy;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Called by the relay before a held response reaches the client, and when a stream ends. The
/// audit stage uses it to make the response record durable first (strict mode).
/// </summary>
internal interface IResponseGate
{
    /// <summary>False: the response must not be released (the audit cannot be written).</summary>
    ValueTask<bool> BeforeReleaseAsync(Exchange exchange, ReadOnlyMemory<byte> message);

    /// <summary>An event stream ended; <paramref name="lastEvent"/> is its final (masked) event.</summary>
    ValueTask AfterStreamAsync(Exchange exchange, ReadOnlyMemory<byte> lastEvent);
}
