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
    /// <summary>
    /// A JSON-RPC answer to no request the upstream was sent on this stream (Forwarding/UnaskedAnswer.cs): on a POST's stream an id other
    /// than the request's (a batch's: its requests'), on a GET stream any answer but one to an unanswered call of the caller's on a resumption.
    /// </summary>
    UnaskedAnswer,
}
