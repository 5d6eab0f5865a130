namespace FastMcp.Gateway.Admin;

/// <summary>
/// Counters the data path bumps (one interlocked add each, no allocation) and /metrics reports.
/// </summary>
internal sealed class GatewayCounters
{
    public long Requests;
    public long PolicyDenied;
    public long ApprovalsRequested;
    public long UpstreamErrors;
    public long AuditUnavailable;
    public long Rejected;
    /// <summary>Connections answered 503 and closed because limits.maxConnections were open.</summary>
    public long ConnectionsRefused;
    /// <summary>Connections closed because the PROXY protocol header they had to start with was absent or malformed.</summary>
    public long ProxyProtocolRefused;

    public static void Add(ref long counter) => Interlocked.Increment(ref counter);
}
