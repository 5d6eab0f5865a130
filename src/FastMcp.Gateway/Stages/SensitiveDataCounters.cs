using FastMcp.Pan;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// Sensitive authentication data the gateway masked whole since the process started (PCI DSS 3.3.1), per kind, in
/// what clients, upstreams and the audit log get: fastmcp_sensitive_data_masked_total. Counted where the exchange's
/// findings are (<see cref="CardFindings"/>), so a value is counted once per message it was masked in.
/// </summary>
internal static class SensitiveDataCounters
{
    private static long s_tracks;
    private static long s_members;

    public static long Tracks => Volatile.Read(ref s_tracks);
    public static long Members => Volatile.Read(ref s_members);

    public static void Add(SensitiveDataKind kind)
    {
        if (kind == SensitiveDataKind.Track) Interlocked.Increment(ref s_tracks);
        else Interlocked.Increment(ref s_members);
    }
}
