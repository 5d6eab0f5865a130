using System.Net;
using FastMcp.Gateway.Hosting;
using FastMcp.Http;
using HttpMethod = FastMcp.Http.HttpMethod;

namespace FastMcp.Gateway.Admin;

/// <summary>
/// The admin listener's routes: /healthz (the process serves), /readyz (it can serve traffic:
/// listeners bound, not shutting down, the audit log writable, at least one upstream up; the upstreams that are down
/// are listed as "upstreamsDown"), /metrics (Prometheus text), and
/// /approvals (approvers only, see ApprovalEndpoints), /peer/v1/ (other replicas, MACed: see PeerEndpoints), and
/// /tools/observed (the tool definitions pinned upstreams listed, with their digests: what `fastmcp tools pin` writes a pins file from).
/// </summary>
internal sealed class AdminEndpoints(Func<GatewayReadiness> readiness, Func<List<(string Name, string Reason)>> downUpstreams, ApprovalEndpoints? approvals,
    MetricsEndpoint metrics, PeerEndpoints? peers = null, ToolPins.ToolPinning? toolPins = null)
{
    private static readonly byte[] Ok = """{"status":"ok"}"""u8.ToArray();
    private static readonly byte[] Starting = """{"status":"not ready","reason":"listeners not bound yet"}"""u8.ToArray();
    private static readonly byte[] Stopping = """{"status":"not ready","reason":"stopping"}"""u8.ToArray();
    private static readonly byte[] ShippingBacklog = """{"status":"not ready","reason":"audit shipping backlog over audit.shipping.maxBacklogSegments: the object store is not taking segments"}"""u8.ToArray();
    private static readonly byte[] AuditUnwritable = """{"status":"not ready","reason":"audit log not writable: every call is refused with 503 until it recovers"}"""u8.ToArray();
    private static readonly byte[] NotFound = """{"error":"not found"}"""u8.ToArray();
    private static readonly byte[] PinningOff = """{"error":"tool pinning is off for every upstream (toolPins.mode)"}"""u8.ToArray();

    public ValueTask<LocalResponse> HandleAsync(HttpRequestHead request, ReadOnlyMemory<byte> body, IPEndPoint remote)
    {
        if (ApprovalEndpoints.Matches(request.Path))
        {
            if (approvals is null) return new ValueTask<LocalResponse>(new LocalResponse(404, "application/json", """{"error":"approvals are not enabled (pass-through mode)"}"""u8.ToArray()));
            return approvals.HandleAsync(request, body, remote);
        }
        if (PeerEndpoints.Matches(request.Path))
        {
            if (peers is null) return new ValueTask<LocalResponse>(new LocalResponse(404, "application/json", """{"error":"approvals.peers is not configured on this replica"}"""u8.ToArray()));
            return peers.HandleAsync(request, body, remote);
        }
        return new ValueTask<LocalResponse>(Handle(request));
    }

    private LocalResponse Handle(HttpRequestHead request)
    {
        if (request.Method is not (HttpMethod.Get or HttpMethod.Head)) return new LocalResponse(405, "application/json", NotFound, "Allow: GET\r\n");
        if (request.Path.SequenceEqual("/healthz"u8)) return new LocalResponse(200, "application/json", Ok);
        if (request.Path.SequenceEqual("/metrics"u8)) return new LocalResponse(200, "text/plain; version=0.0.4; charset=utf-8", metrics.Render());
        if (request.Path.SequenceEqual("/tools/observed"u8))
            return toolPins is null ? new LocalResponse(404, "application/json", PinningOff) : new LocalResponse(200, "application/json", toolPins.ObservedJson());
        if (request.Path.SequenceEqual("/readyz"u8))
        {
            GatewayReadiness state = readiness();
            if (state is GatewayReadiness.Ready or GatewayReadiness.NoUpstreamUp)
            {
                List<(string Name, string Reason)> down = downUpstreams();
                if (state == GatewayReadiness.Ready && down.Count == 0) return new LocalResponse(200, "application/json", Ok);
                return new LocalResponse(state == GatewayReadiness.Ready ? 200 : 503, "application/json", WithUpstreamsDown(state, down));
            }
            return state switch
            {
                GatewayReadiness.Starting => new LocalResponse(503, "application/json", Starting),
                GatewayReadiness.Stopping => new LocalResponse(503, "application/json", Stopping),
                GatewayReadiness.ShippingBacklog => new LocalResponse(503, "application/json", ShippingBacklog),
                _ => new LocalResponse(503, "application/json", AuditUnwritable),
            };
        }
        return new LocalResponse(404, "application/json", NotFound);
    }

    /// <summary>{"status":...,"upstreamsDown":[{"name":...,"reason":...}]}: which upstreams the routes to answer 502 for now.</summary>
    private static byte[] WithUpstreamsDown(GatewayReadiness state, List<(string Name, string Reason)> down)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (state == GatewayReadiness.Ready)
            {
                w.WriteString("status"u8, "ok"u8);
            }
            else
            {
                w.WriteString("status"u8, "not ready"u8);
                w.WriteString("reason"u8, "no upstream is up"u8);
            }
            w.WriteStartArray("upstreamsDown"u8);
            foreach ((string Name, string Reason) h in down)
            {
                w.WriteStartObject();
                w.WriteString("name"u8, h.Name);
                w.WriteString("reason"u8, h.Reason);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>Why the gateway can or cannot take traffic (GET /readyz).</summary>
internal enum GatewayReadiness : byte { Ready, Starting, Stopping, AuditUnwritable, ShippingBacklog, NoUpstreamUp }
