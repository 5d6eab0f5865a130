namespace FastMcp.Gateway.Admin;

/// <summary>
/// Counters the data path bumps (one interlocked add each, no allocation) and /metrics reports.
/// </summary>
internal sealed class GatewayCounters
{
    public long Requests;
    public long PolicyDenied;
    /// <summary>Cancellations not forwarded because another caller has a call under the same id at the same sessionless upstream.</summary>
    public long CancellationsAmbiguous;
    public long ApprovalsRequested;
    /// <summary>Approved held calls not forwarded because their caller's token was no longer admitted, per <see cref="Stages.HeldCallerRefusal"/> (index = reason - 1).</summary>
    public readonly long[] ApprovedCallsUnauthenticated = new long[Stages.HeldCallerCheck.Count];
    public long UpstreamErrors;
    public long AuditUnavailable;
    public long Rejected;
    /// <summary>Connections answered 503 and closed because limits.maxConnections were open.</summary>
    public long ConnectionsRefused;
    /// <summary>Connections closed because the PROXY protocol header they had to start with was absent or malformed.</summary>
    public long ProxyProtocolRefused;

    /// <summary>Exchanges closed because the client took nothing of its response within timeouts.clientWriteMs.</summary>
    public long ClientWriteTimeouts;
    /// <summary>The most bytes held toward one client connection in any relay since start (bounded by limits.maxBufferedResponseBytes).</summary>
    public long PeakBufferedResponseBytes;

    /// <summary>Event streams the gateway ended because of their token, per <see cref="Proxy.StreamEndReason"/> (index = reason - 1).</summary>
    public readonly long[] StreamsEnded = new long[Proxy.StreamEndReasons.Count];

    /// <summary>Failed TLS handshakes on the MCP listener, per <see cref="Transport.TlsHandshakeFailure"/> (index = reason).</summary>
    public readonly long[] TlsHandshakeFailures = new long[Transport.TlsHandshakeFailures.Count];
    /// <summary>Times the listener certificate was taken again from changed files, and times changed files did not load.</summary>
    public long TlsCertificateReloads;
    public long TlsCertificateReloadFailures;
    /// <summary>Expiry of the listener certificate in service (Unix seconds); 0 without TLS.</summary>
    public long TlsCertificateNotAfter;

    public static void Add(ref long counter) => Interlocked.Increment(ref counter);

    /// <summary>Raises a high-water mark to <paramref name="value"/> when it is higher.</summary>
    public static void Max(ref long mark, long value)
    {
        long seen = Volatile.Read(ref mark);
        while (value > seen)
        {
            long was = Interlocked.CompareExchange(ref mark, value, seen);
            if (was == seen) return;
            seen = was;
        }
    }
}
