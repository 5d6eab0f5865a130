using System.Diagnostics;

namespace FastMcp.Audit.Recording;

/// <summary>
/// What group commit is doing, for /metrics: how many record frames were flushed (fsyncs), how many
/// records they carried (records per fsync = the ratio), how long each flush took (a histogram) and where the
/// strict waiters of those flushes resumed. Written by the writer thread only; read racily by the metrics page.
/// </summary>
public sealed class WriterStatistics
{
    /// <summary>Upper bounds of the fsync latency buckets, in seconds (Prometheus "le"; +Inf is implied).</summary>
    public static readonly double[] BucketBounds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

    private readonly long[] _buckets = new long[BucketBounds.Length + 1];
    private long _fsyncs;
    private long _records;
    private long _ticks;
    private long _inFlight;
    private long _resumedOnLoops;
    private long _resumedOnPool;
    private long _resumedOnWriter;

    /// <summary>Durable strict appends whose caller resumed on the thread it named (a socket loop).</summary>
    public long ResumedOnLoops => Volatile.Read(ref _resumedOnLoops);

    /// <summary>Durable strict appends whose caller resumed on a thread-pool worker (it named no thread, or that thread had ended).</summary>
    public long ResumedOnPool => Volatile.Read(ref _resumedOnPool);

    /// <summary>Durable strict appends whose caller resumed on the writer thread (FASTMCP_AUDIT_RESUME=writer).</summary>
    public long ResumedOnWriter => Volatile.Read(ref _resumedOnWriter);

    /// <summary>Record frames flushed.</summary>
    public long Fsyncs => Volatile.Read(ref _fsyncs);

    /// <summary>Records made durable by those flushes.</summary>
    public long RecordsSynced => Volatile.Read(ref _records);

    /// <summary>Total time spent in those flushes, in seconds.</summary>
    public double FsyncSecondsSum => Volatile.Read(ref _ticks) / (double)Stopwatch.Frequency;

    /// <summary>Flushes that took at most <see cref="BucketBounds"/>[i] (not cumulative; the last is above every bound).</summary>
    public long BucketCount(int i) => Volatile.Read(ref _buckets[i]);

    /// <summary>Records of the batch being written and flushed right now.</summary>
    public long InFlight
    {
        get => Volatile.Read(ref _inFlight);
        internal set => Volatile.Write(ref _inFlight, value);
    }

    internal void Resumed(int onLoops, int onPool, int onWriter)
    {
        if (onLoops != 0) Volatile.Write(ref _resumedOnLoops, _resumedOnLoops + onLoops);
        if (onPool != 0) Volatile.Write(ref _resumedOnPool, _resumedOnPool + onPool);
        if (onWriter != 0) Volatile.Write(ref _resumedOnWriter, _resumedOnWriter + onWriter);
    }

    internal void Synced(int records, long flushTicks)
    {
        double seconds = flushTicks / (double)Stopwatch.Frequency;
        int bucket = 0;
        while (bucket < BucketBounds.Length && seconds > BucketBounds[bucket]) bucket++;
        Volatile.Write(ref _buckets[bucket], _buckets[bucket] + 1);
        Volatile.Write(ref _records, _records + records);
        Volatile.Write(ref _ticks, _ticks + flushTicks);
        Volatile.Write(ref _fsyncs, _fsyncs + 1);
    }
}
