using System.Diagnostics;
using System.Globalization;
using System.Text;
using FastMcp.Gateway.Proxy;

namespace FastMcp.Gateway.Admin;

/// <summary>
/// GET /metrics on the admin listener: Prometheus text format (version 0.0.4). Process figures
/// come from the runtime (allocated bytes, collections, working set, CPU), so an SRE can watch
/// the gateway's footprint, and tests can check that steady-state traffic does not allocate.
/// </summary>
internal sealed class MetricsEndpoint(GatewayRuntime runtime, Func<int> openConnections)
{
    // One builder reused across scrapes: rendering allocates the answer's bytes and little else, so what a
    // scrape costs stays small and even (the footprint test takes one rendering off its per-call figure).
    private readonly StringBuilder _sb = new(32 * 1024);

    public byte[] Render()
    {
        lock (_sb)
        {
            _sb.Clear();
            RenderInto(_sb);
            int length = 0;
            foreach (ReadOnlyMemory<char> chunk in _sb.GetChunks()) length += Encoding.UTF8.GetByteCount(chunk.Span);
            byte[] bytes = new byte[length];
            int at = 0;
            foreach (ReadOnlyMemory<char> chunk in _sb.GetChunks()) at += Encoding.UTF8.GetBytes(chunk.Span, bytes.AsSpan(at));
            return bytes;
        }
    }

    private static void TlsMetrics(StringBuilder sb, GatewayCounters c)
    {
        Header(sb, "fastmcp_tls_handshake_failures_total", "TLS handshakes on the MCP listener that failed, per reason", "counter");
        for (int reason = 1; reason < Transport.TlsHandshakeFailures.Count; reason++)
        {
            sb.Append("fastmcp_tls_handshake_failures_total{reason=\"").Append(Transport.TlsHandshakeFailures.Label((Transport.TlsHandshakeFailure)reason)).Append("\"} ")
                .Append(Volatile.Read(ref c.TlsHandshakeFailures[reason])).Append('\n');
        }
        Counter(sb, "fastmcp_tls_certificate_reloads_total", "times the listener certificate was taken again from its changed files", Volatile.Read(ref c.TlsCertificateReloads));
        Counter(sb, "fastmcp_tls_certificate_reload_failures_total", "times changed certificate files did not load (the previous certificate stays in service)", Volatile.Read(ref c.TlsCertificateReloadFailures));
        Gauge(sb, "fastmcp_tls_certificate_expiry_timestamp_seconds", "expiry of the listener certificate in service, Unix time (0 without TLS)", Volatile.Read(ref c.TlsCertificateNotAfter));
    }

