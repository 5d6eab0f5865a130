namespace FastMcp.Gateway.Forwarding;

/// <summary>
/// The client took nothing of its response within timeouts.clientWriteMs while the gateway held
/// limits.maxBufferedResponseBytes for it: the exchange is closed (and recorded as abandoned).
/// An <see cref="OperationCanceledException"/>, so every path that ends a connection on a cancelled write ends this one.
/// </summary>
internal sealed class ClientWriteTimeoutException(long bufferedBytes)
    : OperationCanceledException("the client did not read its response within timeouts.clientWriteMs")
{
    /// <summary>The most bytes the gateway held toward this client during the exchange.</summary>
    public long BufferedBytes { get; } = bufferedBytes;
}
