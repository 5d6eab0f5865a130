using System.Text;

namespace FastMcp.Gateway.Hosting;

/// <summary>Configuration reloads by result, for /metrics (fastmcp_config_reloads_total{result=...}).</summary>
internal static class ReloadCounters
{
    private static long s_applied, s_partial, s_rejected;

    public static long Applied => Volatile.Read(ref s_applied);
    public static long Partial => Volatile.Read(ref s_partial);
    public static long Rejected => Volatile.Read(ref s_rejected);

    public static void CountApplied() => Interlocked.Increment(ref s_applied);
    public static void CountPartial() => Interlocked.Increment(ref s_partial);
    public static void CountRejected() => Interlocked.Increment(ref s_rejected);

    public static void Render(StringBuilder sb)
    {
        sb.Append("# HELP fastmcp_config_reloads_total configuration reloads: applied, partially_applied (a changed field needs a restart), rejected (invalid; nothing changed)\n")
          .Append("# TYPE fastmcp_config_reloads_total counter\n")
          .Append("fastmcp_config_reloads_total{result=\"applied\"} ").Append(Applied).Append('\n')
          .Append("fastmcp_config_reloads_total{result=\"partially_applied\"} ").Append(Partial).Append('\n')
          .Append("fastmcp_config_reloads_total{result=\"rejected\"} ").Append(Rejected).Append('\n');
    }
}
