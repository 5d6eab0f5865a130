using System.Net;
using FastMcp.Gateway.Hosting;
using FastMcp.Http;
using HttpMethod = FastMcp.Http.HttpMethod;

namespace FastMcp.Gateway.Admin;

/// <summary>
/// The admin listener's routes: /healthz (the process serves), /readyz (it can serve traffic:
/// listeners bound, not shutting down, the audit log writable), /metrics (Prometheus text), and
/// /approvals (approvers only, see ApprovalEndpoints).
/// </summary>
internal sealed class AdminEndpoints(Func<GatewayReadiness> readiness, ApprovalEndpoints? approvals, MetricsEndpoint metrics)
{
    private static readonly byte[] Ok = """{"status":"ok"}"""u8.ToArray();
    private static readonly byte[] Starting = """{"status":"not ready","reason":"listeners not bound yet"}"""u8.ToArray();
    private static readonly byte[] Stopping = """{"status":"not ready","reason":"stopping"}"""u8.ToArray();
    private static readonly byte[] ShippingBacklog = """{"status":"not ready","reason":"audit shipping backlog over audit.shipping.maxBacklogSegments: the object store is not taking segments"}"""u8.ToArray();
    private static readonly byte[] AuditUnwritable = """{"status":"not ready","reason":"audit log not writable: every call is refused with 503 until it recovers"}"""u8.ToArray();
    private static readonly byte[] NotFound = """{"error":"not found"}"""u8.ToArray();

    public ValueTask<LocalResponse> HandleAsync(HttpRequestHead request, ReadOnlyMemory<byte> body, IPEndPoint remote)
    {
        if (ApprovalEndpoints.Matches(request.Path))
        {
            if (approvals is null) return new ValueTask<LocalResponse>(new LocalResponse(404, "application/json", """{"error":"approvals are not enabled (pass-through mode)"}"""u8.ToArray()));
            return approvals.HandleAsync(request, body, remote);
        }
        return new ValueTask<LocalResponse>(Handle(request));
    }

    private LocalResponse Handle(HttpRequestHead request)
    {
        if (request.Method is not (HttpMethod.Get or HttpMethod.Head)) return new LocalResponse(405, "application/json", NotFound, "Allow: GET\r\n");
        if (request.Path.SequenceEqual("/healthz"u8)) return new LocalResponse(200, "application/json", Ok);
        if (request.Path.SequenceEqual("/metrics"u8)) return new LocalResponse(200, "text/plain; version=0.0.4; charset=utf-8", metrics.Render());
        if (request.Path.SequenceEqual("/readyz"u8))
        {
            return readiness() switch
            {
                GatewayReadiness.Ready => new LocalResponse(200, "application/json", Ok),
                GatewayReadiness.Starting => new LocalResponse(503, "application/json", Starting),
                GatewayReadiness.Stopping => new LocalResponse(503, "application/json", Stopping),
                GatewayReadiness.ShippingBacklog => new LocalResponse(503, "application/json", ShippingBacklog),
                _ => new LocalResponse(503, "application/json", AuditUnwritable),
            };
        }
        return new LocalResponse(404, "application/json", NotFound);
    }
}

/// <summary>Why the gateway can or cannot take traffic (GET /readyz).</summary>
internal enum GatewayReadiness : byte { Ready, Starting, Stopping, AuditUnwritable, ShippingBacklog }
