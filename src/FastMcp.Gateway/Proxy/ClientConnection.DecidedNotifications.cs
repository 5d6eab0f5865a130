using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;
using FastMcp.Mcp;
using FastMcp.Policy;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// Resource updates and log messages the client rules deny on this connection's streams (docs/policy.md "Server notifications
/// decided as the request that enables them"):
/// counted with the policy's denials and recorded as the denial of a server request is; the stream goes on.
/// </summary>
internal sealed partial class ClientConnection : IServerNotificationGate
{
    public PolicyEngine? NotificationRules => _rt.Authorization?.Engine;

    public bool RecordNotificationDenied(Exchange exchange, ReadOnlyMemory<byte> message, in McpResponseView view, in PolicyDecision decision)
    {
        Admin.GatewayCounters.Add(ref _rt.Counters.PolicyDenied);
        if (_rt.Audit is not { } audit) return true;
        exchange.Stage = ExchangeStage.RecordResponse;
        try
        {
            audit.RecordNotificationDenied(exchange, _auditScratch, RemoteAddress, message, view, decision.Rule?.Name);
            return true;
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            RecordLost("audit log unavailable on an event stream: a withheld notification has no record; the stream was ended");
            return false;
        }
    }
}