    /// <summary>
    /// Upstreams whose credential is an oauth access token (docs/operations.md, "Metrics"): requests refused because no
    /// unexpired token was held, failed token requests, and how long the held token still lives (alert before it reaches 0).
    /// </summary>
    private static void UpstreamCredentialMetrics(StringBuilder sb, GatewayRuntime runtime)
    {
        bool any = false;
        foreach (Upstream.UpstreamRoute route in runtime.Routes.Upstreams) any |= route.Credential is { IsOAuth: true };
        if (!any) return;
        Header(sb, "fastmcp_upstream_credential_failures_total", "requests not forwarded because the gateway held no unexpired access token for the upstream (503)", "counter");
        foreach (Upstream.UpstreamRoute route in runtime.Routes.Upstreams)
        {
            if (route.Credential is { IsOAuth: true } c) sb.Append("fastmcp_upstream_credential_failures_total{upstream=\"").Append(route.Name).Append("\"} ").Append(c.RefusedRequests).Append('\n');
        }
        Header(sb, "fastmcp_upstream_token_fetch_failures_total", "token requests to the upstream credential's token endpoint that failed", "counter");
        foreach (Upstream.UpstreamRoute route in runtime.Routes.Upstreams)
        {
            if (route.Credential is { IsOAuth: true } c) sb.Append("fastmcp_upstream_token_fetch_failures_total{upstream=\"").Append(route.Name).Append("\"} ").Append(c.TokenFetchFailures).Append('\n');
        }
        Header(sb, "fastmcp_upstream_token_remaining_seconds", "seconds the upstream access token held still lives (0: none held; +Inf: no lifetime stated)", "gauge");
        foreach (Upstream.UpstreamRoute route in runtime.Routes.Upstreams)
        {
            if (route.Credential is not { IsOAuth: true } c) continue;
            double remaining = c.TokenRemainingSeconds ?? 0;
            sb.Append("fastmcp_upstream_token_remaining_seconds{upstream=\"").Append(route.Name).Append("\"} ")
                .Append(double.IsPositiveInfinity(remaining) ? "+Inf" : Math.Floor(remaining).ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    /// <summary>
    /// Upstreams whose credential is a per-caller token exchange (docs/operations.md, "Metrics"): successful exchanges,
    /// requests not forwarded per reason (unavailable: 503; refused: the identity provider refused the caller, 403), and
    /// how many callers' exchanged tokens are held.
    /// </summary>
    private static void TokenExchangeMetrics(StringBuilder sb, GatewayRuntime runtime)
    {
        bool any = false;
        foreach (Upstream.UpstreamRoute route in runtime.Routes.Upstreams) any |= route.Credential is { IsTokenExchange: true };
        if (!any) return;
        Header(sb, "fastmcp_upstream_token_exchanges_total", "tokens obtained by token exchange for callers of the upstream (cache misses that succeeded)", "counter");
        foreach (Upstream.UpstreamRoute route in runtime.Routes.Upstreams)
            if (route.Credential is { IsTokenExchange: true } c) sb.Append("fastmcp_upstream_token_exchanges_total{upstream=\"").Append(route.Name).Append("\"} ").Append(c.ExchangeCounts.Exchanges).Append('\n');
        Header(sb, "fastmcp_upstream_token_exchange_failures_total", "requests not forwarded because no exchanged token was had: unavailable (endpoint down, slow, failing: 503), refused (the identity provider refused this caller: 403)", "counter");
        foreach (Upstream.UpstreamRoute route in runtime.Routes.Upstreams)
        {
            if (route.Credential is not { IsTokenExchange: true } c) continue;
            (_, long unavailable, long refused, _) = c.ExchangeCounts;
            sb.Append("fastmcp_upstream_token_exchange_failures_total{upstream=\"").Append(route.Name).Append("\",reason=\"unavailable\"} ").Append(unavailable).Append('\n');
            sb.Append("fastmcp_upstream_token_exchange_failures_total{upstream=\"").Append(route.Name).Append("\",reason=\"refused\"} ").Append(refused).Append('\n');
        }
        Header(sb, "fastmcp_upstream_token_exchange_rejected_total", "exchanged tokens the upstream answered 401 to (dropped: the caller's next request exchanges again)", "counter");
        foreach (Upstream.UpstreamRoute route in runtime.Routes.Upstreams)
            if (route.Credential is { IsTokenExchange: true } c) sb.Append("fastmcp_upstream_token_exchange_rejected_total{upstream=\"").Append(route.Name).Append("\"} ").Append(c.ExchangedTokensRejected).Append('\n');
        Header(sb, "fastmcp_upstream_token_exchange_cached_callers", "callers whose exchanged upstream token, or whose refusal by the token endpoint, the gateway holds", "gauge");
        foreach (Upstream.UpstreamRoute route in runtime.Routes.Upstreams)
            if (route.Credential is { IsTokenExchange: true } c) sb.Append("fastmcp_upstream_token_exchange_cached_callers{upstream=\"").Append(route.Name).Append("\"} ").Append(c.ExchangeCounts.Cached).Append('\n');
    }

    /// <summary>What stdio upstreams' servers (and local processes reaching their bridges) caused: every one, logged or held back.</summary>
    private static void StdioMetrics(StringBuilder sb, GatewayRuntime runtime)
    {
        if (runtime.Routes.StdioBridges.Count == 0) return;
        Header(sb, "fastmcp_stdio_events_total", "what stdio upstreams' servers and callers caused, per upstream and event (each counted; the log holds back repeats)", "counter");
        foreach ((string name, Upstream.Stdio.StdioBridge bridge) in runtime.Routes.StdioBridges)
        {
            for (int e = 0; e < Upstream.Stdio.StdioEvents.Count; e++)
            {
                sb.Append("fastmcp_stdio_events_total{upstream=\"").Append(name).Append("\",event=\"").Append(Upstream.Stdio.StdioEvents.Label((Upstream.Stdio.StdioEvent)e))
                    .Append("\"} ").Append(bridge.Events.Total((Upstream.Stdio.StdioEvent)e)).Append('\n');
            }
        }
        bool header = false;
        foreach ((string name, Upstream.Stdio.StdioBridge bridge) in runtime.Routes.StdioBridges)
        {
            if (!bridge.RunsAs) continue;
            if (!header) Header(sb, "fastmcp_stdio_run_as_exposed_files", "files of the gateway's (keys, tokens, audit directory) a runAs upstream's user could read or change, as found at start", "gauge");
            header = true;
            sb.Append("fastmcp_stdio_run_as_exposed_files{upstream=\"").Append(name).Append("\"} ").Append(bridge.ExposedSecretFiles).Append('\n');
        }
    }

    /// <summary>Session ownership (docs/operations.md, "Metrics"): refusals per reason, and sessions held and evicted per bound, plain routes and federated paths.</summary>
    private static void SessionMetrics(StringBuilder sb, GatewayRuntime runtime)
    {
        Header(sb, "fastmcp_session_refusals_total", "requests refused 404 for naming a session not the caller's: foreign (another caller's), unknown (bound to no one here)", "counter");
        sb.Append("fastmcp_session_refusals_total{reason=\"foreign\"} ").Append(runtime.SessionRefusals?.Total(Sessions.SessionRefusal.Foreign) ?? 0).Append('\n');
        sb.Append("fastmcp_session_refusals_total{reason=\"unknown\"} ").Append(runtime.SessionRefusals?.Total(Sessions.SessionRefusal.Unknown) ?? 0).Append('\n');
        Sessions.SessionBindings? bindings = runtime.SessionBindings;
        Gauge(sb, "fastmcp_session_bindings", "sessions of plain routes bound to their callers, all upstreams", bindings?.Total() ?? 0);
        Header(sb, "fastmcp_session_bindings_evicted_total", "bindings forgotten past a bound: max_per_caller (the caller's own oldest), max_per_upstream (a heaviest holder's oldest)", "counter");
        sb.Append("fastmcp_session_bindings_evicted_total{bound=\"max_per_caller\"} ").Append(bindings?.EvictedForCaller ?? 0).Append('\n');
        sb.Append("fastmcp_session_bindings_evicted_total{bound=\"max_per_upstream\"} ").Append(bindings?.EvictedForUpstream ?? 0).Append('\n');
        // Federated paths hold their own sessions, bounded the same way (Federation/FederationSessions.cs).
        long held = 0, forCaller = 0, forPath = 0;
        IReadOnlyList<Federation.FederatedRoute> federated = runtime.Routes.Federated;
        for (int i = 0; i < federated.Count; i++)
        {
            Federation.FederationSessions sessions = federated[i].Sessions;
            held += sessions.Count;
            forCaller += sessions.EvictedForCaller;
            forPath += sessions.EvictedForPath;
        }
        Gauge(sb, "fastmcp_federation_sessions", "sessions the gateway holds on federated paths, all paths", held);
        Header(sb, "fastmcp_federation_sessions_evicted_total", "federated sessions forgotten past a bound: max_per_caller (the caller's own oldest), max_per_path (a heaviest holder's oldest)", "counter");
        sb.Append("fastmcp_federation_sessions_evicted_total{bound=\"max_per_caller\"} ").Append(forCaller).Append('\n');
        sb.Append("fastmcp_federation_sessions_evicted_total{bound=\"max_per_path\"} ").Append(forPath).Append('\n');
        // What became of the forgotten sessions at their upstreams (Sessions/SessionEnder.cs), plain and federated alike.
        Header(sb, "fastmcp_upstream_sessions_ended_total",
            "sessions forgotten past a bound and ended at their upstream with a DELETE: ended (2xx), not_found (404), failed (no answer or another status), dropped (queue full, never sent)", "counter");
        foreach (Upstream.UpstreamRoute upstream in runtime.Routes.Upstreams)
        {
            for (int result = 0; result < Sessions.SessionEndResults.Count; result++)
            {
                sb.Append("fastmcp_upstream_sessions_ended_total{upstream=\"").Append(upstream.Name).Append("\",result=\"")
                    .Append(Sessions.SessionEndResults.Label((Sessions.SessionEndResult)result)).Append("\"} ")
                    .Append(runtime.SessionEnds?.Count(upstream.Name, (Sessions.SessionEndResult)result) ?? 0).Append('\n');
            }
        }
    }

    private void RenderInto(StringBuilder sb)
    {
        GatewayCounters c = runtime.Counters;
        Counter(sb, "fastmcp_requests_total", "HTTP requests read from clients on the MCP listener", Volatile.Read(ref c.Requests));
        Counter(sb, "fastmcp_rejected_total", "requests answered by the gateway itself for malformed or refused HTTP", Volatile.Read(ref c.Rejected));
        Counter(sb, "fastmcp_connections_refused_total", "client connections refused because limits.maxConnections were open", Volatile.Read(ref c.ConnectionsRefused));
        Counter(sb, "fastmcp_proxy_protocol_refused_total", "connections closed for an absent or malformed PROXY protocol header", Volatile.Read(ref c.ProxyProtocolRefused));
        Counter(sb, "fastmcp_policy_denied_total", "calls denied by policy (or blocked for a card number or sensitive authentication data)", Volatile.Read(ref c.PolicyDenied));
        Counter(sb, "fastmcp_cancellations_ambiguous_total",
            "cancellations not forwarded because another caller has a request with the same id in flight at the same upstream without a session", Volatile.Read(ref c.CancellationsAmbiguous));
        Header(sb, "fastmcp_sensitive_data_masked_total",
            "sensitive authentication data masked whole (PCI DSS 3.3.1), per kind: track (track data after a card number), member (a masking.sensitiveMembers value)", "counter");
        sb.Append("fastmcp_sensitive_data_masked_total{kind=\"track\"} ").Append(Stages.SensitiveDataCounters.Tracks).Append('\n');
        sb.Append("fastmcp_sensitive_data_masked_total{kind=\"member\"} ").Append(Stages.SensitiveDataCounters.Members).Append('\n');
        Counter(sb, "fastmcp_approvals_requested_total", "calls a require_approval rule stopped", Volatile.Read(ref c.ApprovalsRequested));
        Header(sb, "fastmcp_approved_calls_unauthenticated_total",
            "approved held calls not forwarded because the caller's token was no longer admitted when they were approved (expired while held, or refused by the identity configuration in force), per reason", "counter");
        for (int reason = 1; reason <= Stages.HeldCallerCheck.Count; reason++)
        {
            sb.Append("fastmcp_approved_calls_unauthenticated_total{reason=\"").Append(Stages.HeldCallerCheck.Label((Stages.HeldCallerRefusal)reason)).Append("\"} ")
                .Append(Volatile.Read(ref c.ApprovedCallsUnauthenticated[reason - 1])).Append('\n');
        }
        Counter(sb, "fastmcp_approvals_revoked_total", "grants an approver took back before their window closed", runtime.Approvals?.Revoked ?? 0);
        Counter(sb, "fastmcp_approval_peer_failures_total", "approval peer requests that failed (unreachable, late, not signed with the peer key): the peer counted as holding nothing",
            runtime.Approvals?.Peers?.Failures ?? 0);
        if (runtime.Approvals?.Peers is { } peers)
        {
            Header(sb, "fastmcp_approval_peer_requests_refused_total", "requests to the peer endpoints refused (401): fields, clock, signature (not MACed under the peer key), replay", "counter");
            for (int reason = 0; reason < Approvals.PeerRequestRefusals.Reasons; reason++)
            {
                sb.Append("fastmcp_approval_peer_requests_refused_total{reason=\"").Append(Approvals.PeerRequestRefusals.Label((Approvals.PeerRequestRefusal)reason)).Append("\"} ")
                    .Append(peers.Refusals.Total((Approvals.PeerRequestRefusal)reason)).Append('\n');
            }
        }
        if (runtime.Approvals?.Webhook is { } webhook)
        {
            Counter(sb, "fastmcp_approval_webhook_failed_attempts_total", "approvals webhook deliveries that failed (no answer, or not 2xx); retried up to webhook.maxAttempts", webhook.FailedAttempts);
            Counter(sb, "fastmcp_approval_webhook_undelivered_total", "approval events the webhook was given up for after webhook.maxAttempts", webhook.Undelivered);
        }
        Counter(sb, "fastmcp_approval_state_refused_total", "approvals.stateFile found at start not verifying (changed, torn, another key): nothing restored from it",
            runtime.Approvals?.StateRefused ?? 0);
        Counter(sb, "fastmcp_approval_state_write_failures_total", "writes of approvals.stateFile that failed (a new grant-mode approval is then refused)",
            runtime.Approvals?.StateFile?.WriteFailures ?? 0);
        Counter(sb, "fastmcp_upstream_errors_total", "exchanges that failed with the upstream (502, 504)", Volatile.Read(ref c.UpstreamErrors));
        Counter(sb, "fastmcp_audit_unavailable_total", "requests refused because the audit log could not be written (503)", Volatile.Read(ref c.AuditUnavailable));
        Counter(sb, "fastmcp_client_write_timeouts_total", "exchanges closed because the client read nothing of its response within timeouts.clientWriteMs", Volatile.Read(ref c.ClientWriteTimeouts));
        Header(sb, "fastmcp_streams_ended_total", "event streams the gateway ended because their token stopped being valid (identity.streamsEndWithToken) or a policy reload revoked their caller, per reason", "counter");
        for (int reason = 1; reason <= Proxy.StreamEndReasons.Count; reason++)
        {
            sb.Append("fastmcp_streams_ended_total{reason=\"").Append(Proxy.StreamEndReasons.Label((Proxy.StreamEndReason)reason)).Append("\"} ")
                .Append(Volatile.Read(ref c.StreamsEnded[reason - 1])).Append('\n');
        }
        Gauge(sb, "fastmcp_buffered_response_bytes_peak", "most bytes held toward one client connection since start (limits.maxBufferedResponseBytes bounds it)", Volatile.Read(ref c.PeakBufferedResponseBytes));
        Header(sb, "fastmcp_rate_limited_total", "requests refused with 429 by a rate limit, per limit", "counter");
        for (int scope = 0; scope < runtime.RateLimits.Refused.Length; scope++)
        {
            sb.Append("fastmcp_rate_limited_total{scope=\"").Append(RateLimiting.RateLimits.Name((RateLimiting.RateLimitScope)scope)).Append("\"} ")
                .Append(Volatile.Read(ref runtime.RateLimits.Refused[scope])).Append('\n');
        }
        SessionMetrics(sb, runtime);
        Header(sb, "fastmcp_upstream_up", "1 while the upstream is up (a failed connect marks it down; a probe or a response marks it up)", "gauge");
        foreach (Upstream.UpstreamRoute route in runtime.Routes.Upstreams)
        {
            sb.Append("fastmcp_upstream_up{upstream=\"").Append(route.Name).Append("\"} ").Append(route.Health.IsUp ? 1 : 0).Append('\n');
        }
        Header(sb, "fastmcp_upstream_down_total", "times the upstream went from up to down (a failed connect); the log holds back changes past one per interval", "counter");
        foreach (Upstream.UpstreamRoute route in runtime.Routes.Upstreams)
        {
            sb.Append("fastmcp_upstream_down_total{upstream=\"").Append(route.Name).Append("\"} ").Append(route.Health.WentDown).Append('\n');
        }
        UpstreamCredentialMetrics(sb, runtime);
        TokenExchangeMetrics(sb, runtime);
        StdioMetrics(sb, runtime);
        TlsMetrics(sb, c);
        Gauge(sb, "fastmcp_connections_open", "client connections open", openConnections());
        Counter(sb, "fastmcp_admin_connections_refused_total", $"admin listener connections closed on accept because admin.maxConnections ({runtime.AdminLimits.MaxConnections}) were open",
            Volatile.Read(ref runtime.AdminLimits.ConnectionsRefused));
        Counter(sb, "fastmcp_admin_connections_timed_out_total", "admin listener connections closed because a request did not arrive, or its answer was not taken, in time",
            Volatile.Read(ref runtime.AdminLimits.TimedOut));
        runtime.AdminRefusals.Render(sb);
        runtime.AdminRequests.Render(sb);
        Gauge(sb, "fastmcp_approvals_pending", "approvals waiting for a decision", runtime.Approvals?.List(includeDecided: false).Count ?? 0);
        Gauge(sb, "fastmcp_audit_writable", "1 while the audit log accepts records", runtime.Audit is null ? 0 : runtime.Audit.IsWritable ? 1 : 0);
        AuditWriting(sb, runtime.Audit?.Log);
        FastMcp.Audit.Shipping.SegmentShipper? shipper = runtime.Audit?.Log.Shipper;
        if (shipper is not null)
        {
            Gauge(sb, "fastmcp_audit_shipping_backlog_segments", "sealed segments kept locally because they have not shipped yet", shipper.BacklogSegments);
            Gauge(sb, "fastmcp_audit_shipping_backlog_bytes", "bytes of those segments", shipper.BacklogBytes);
            Counter(sb, "fastmcp_audit_shipping_failed_passes_total", "shipping passes that left something unshipped (alert when it grows)", shipper.FailedPasses);
            Gauge(sb, "fastmcp_audit_shipping_last_success_timestamp_seconds", "unix time of the last pass that shipped everything (0: none yet)", shipper.LastSuccessUnixSeconds);
            Counter(sb, "fastmcp_audit_shipping_conflicts_total", "segments found in the store with other content (kept locally; needs a human)", shipper.ConflictCount);
            Gauge(sb, "fastmcp_audit_shipping_unverified_segments", "sealed segments that do not verify against their seal (tampering: not shipped, kept locally; alert when above 0)", shipper.UnverifiedSegments);
        }
        if (runtime.Audit?.Log.Exporter is { } exporter)
        {
            Counter(sb, "fastmcp_audit_export_records_total", "audit records the SIEM endpoint acknowledged (audit.export)", exporter.ExportedRecords);
            Counter(sb, "fastmcp_audit_export_failed_posts_total", "POSTs to the SIEM endpoint that failed (refused, non-2xx, timed out); retried with backoff", exporter.FailedPosts);
            Gauge(sb, "fastmcp_audit_export_lag_records", "durable records the SIEM endpoint has not acknowledged yet (alert when it keeps growing)", exporter.LagRecords);
            Gauge(sb, "fastmcp_audit_export_last_success_timestamp_seconds", "unix time of the last acknowledged POST (0: none since start)", exporter.LastSuccessUnixSeconds);
        }
        FastMcp.Audit.Anchoring.CheckpointPublisher? anchors = runtime.Audit?.Log.Anchors;
        Counter(sb, "fastmcp_audit_anchor_published_total", "checkpoints published outside the host (store, witness)", anchors?.Published ?? 0);
        Counter(sb, "fastmcp_audit_anchor_failures_total", "failed checkpoint publish attempts (retried with the newest; alert when it grows)", anchors?.Failures ?? 0);
        Counter(sb, "fastmcp_audit_anchor_conflicts_total", "published checkpoints found with another chain head at the same sequence (fork or rollback)", anchors?.Conflicts ?? 0);
        Counter(sb, "fastmcp_jwks_refresh_failures_total", "signing-key (JWKS) refreshes that failed (the keys held are kept; alert when it grows)",
            runtime.Authentication?.KeyRefreshFailures ?? 0);
        runtime.Metrics.Render(sb);
        runtime.Authorization?.ToolPins?.RenderMetrics(sb);
        Header(sb, "fastmcp_build_info", "the running build (value 1)", "gauge");
        sb.Append("fastmcp_build_info{version=\"").Append(BuildVersion).Append("\",runtime=\"").Append(RuntimeVersion).Append("\"} 1\n");
        Hosting.ReloadCounters.Render(sb);
        Hosting.AccessLog.Render(sb);
        Tracing.Tracer.Render(sb, runtime.Tracer);
        Counter(sb, "fastmcp_gc_allocated_bytes_total", "bytes allocated on the managed heap since start", GC.GetTotalAllocatedBytes(precise: false));
        for (int gen = 0; gen <= 2; gen++)
        {
            if (gen == 0) Header(sb, "fastmcp_gc_collections_total", "garbage collections per generation", "counter");
            sb.Append("fastmcp_gc_collections_total{generation=\"").Append(gen).Append("\"} ").Append(GC.CollectionCount(gen)).Append('\n');
        }
        using Process self = Process.GetCurrentProcess();
        Gauge(sb, "process_start_time_seconds", "unix time the process started", StartUnixSeconds);
        if (ProcessFiles.OpenDescriptors() is long open) Gauge(sb, "process_open_fds", "open file descriptors", open);
        if (ProcessFiles.MaxDescriptors() is long max) Gauge(sb, "process_max_fds", "the limit of open file descriptors", max);
        Gauge(sb, "process_resident_memory_bytes", "resident set size", self.WorkingSet64);
        Header(sb, "process_cpu_seconds_total", "user and system CPU time", "counter");
        sb.Append(CultureInfo.InvariantCulture, $"process_cpu_seconds_total {self.TotalProcessorTime.TotalSeconds:0.000}\n");
    }

    private static readonly string RuntimeVersion = Environment.Version.ToString();

    private static readonly long StartUnixSeconds = new DateTimeOffset(Process.GetCurrentProcess().StartTime.ToUniversalTime()).ToUnixTimeSeconds();

    // A label value: quotes and backslashes taken out rather than escaped.
    private static readonly string BuildVersion = (typeof(MetricsEndpoint).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false) is [System.Reflection.AssemblyInformationalVersionAttribute a, ..]
            ? a.InformationalVersion : "unknown").Replace("\\", "").Replace("\"", "");

    /// <summary>Group commit: records per fsync is records_synced_total / fsyncs_total; fsync latency is the writer's flush of a records frame.</summary>
    private static void AuditWriting(StringBuilder sb, FastMcp.Audit.AuditLog? log)
    {
        FastMcp.Audit.Recording.WriterStatistics? stats = log?.Statistics;
        Gauge(sb, "fastmcp_audit_queue_depth", "audit records appended and not yet written and flushed", log?.QueueDepth ?? 0);
        Gauge(sb, "fastmcp_audit_pending_bytes", "bytes of audit records answered and not yet durable (queued, or being written and flushed)", log?.PendingBytes ?? 0);
        Gauge(sb, "fastmcp_audit_pending_bytes_limit", "audit.batchedMaxPendingBytes, the bound on fastmcp_audit_pending_bytes in Batched durability (0: Strict, which needs none)", log?.PendingBytesLimit ?? 0);
        Counter(sb, "fastmcp_audit_pending_waits_total", "appends that found fastmcp_audit_pending_bytes at its bound and waited for the writer", log?.PendingWaits ?? 0);
        Counter(sb, "fastmcp_audit_pending_refused_total", "appends refused because fastmcp_audit_pending_bytes stayed at its bound (answered 503 as in an audit outage)", log?.PendingRefused ?? 0);
        Counter(sb, "fastmcp_audit_fsyncs_total", "record frames flushed to disk (group commits)", stats?.Fsyncs ?? 0);
        Counter(sb, "fastmcp_audit_records_synced_total", "audit records made durable by those flushes (records per fsync = this / fastmcp_audit_fsyncs_total)", stats?.RecordsSynced ?? 0);
        const string resumed = "fastmcp_audit_strict_resumes_total";
        Header(sb, resumed, "strict audit appends whose exchange went on once its record was durable, by the thread it went on on", "counter");
        sb.Append(resumed).Append("{on=\"loop\"} ").Append(stats?.ResumedOnLoops ?? 0).Append('\n');
        sb.Append(resumed).Append("{on=\"pool\"} ").Append(stats?.ResumedOnPool ?? 0).Append('\n');
        sb.Append(resumed).Append("{on=\"writer\"} ").Append(stats?.ResumedOnWriter ?? 0).Append('\n');
        const string name = "fastmcp_audit_fsync_seconds";
        Header(sb, name, "time the audit writer's flush (fdatasync) of a records frame took", "histogram");
        double[] bounds = FastMcp.Audit.Recording.WriterStatistics.BucketBounds;
        long cumulative = 0;
        for (int i = 0; i <= bounds.Length; i++)
        {
            cumulative += stats?.BucketCount(i) ?? 0;
            string le = i < bounds.Length ? bounds[i].ToString("0.####", CultureInfo.InvariantCulture) : "+Inf";
            sb.Append(name).Append("_bucket{le=\"").Append(le).Append("\"} ").Append(cumulative).Append('\n');
        }
        sb.Append(name).Append("_sum ").Append((stats?.FsyncSecondsSum ?? 0).ToString("0.######", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append(name).Append("_count ").Append(cumulative).Append('\n');
    }

    private static void Counter(StringBuilder sb, string name, string help, long value)
    {
        Header(sb, name, help, "counter");
        sb.Append(name).Append(' ').Append(value).Append('\n');
    }

    private static void Gauge(StringBuilder sb, string name, string help, long value)
    {
        Header(sb, name, help, "gauge");
        sb.Append(name).Append(' ').Append(value).Append('\n');
    }

    private static void Header(StringBuilder sb, string name, string help, string type) =>
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
}
