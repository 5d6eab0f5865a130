using System.Diagnostics;

namespace FastMcp.Load;

/// <summary>The run's timeline in Stopwatch ticks: warm-up start, measured window start and end.</summary>
internal sealed class RunClock(double warmupSeconds, double durationSeconds)
{
    public long WarmupStart { get; } = Stopwatch.GetTimestamp();
    public long MeasureStart => WarmupStart + (long)(warmupSeconds * Stopwatch.Frequency);
    public long MeasureEnd => MeasureStart + (long)(durationSeconds * Stopwatch.Frequency);

    public bool InWindow(long timestamp) => timestamp >= MeasureStart && timestamp < MeasureEnd;

    public TimeSpan Until(long timestamp) =>
        TimeSpan.FromSeconds(Math.Max(0, timestamp - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);
}
