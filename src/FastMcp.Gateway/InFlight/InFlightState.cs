namespace FastMcp.Gateway.InFlight;

/// <summary>
/// Where a call in flight stands with its upstream, which decides what its caller's notifications/cancelled does
/// (docs/mcp-handling.md, "Cancellations"). Moves only forward: Held to Forwarding or Withdrawn, Forwarding to Forwarded.
/// </summary>
internal enum InFlightState
{
    /// <summary>Held for approval, or approved and not yet being written: a cancellation withdraws it (it is never forwarded).</summary>
    Held,
    /// <summary>Being written to the upstream (or about to be, without a hold): a cancellation waits until it was written.</summary>
    Forwarding,
    /// <summary>Written to the upstream: a cancellation is forwarded.</summary>
    Forwarded,
    /// <summary>Withdrawn by its caller's cancellation before it was written: it is never forwarded.</summary>
    Withdrawn,
}
