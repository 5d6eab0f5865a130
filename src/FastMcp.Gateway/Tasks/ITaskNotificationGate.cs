using FastMcp.Gateway.Proxy;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tasks;

/// <summary>
/// What the relay asks when task sealing withheld a notification on a stream for a task not bound to the caller here (one
/// created through another replica): its count and record. Implemented by the client connection, which holds the audit scratch.
/// </summary>
internal interface ITaskNotificationGate
{
    /// <summary>
    /// Counts and records the withheld notification (<paramref name="message"/> as the upstream sent it after the stages
    /// that ran, <paramref name="view"/> over it). False: the audit log refused the record.
    /// </summary>
    bool RecordTaskNotificationWithheld(Exchange exchange, ReadOnlyMemory<byte> message, in McpResponseView view);
}
