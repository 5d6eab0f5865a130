using FastMcp.Gateway.Proxy;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// What the relay asks about a request the upstream sends the client on an event stream (policy.serverRequests,
/// docs/policy.md "Requests from servers"): the policy in force, and, for a denied one, its record and the gateway's
/// answer to the upstream in the client's stead. Implemented by the client connection, which holds the upstream
/// session, credential and audit scratch of the exchange.
/// </summary>
internal interface IServerRequestGate
{
    /// <summary>The policy in force now (a reload swaps it); <see cref="ServerRequestPolicy.DecidesNothing"/>: nothing to read.</summary>
    ServerRequestPolicy ServerRequests { get; }

    /// <summary>
    /// Records a denied request (<paramref name="message"/> as the client would have got it, <paramref name="view"/> over
    /// it) and remembers its id so a client's answer to it is refused. False: the audit log refused the record.
    /// </summary>
    bool RecordDenied(Exchange exchange, ReadOnlyMemory<byte> message, in McpResponseView view, in PolicyDecision decision);

    /// <summary>
    /// Records an input_required answer (MCP 2026-07-28) refused because policy denied one of its inputRequests
    /// (<paramref name="method"/>; null when the entry could not be read); <paramref name="answer"/> is the answer masked.
    /// False: the audit log refused the record.
    /// </summary>
    bool RecordInputRequestDenied(Exchange exchange, ReadOnlyMemory<byte> answer, string? method, in PolicyDecision decision);

    /// <summary>Answers the upstream for the client: a JSON-RPC error with <paramref name="rawId"/> (the id the upstream gave), in the same upstream session.</summary>
    ValueTask AnswerDeniedAsync(Exchange exchange, ReadOnlyMemory<byte> rawId, PolicyDecision decision);
}
