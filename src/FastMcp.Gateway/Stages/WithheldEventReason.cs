namespace FastMcp.Gateway.Stages;

/// <summary>Why an event from an upstream's stream was not relayed to the client (the stream then ends).</summary>
internal enum WithheldEventReason : byte
{
    /// <summary>Its data is not a readable JSON-RPC message (broken JSON, not JSON-RPC 2.0, clashing member names).</summary>
    Unreadable,
    /// <summary>A response stage could not make it safe for this client (a list it cannot filter, a batch on a federated path).</summary>
    Unsafe,
    /// <summary>Its bytes are not UTF-8 text (a NUL, invalid UTF-8: UTF-16 or worse): no stage could read them, so neither can the record.</summary>
    Undecodable,
    /// <summary>It had not ended within limits.maxResponseMessageBytes: cut there, its card numbers could be cut too, so it is recorded without its data.</summary>
    TooLarge,
    /// <summary>A federated member's JSON-RPC answer to no request it was sent on this stream: any answer on the merged GET stream, one with another id (or a batch) on a call's.</summary>
    UnaskedAnswer,
}
