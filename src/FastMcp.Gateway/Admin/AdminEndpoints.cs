using System.Net;
using FastMcp.Gateway.Hosting;
using FastMcp.Http;
using HttpMethod = FastMcp.Http.HttpMethod;

namespace FastMcp.Gateway.Admin;

/// <summary>
/// The admin listener's routes: /healthz (the process serves), /readyz (it accepts traffic:
/// listeners bound and not shutting down), /metrics (Prometheus text), and /approvals (approvers
/// only, see ApprovalEndpoints).
/// </summary>
internal sealed class AdminEndpoints(Func<bool> isReady, ApprovalEndpoints? approvals, MetricsEndpoint metrics)
{
    private static readonly byte[] Ok = """{"status":"ok"}"""u8.ToArray();
    private static readonly byte[] NotReady = """{"status":"not ready"}"""u8.ToArray();
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
        if (request.Path.SequenceEqual("/readyz"u8)) return isReady() ? new LocalResponse(200, "application/json", Ok) : new LocalResponse(503, "application/json", NotReady);
        return new LocalResponse(404, "application/json", NotFound);
    }
}
