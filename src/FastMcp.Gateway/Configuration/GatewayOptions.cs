using FastMcp.Http;

namespace FastMcp.Gateway.Configuration;

/// <summary>The whole configuration file. Every property has an embedded default that serves.</summary>
public sealed class GatewayOptions
{
    /// <summary>Addresses the MCP endpoint listens on: "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:8080".</summary>
    public List<string> Listen { get; set; } = ["127.0.0.1:8080"];

    /// <summary>Path of the MCP endpoint clients use.</summary>
    public string EndpointPath { get; set; } = "/mcp";

    /// <summary>Scheme clients reach the gateway with (sent upstream as X-Forwarded-Proto).</summary>
    public string PublicScheme { get; set; } = "http";

    /// <summary>TLS on every MCP listen address (docs/configuration.md). Absent: plain HTTP.</summary>
    public ListenerTlsOptions? Tls { get; set; }

    /// <summary>The upstream of <see cref="EndpointPath"/> (the default route, named "default"). With routes and no url, there is none.</summary>
    public UpstreamOptions Upstream { get; set; } = new();

    /// <summary>Named upstreams the routes forward to (docs/configuration.md, "Routes and federation").</summary>
    public Dictionary<string, UpstreamOptions> Upstreams { get; set; } = new(StringComparer.Ordinal);

    /// <summary>More MCP endpoint paths, each forwarding to a named upstream.</summary>
    public List<RouteOptions> Routes { get; set; } = [];

    public AdminOptions Admin { get; set; } = new();
    public HttpLimits Limits { get; set; } = new();
    public TimeoutOptions Timeouts { get; set; } = new();
    public OriginOptions Origins { get; set; } = new();

    /// <summary>Who may call: OIDC bearer tokens (default), dev tokens, or anonymous (loopback only).</summary>
    public FastMcp.Identity.IdentityOptions? Identity { get; set; }

    /// <summary>Ordered rules deciding each call. Required in a configuration file (the default is deny).</summary>
    public FastMcp.Policy.PolicyOptions? Policy { get; set; }

    public MaskingOptions Masking { get; set; } = new();

    /// <summary>Approvers, held-call keep-alives and the approvals webhook (docs/approvals.md).</summary>
    public FastMcp.Gateway.Approvals.ApprovalOptions Approvals { get; set; } = new();

    /// <summary>Tool definition pinning: tools/list definitions compared with reviewed digests (docs/policy.md).</summary>
    public ToolPinOptions ToolPins { get; set; } = new();

    /// <summary>Tamper-evident audit log. Always on except in pass-through mode.</summary>
    public FastMcp.Audit.AuditOptions Audit { get; set; } = new() { Directory = "fastmcp-audit" };

    /// <summary>Budget of failed authentications per client address, and how refusals beyond it are recorded.</summary>
    public FailedAuthenticationOptions FailedAuthentication { get; set; } = new();

    /// <summary>How MCP sessions of plain routes are tied to the caller they were issued to.</summary>
    public SessionOptions Sessions { get; set; } = new();

    /// <summary>How many task ids bound to their callers are kept (docs/configuration.md, "tasks").</summary>
    public FastMcp.Gateway.Tasks.TaskOptions Tasks { get; set; } = new();

    /// <summary>Request budgets per client address and per subject (429 beyond; docs/configuration.md).</summary>
    public FastMcp.Gateway.RateLimiting.RateLimitOptions RateLimits { get; set; } = new();

    /// <summary>Which tool names /metrics labels (bounded cardinality; docs/operations.md).</summary>
    public MetricsOptions Metrics { get; set; } = new();

    /// <summary>Trusted proxies whose forwarding header names the client, and the PROXY protocol (docs/configuration.md).</summary>
    public ClientAddressOptions ClientAddress { get; set; } = new();

    /// <summary>Operational log format and level, and the access log.</summary>
    public LogOptions Log { get; set; } = new();

    /// <summary>OpenTelemetry spans exported over OTLP (off unless tracing.otlpEndpoint is set).</summary>
    public TracingOptions Tracing { get; set; } = new();

    /// <summary>The data path's threads: how many socket loops, and their Linux scheduling policy.</summary>
    public ThreadOptions Threads { get; set; } = new();

    /// <summary>Forward bytes without identity, policy, masking or audit (benchmarks and diagnostics only).</summary>
    public bool Passthrough { get; set; }
}

public sealed class UpstreamOptions
{
    /// <summary>http://host:port/path of the MCP server. Empty (and no stdio): the built-in demo server is started.</summary>
    public string Url { get; set; } = "";

    /// <summary>A local MCP server run as a process per session over stdio (instead of url).</summary>
    public StdioUpstreamOptions? Stdio { get; set; }

    /// <summary>What the upstream is, for logs and audit records: the URL or the stdio command line.</summary>
    public string Describe() => Stdio is { } stdio ? stdio.Describe() : Url;
    public int ConnectTimeoutMs { get; set; } = 5_000;

    /// <summary>Time from sending a request to the upstream's response head (504 beyond).</summary>
    public int ResponseTimeoutMs { get; set; } = 60_000;

