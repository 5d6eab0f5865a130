using FastMcp.Gateway.Proxy;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Called by the relay before a held response reaches the client, for each message of an event stream, and when a
/// stream ends. The audit stage uses it to record every message the client receives exactly once (docs/audit-format.md §9).
/// </summary>
internal interface IResponseGate
{
    /// <summary>
    /// False: the response must not be released (the audit cannot be written). <paramref name="viewed"/>: the message is byte
    /// for byte one McpResponseInspector read, so the record need not parse it again.
    /// </summary>
    ValueTask<bool> BeforeReleaseAsync(Exchange exchange, ReadOnlyMemory<byte> message, bool viewed);

    /// <summary>
    /// A message on a stream that is not the exchange's own answer (a server request, a notification, another answer;
    /// <paramref name="view"/> read from exactly the bytes of <paramref name="message"/>, the masked event's JSON) is about to be relayed: it is
    /// recorded (queued, not waited for). False: the audit log refused it, and the event must not be relayed.
    /// </summary>
    bool RecordStreamMessage(Exchange exchange, ReadOnlyMemory<byte> message, in McpResponseView view);

    /// <summary>An event was not relayed (<paramref name="data"/> is its data as the upstream sent it, or as far as the stages got); the stream ends.</summary>
    void RecordWithheldEvent(Exchange exchange, ReadOnlyMemory<byte> data, WithheldEventReason reason);

    /// <summary>
    /// An event stream ended; <paramref name="answer"/> is the exchange's answer as the client got it (the upstream's, or the
    /// gateway's refusal), empty when none was relayed: every other message of the stream had its own record.
    /// <paramref name="viewed"/>: the answer is byte for byte one McpResponseInspector read (the upstream's, not a refusal).
    /// </summary>
    ValueTask AfterStreamAsync(Exchange exchange, ReadOnlyMemory<byte> answer, bool viewed);
}
