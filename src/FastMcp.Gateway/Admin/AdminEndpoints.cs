using System.Net;
using FastMcp.Gateway.Hosting;
using FastMcp.Http;
using FastMcp.Identity;
using HttpMethod = FastMcp.Http.HttpMethod;

namespace FastMcp.Gateway.Admin;

/// <summary>
/// The admin listener's routes: /healthz (the process serves), /readyz (it can serve traffic:
/// listeners bound, not shutting down, the audit log writable, at least one upstream up; the upstreams that are down
/// are listed as "upstreamsDown"), /metrics (Prometheus text; with a scrape token configured, only to it or to an
/// operator's token), /approvals (approvers only, see ApprovalEndpoints), /peer/v1/ (other replicas, MACed: see
/// PeerEndpoints), and /tools/observed (the tool definitions pinned upstreams listed, with their digests: what
/// `fastmcp tools pin` writes a pins file from; operators only unless admin.toolsObservedAccess is "open").
/// /healthz and /readyz stay open: probes carry no token, and they say nothing but up or down (and which upstream is down).
/// </summary>
/// <remarks>
/// Answers that show call data or tool definitions (the approvals API, /tools/observed) are recorded before they are sent
/// (AdminRequestTrail). /healthz, /readyz and /metrics are not: they show no call data, and probes and scrapers ask every
/// few seconds, which would fill the log with records that say nothing (their refusals are counted).
/// </remarks>
internal sealed class AdminEndpoints(Func<GatewayReadiness> readiness, Func<List<(string Name, string Reason)>> downUpstreams, ApprovalEndpoints? approvals,
    MetricsEndpoint metrics, AdminAccess access, AdminViewRules rules, AdminRequestTrail trail, PeerEndpoints? peers = null, ToolPins.ToolPinning? toolPins = null)
{
    private static readonly byte[] Ok = """{"status":"ok"}"""u8.ToArray();
    private static readonly byte[] Starting = """{"status":"not ready","reason":"listeners not bound yet"}"""u8.ToArray();
    private static readonly byte[] Stopping = """{"status":"not ready","reason":"stopping"}"""u8.ToArray();
    private static readonly byte[] ShippingBacklog = """{"status":"not ready","reason":"audit shipping backlog over audit.shipping.maxBacklogSegments: the object store is not taking segments"}"""u8.ToArray();
    private static readonly byte[] AuditUnwritable = """{"status":"not ready","reason":"audit log not writable: every call is refused with 503 until it recovers"}"""u8.ToArray();
    private static readonly byte[] NotFound = """{"error":"not found"}"""u8.ToArray();
    private static readonly byte[] PinningOff = """{"error":"tool pinning is off for every upstream (toolPins.mode)"}"""u8.ToArray();
    private const string MetricsChallenge = "WWW-Authenticate: Bearer realm=\"fastmcp-metrics\"\r\n";

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
        if (request.Method is HttpMethod.Get or HttpMethod.Head)
        {
            // The caller is checked before anything else is said, whether pinning is on included.
            if (request.Path.SequenceEqual("/tools/observed"u8)) return ToolsObservedAsync(request, remote);
            if (request.Path.SequenceEqual("/metrics"u8) && rules.ScrapeToken is { } scrape) return MetricsAsync(request, remote, scrape);
        }
        return new ValueTask<LocalResponse>(Handle(request));
    }

    /// <summary>The caller checked (unless admin.toolsObservedAccess is "open"), the answer recorded, then sent.</summary>
    private async ValueTask<LocalResponse> ToolsObservedAsync(HttpRequestHead request, IPEndPoint remote)
    {
        string method = request.Method == HttpMethod.Head ? "HEAD" : "GET";
        string query = AdminRequestTrail.QueryText(request.Query);
        Principal? principal = null;
        if (!rules.ToolsObservedOpen)
        {
            AdminCaller caller = await access.AuthenticateAsync(request, remote, AdminView.ToolsObserved).ConfigureAwait(false);
            if (caller.Principal is null) return caller.Refusal;
            principal = caller.Principal;
        }
        return await trail.RecordAsync(AdminView.ToolsObserved, principal, ApprovalEndpoints.ClientAddress(remote), method, "/tools/observed", query,
            "admin: observed tools", ToolsObserved()).ConfigureAwait(false);
    }

    /// <summary>
    /// /metrics with a scrape token configured: the token (Prometheus' bearer credential) or an operator's own token (a JWT,
    /// verified as the approvals API verifies one); anything else is 401.
    /// </summary>
    private ValueTask<LocalResponse> MetricsAsync(HttpRequestHead request, IPEndPoint remote, MetricsScrapeToken scrape)
    {
        ReadOnlySpan<byte> authorization = request.Headers.Get(KnownHeader.Authorization);
        if (scrape.Admits(authorization)) return new ValueTask<LocalResponse>(Metrics());
        if (access.VerifiesTokens && PresentsJwt(authorization)) return OperatorMetricsAsync(request, remote);
        string why = authorization.IsEmpty ? "no scrape token" : "not the scrape token";
        return new ValueTask<LocalResponse>(access.Refuse(AdminView.Metrics, 401, ApprovalEndpoints.ClientAddress(remote),
            $"{why}: /metrics needs the scrape token (admin.metricsTokenFile or admin.metricsTokenEnv) or an operator's token", MetricsChallenge).Refusal);
    }

    private async ValueTask<LocalResponse> OperatorMetricsAsync(HttpRequestHead request, IPEndPoint remote)
    {
        AdminCaller caller = await access.AuthenticateAsync(request, remote, AdminView.Metrics).ConfigureAwait(false);
        return caller.Principal is null ? caller.Refusal : Metrics();
    }

    /// <summary>A DPoP-bound token, or a bearer token shaped as a JWT (three dot-separated parts): a caller's, not a scrape token.</summary>
    private static bool PresentsJwt(ReadOnlySpan<byte> authorization)
    {
        if (BearerHeader.TryGetToken(authorization, out ReadOnlySpan<byte> token, out bool dpop) != AuthFailure.None) return false;
        return dpop || token.Count((byte)'.') == 2;
    }

    private LocalResponse Metrics() => new(200, "text/plain; version=0.0.4; charset=utf-8", metrics.Render());

    private LocalResponse ToolsObserved() =>
        toolPins is null ? new LocalResponse(404, "application/json", PinningOff) : new LocalResponse(200, "application/json", toolPins.ObservedJson());

    private LocalResponse Handle(HttpRequestHead request)
    {
        if (request.Method is not (HttpMethod.Get or HttpMethod.Head)) return new LocalResponse(405, "application/json", NotFound, "Allow: GET\r\n");
        if (request.Path.SequenceEqual("/healthz"u8)) return new LocalResponse(200, "application/json", Ok);
        if (request.Path.SequenceEqual("/metrics"u8)) return Metrics();
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