    /// <summary>Idle keep-alive connections kept per upstream.</summary>
    public int MaxIdleConnections { get; set; } = 256;

    /// <summary>
    /// A named upstream's own credential, injected instead of the client's token (the default upstream's is
    /// identity.upstreamCredential). Absent: none is sent.
    /// </summary>
    public FastMcp.Identity.UpstreamCredentialOptions? Credential { get; set; }

    /// <summary>
    /// Pass the client's Cookie fields to this upstream and its Set-Cookie fields to the client (for an upstream that
    /// needs cookie stickiness). Off: cookies are credentials the gateway does not hold, and stop at the gateway.
    /// </summary>
    public bool ForwardCookies { get; set; }

    /// <summary>
    /// The client's header fields, beyond the ones MCP defines and User-Agent, passed to this upstream: exact names (any
    /// letter case), a trailing "*" as a prefix ("X-MCP-*"), or "*" for every field not stopped at the gateway. Empty:
    /// none. An allowlist because a denylist cannot name every field an upstream authenticates by (X-Api-Key, Private-Token).
    /// </summary>
    public List<string> ForwardHeaders { get; set; } = [];

    /// <summary>How often a TCP connect probes whether the upstream is up (/readyz, fastmcp_upstream_up); 0 disables the probe.</summary>
    public int ProbeIntervalMs { get; set; } = 5_000;

    /// <summary>CA, client certificate and SNI for an https:// url (system CA bundle by default).</summary>
    public UpstreamTlsOptions Tls { get; set; } = new();
}

public sealed class TimeoutOptions
{
    /// <summary>From the first byte of a request to the end of its head (408 beyond).</summary>
    public int RequestHeadersMs { get; set; } = 10_000;

    /// <summary>Time to receive a request body (408 beyond).</summary>
    public int RequestBodyMs { get; set; } = 30_000;

    /// <summary>An idle keep-alive client connection is closed after this.</summary>
    public int KeepAliveMs { get; set; } = 120_000;

    /// <summary>
    /// A new connection must start its first request within this (it is closed otherwise). Shorter than the
    /// keep-alive on purpose: a socket that never says anything holds a connection slot only this long.
    /// </summary>
    public int FirstRequestMs { get; set; } = 10_000;

    /// <summary>
    /// A client must take each part of its response within this: one that stops reading is disconnected (and the
    /// upstream exchange closed) instead of holding the response in memory.
    /// </summary>
    public int ClientWriteMs { get; set; } = 30_000;

    /// <summary>On SIGTERM, in-flight exchanges get this long to finish.</summary>
    public int ShutdownMs { get; set; } = 10_000;
}

public sealed class OriginOptions
{
    /// <summary>
    /// Origins browsers may call from ("scheme://host:port", port "*" for any). A request that
    /// carries any other Origin gets 403 (DNS-rebinding protection). Requests without Origin pass.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"];

    /// <summary>Host header values accepted ("host:port", port "*" for any). Empty: any host.</summary>
    public List<string> AllowedHosts { get; set; } = ["localhost:*", "127.0.0.1:*", "[::1]:*"];
}

public sealed class SessionOptions
{
    /// <summary>
    /// A Mcp-Session-Id this gateway has not seen issued (before a restart, by another replica, or forgotten):
    /// "refuse" answers 404 (the client initializes again), "forward" sends it on and binds it to its first caller here.
    /// </summary>
    public string Unknown { get; set; } = "refuse";

    /// <summary>
    /// Clients get sealed session ids (the upstream's id with a tag binding it to the caller and the upstream, keyed from
    /// the card fingerprint key), so that every replica can tell whose session an id is; needs a configured card
    /// fingerprint key. A sealed id that verifies is the caller's whatever <see cref="Unknown"/> says.
    /// </summary>
    public bool Sealed { get; set; }

    /// <summary>Session bindings kept per upstream; past it the least recently used are forgotten.</summary>
    public int MaxPerUpstream { get; set; } = 100_000;

    /// <summary>
    /// Session bindings one caller (issuer and subject) keeps per upstream; past it that caller's own least recently used
    /// is forgotten, so that a caller opening sessions in a loop cannot push other callers' sessions out of the table.
    /// </summary>
    public int MaxPerCaller { get; set; } = 1_000;

    /// <summary>Requests refused for naming a session not the caller's are recorded as one audit record per caller, upstream and reason per this many seconds.</summary>
    public int RecordIntervalSeconds { get; set; } = 10;
}

public sealed class FailedAuthenticationOptions
{
    /// <summary>Failed authentications a client address may make per minute, on average, before it gets 429.</summary>
    public int PerMinute { get; set; } = 60;

    /// <summary>Failures a client address may make at once (the bucket's size).</summary>
    public int Burst { get; set; } = 20;

    /// <summary>Attempts refused with 429 are recorded as one audit record per address per this many seconds.</summary>
    public int RecordIntervalSeconds { get; set; } = 10;

    /// <summary>Addresses tracked at once (a fixed table); beyond it, the least recently seen address of a set is forgotten.</summary>
    public int MaxTrackedSources { get; set; } = 100_000;
}
