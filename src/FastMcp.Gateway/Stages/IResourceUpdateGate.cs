using FastMcp.Gateway.Proxy;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// What the relay asks about a notifications/resources/updated on a stream (<see cref="ResourceUpdateDecision"/>): the client
/// rules in force, and the record of one they deny. Implemented by the client connection, which holds the audit scratch.
/// </summary>
internal interface IResourceUpdateGate
{
    /// <summary>The client rules in force now (a reload swaps them); null in pass-through mode, where nothing is decided.</summary>
    PolicyEngine? ResourceUpdatePolicy { get; }

    /// <summary>
    /// Counts and records a withheld update (<paramref name="message"/> as the client would have got it, <paramref name="view"/>
    /// over it). False: the audit log refused the record.
    /// </summary>
    bool RecordUpdateDenied(Exchange exchange, ReadOnlyMemory<byte> message, in McpResponseView view, in PolicyDecision decision);
}
