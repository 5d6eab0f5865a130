using FastMcp.Gateway.Proxy;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// What the relay asks about a server notification decided as the request that enables it (<see cref="ServerNotificationDecision"/>): the client
/// rules in force, and the record of one they deny. Implemented by the client connection, which holds the audit scratch.
/// </summary>
internal interface IServerNotificationGate
{
    /// <summary>The client rules in force now (a reload swaps them); null in pass-through mode, where nothing is decided.</summary>
    PolicyEngine? NotificationRules { get; }

    /// <summary>
    /// Counts and records a withheld notification (<paramref name="message"/> as the client would have got it, <paramref name="view"/>
    /// over it). False: the audit log refused the record.
    /// </summary>
    bool RecordNotificationDenied(Exchange exchange, ReadOnlyMemory<byte> message, in McpResponseView view, in PolicyDecision decision);
}
