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
    public byte[] Render()
    {
        var sb = new StringBuilder(2048);
        GatewayCounters c = runtime.Counters;
        Counter(sb, "fastmcp_requests_total", "HTTP requests read from clients on the MCP listener", Volatile.Read(ref c.Requests));
        Counter(sb, "fastmcp_rejected_total", "requests answered by the gateway itself for malformed or refused HTTP", Volatile.Read(ref c.Rejected));
        Counter(sb, "fastmcp_connections_refused_total", "client connections refused because limits.maxConnections were open", Volatile.Read(ref c.ConnectionsRefused));
        Counter(sb, "fastmcp_policy_denied_total", "calls denied by policy (or blocked for a card number)", Volatile.Read(ref c.PolicyDenied));
        Counter(sb, "fastmcp_approvals_requested_total", "calls a require_approval rule stopped", Volatile.Read(ref c.ApprovalsRequested));
        Counter(sb, "fastmcp_upstream_errors_total", "exchanges that failed with the upstream (502, 504)", Volatile.Read(ref c.UpstreamErrors));
        Counter(sb, "fastmcp_audit_unavailable_total", "requests refused because the audit log could not be written (503)", Volatile.Read(ref c.AuditUnavailable));
        Gauge(sb, "fastmcp_connections_open", "client connections open", openConnections());
        Gauge(sb, "fastmcp_approvals_pending", "approvals waiting for a decision", runtime.Approvals?.List(includeDecided: false).Count ?? 0);
        Gauge(sb, "fastmcp_audit_writable", "1 while the audit log accepts records", runtime.Audit is null ? 0 : runtime.Audit.IsWritable ? 1 : 0);
        FastMcp.Audit.Shipping.SegmentShipper? shipper = runtime.Audit?.Log.Shipper;
        if (shipper is not null)
        {
            Gauge(sb, "fastmcp_audit_shipping_backlog_segments", "sealed segments kept locally because they have not shipped yet", shipper.BacklogSegments);
            Gauge(sb, "fastmcp_audit_shipping_backlog_bytes", "bytes of those segments", shipper.BacklogBytes);
            Counter(sb, "fastmcp_audit_shipping_failed_passes_total", "shipping passes that left something unshipped (alert when it grows)", shipper.FailedPasses);
            Gauge(sb, "fastmcp_audit_shipping_last_success_timestamp_seconds", "unix time of the last pass that shipped everything (0: none yet)", shipper.LastSuccessUnixSeconds);
            Counter(sb, "fastmcp_audit_shipping_conflicts_total", "segments found in the store with other content (kept locally; needs a human)", shipper.ConflictCount);
        }
        FastMcp.Audit.Anchoring.CheckpointPublisher? anchors = runtime.Audit?.Log.Anchors;
        Counter(sb, "fastmcp_audit_anchor_published_total", "checkpoints published outside the host (store, witness)", anchors?.Published ?? 0);
        Counter(sb, "fastmcp_audit_anchor_failures_total", "failed checkpoint publish attempts (retried with the newest; alert when it grows)", anchors?.Failures ?? 0);
        Counter(sb, "fastmcp_audit_anchor_conflicts_total", "published checkpoints found with another chain head at the same sequence (fork or rollback)", anchors?.Conflicts ?? 0);
        Hosting.ReloadCounters.Render(sb);
        Hosting.AccessLog.Render(sb);
        Counter(sb, "fastmcp_gc_allocated_bytes_total", "bytes allocated on the managed heap since start", GC.GetTotalAllocatedBytes(precise: false));
        for (int gen = 0; gen <= 2; gen++)
        {
            if (gen == 0) Header(sb, "fastmcp_gc_collections_total", "garbage collections per generation", "counter");
            sb.Append("fastmcp_gc_collections_total{generation=\"").Append(gen).Append("\"} ").Append(GC.CollectionCount(gen)).Append('\n');
        }
        using Process self = Process.GetCurrentProcess();
        Gauge(sb, "process_resident_memory_bytes", "resident set size", self.WorkingSet64);
        Header(sb, "process_cpu_seconds_total", "user and system CPU time", "counter");
        sb.Append("process_cpu_seconds_total ").Append(self.TotalProcessorTime.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture)).Append('\n');
        return Encoding.UTF8.GetBytes(sb.ToString());
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
