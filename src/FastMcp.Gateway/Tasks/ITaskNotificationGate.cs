using FastMcp.Gateway.Proxy;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tasks;

/// <summary>
/// What the relay asks about tasks on a stream: when task sealing withheld a notification for a task not bound to the caller
/// here (one created through another replica), its count and record; when a tasks request's stream ends because the call
/// that created its task is no longer allowed, the refusal's. Implemented by the client connection, which holds the audit scratch.
/// </summary>
internal interface ITaskNotificationGate
{
    /// <summary>
    /// Counts and records the withheld notification (<paramref name="message"/> as the upstream sent it after the stages
    /// that ran, <paramref name="view"/> over it). False: the audit log refused the record.
    /// </summary>
    bool RecordTaskNotificationWithheld(Exchange exchange, ReadOnlyMemory<byte> message, in McpResponseView view);

    /// <summary>
    /// Counts and records (a Denied record, rule (task-call-not-allowed), detail <paramref name="reason"/>) the refusal of
    /// the stream's task. False: the audit log refused the record.
    /// </summary>
    ValueTask<bool> RecordTaskCallRefusedAsync(string reason);
}
