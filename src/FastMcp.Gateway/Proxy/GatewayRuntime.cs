using System.Text;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Forwarding;
using FastMcp.Gateway.Stages;
using FastMcp.Http;

namespace FastMcp.Gateway.Proxy;

/// <summary>What every client connection shares: settings, the upstream, the stages, and the shutdown state.</summary>
internal sealed class GatewayRuntime
{
    public GatewayRuntime(GatewayOptions options, Upstream.RouteTable routes, IResponseTransform[] responseTransforms)
    {
        Options = options;
        Limits = options.Limits;
        Routes = routes;
        ResponseTransforms = responseTransforms;
        OriginGuard = new OriginGuard(options.Origins);
        PublicScheme = Encoding.ASCII.GetBytes(options.PublicScheme);
        ClientAddressing = new Clients.ClientAddressing(options.ClientAddress);
        RateLimits = new RateLimiting.RateLimits(options.RateLimits);
        Metrics = new Admin.ExchangeMetrics(options.Metrics.Tools);
        AdminLimits = Hosting.LocalServerLimits.Admin(options.Admin, options.Timeouts);
    }

    /// <summary>The admin listener's bounds on connections and their times, and what they refused (/metrics).</summary>
    public Hosting.LocalServerLimits AdminLimits { get; }

    /// <summary>The admin listener's answers put on the record, and the per-caller budget of records (AdminRequestTrail).</summary>
    public Admin.AdminRequestTrail AdminRequests { get; init; } = new(null, Configuration.AdminOptions.DefaultRecordedRequestsPerMinute);

    /// <summary>Admin listener requests refused for their credential (/metrics, /tools/observed, the approvals API).</summary>
    public Admin.AdminAccessRefusals AdminRefusals { get; } = new();

    /// <summary>Exchanges by method, decision and status; latencies; authentication failures by reason.</summary>
    public Admin.ExchangeMetrics Metrics { get; }

    /// <summary>Request budgets per client address and per subject.</summary>
    public RateLimiting.RateLimits RateLimits { get; }

    /// <summary>Trusted proxies and PROXY protocol: who a request is attributed to.</summary>
    public Clients.ClientAddressing ClientAddressing { get; }

    public GatewayOptions Options { get; }
    public HttpLimits Limits { get; }
    /// <summary>The MCP endpoint paths and the upstream behind each (pool, credential, timeouts, health).</summary>
    public Upstream.RouteTable Routes { get; }
    public IResponseTransform[] ResponseTransforms { get; }
    public OriginGuard OriginGuard { get; }
    public byte[] PublicScheme { get; }

    /// <summary>What /metrics reports about the data path.</summary>
    public Admin.GatewayCounters Counters { get; } = new();

    /// <summary>Holds back repeats of the lines a client can cause per request (upstream failures, client write timeouts).</summary>
    public Hosting.LogRateLimit LogRateLimit { get; } = new();

    /// <summary>Who is calling; null only in pass-through mode.</summary>
    public Authentication? Authentication { get; set; }

    /// <summary>Per-address budget of failed authentications (with Authentication, except anonymous mode).</summary>
    public FailedAuthenticationLimiter? FailedAuthentication { get; set; }

    /// <summary>May they; null only in pass-through mode.</summary>
    public PolicyAuthorization? Authorization { get; set; }

    /// <summary>Card-number masking; null when disabled.</summary>
    public PanMasking? Masking { get; set; }

    /// <summary>Pending approvals of require_approval rules; null in pass-through mode.</summary>
    public FastMcp.Gateway.Approvals.ApprovalBroker? Approvals { get; set; }

    /// <summary>Client connection slots (limits.maxConnections and the reserve for authenticated connections).</summary>
    public Transport.ConnectionSlots? Slots { get; set; }

    /// <summary>Sessions of plain routes bound to their callers; null without identities to tell apart (anonymous, pass-through).</summary>
    public Sessions.SessionBindings? SessionBindings { get; set; }

    /// <summary>Ends at the upstreams the sessions forgotten past a bound (plain routes and federated paths); counts for /metrics.</summary>
    public Sessions.SessionEnder? SessionEnds { get; set; }

    /// <summary>Seals the session ids of plain routes for their caller (sessions.sealed); null when off.</summary>
    public Sessions.IdSeal? SessionSeal { get; set; }

    /// <summary>Task ids bound to the callers whose calls created them; null without identities to tell apart (anonymous, pass-through).</summary>
    public Tasks.TaskBindings? TaskBindings { get; set; }

    /// <summary>Seals task ids for their caller (tasks.sealed); null when off or without <see cref="TaskBindings"/>.</summary>
    public Tasks.TaskSeal? TaskSeal { get; set; }

    /// <summary>Requests refused for naming a session not the caller's, counted for /metrics and the aggregate audit record; null with <see cref="SessionBindings"/>.</summary>
    public Sessions.SessionRefusalTally? SessionRefusals { get; set; }

    /// <summary>The requests in flight to the upstreams, by caller: a client's notifications/cancelled may name only its own (InFlight/InFlightCalls.cs).</summary>
    public InFlight.InFlightCalls InFlightCalls { get; } = new();

    /// <summary>Server requests policy.serverRequests denied, whose answers from clients are refused.</summary>
    public DeniedServerRequests DeniedServerRequests { get; } = new();

    /// <summary>Calls whose POST stream ended before their answer: what a resumed GET stream may answer (Sessions/UnansweredStreamCalls.cs).</summary>
    public Sessions.UnansweredStreamCalls UnansweredCalls { get; } = new();

    /// <summary>Audit recording; null when disabled.</summary>
    public AuditRecording? Audit { get; set; }

    /// <summary>Spans and their OTLP export (null while tracing.otlpEndpoint is empty).</summary>
    public Tracing.Tracer? Tracer { get; set; }

    /// <summary>Set on SIGTERM: connections finish their current exchange and close.</summary>
    public bool Stopping => Volatile.Read(ref _stopping) != 0;
    private int _stopping;

    public void BeginStopping() => Interlocked.Exchange(ref _stopping, 1);
}
