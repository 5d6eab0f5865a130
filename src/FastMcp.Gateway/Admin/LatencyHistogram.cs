using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace FastMcp.Gateway.Admin;

/// <summary>
/// A Prometheus histogram of durations with fixed buckets: an observation is two interlocked adds (its bucket and
/// the sum), no lock and no allocation; buckets are made cumulative when rendered.
/// </summary>
internal sealed class LatencyHistogram(string name, string help)
{
    /// <summary>Upper bounds in seconds: sub-millisecond gateway answers up to minute-long event streams.</summary>
    private static readonly double[] Bounds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    private static readonly string[] BoundLabels = [.. Array.ConvertAll(Bounds, b => b.ToString(CultureInfo.InvariantCulture)), "+Inf"];
    private static readonly long[] BoundTicks = Array.ConvertAll(Bounds, b => (long)(b * Stopwatch.Frequency));

    private readonly long[] _counts = new long[Bounds.Length + 1];
    private long _sumTicks;

    /// <summary>Records the time since <paramref name="startTimestamp"/> (a Stopwatch timestamp).</summary>
    public void ObserveSince(long startTimestamp) => Observe(Stopwatch.GetTimestamp() - startTimestamp);

    public void Observe(long ticks)
    {
        if (ticks < 0) ticks = 0;
        int i = 0;
        while (i < BoundTicks.Length && ticks > BoundTicks[i]) i++;
        Interlocked.Increment(ref _counts[i]);
        Interlocked.Add(ref _sumTicks, ticks);
    }

    public void Render(StringBuilder sb)
    {
        sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(" histogram\n");
        long cumulative = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            cumulative += Volatile.Read(ref _counts[i]);
            sb.Append(name).Append("_bucket{le=\"")
                .Append(BoundLabels[i]).Append("\"} ").Append(cumulative).Append('\n');
        }
        double sum = (double)Volatile.Read(ref _sumTicks) / Stopwatch.Frequency;
        sb.Append(name).Append("_sum ").Append(CultureInfo.InvariantCulture, $"{sum:0.######}").Append('\n');
        sb.Append(name).Append("_count ").Append(cumulative).Append('\n');
    }
}
