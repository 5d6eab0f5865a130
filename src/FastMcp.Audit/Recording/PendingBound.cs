namespace FastMcp.Audit.Recording;

/// <summary>
/// Batched durability's bound on records answered and not yet durable (audit.batchedMaxPendingBytes): the appends
/// waiting for room, oldest first, the counters /metrics shows and the current episode (from the first append that
/// found the queue at its bound until the queue is below half of it again with nobody waiting). Guarded by the log's
/// lock, except the counters, which the metrics page reads without it.
/// </summary>
internal sealed class PendingBound(long limit, TimeSpan wait)
{
    private readonly Queue<WaitingAppend> _waiting = new();
    private long _waits;
    private long _refused;
    private long _episodeStartMicros;
    private long _episodeWaits;
    private long _episodeRefused;

    /// <summary>The most bytes answered and not yet durable before an append waits: one record more may pass it.</summary>
    public long Limit { get; } = limit;

    /// <summary>The longest an append waits for room, in milliseconds; 0: refused at once.</summary>
    public long WaitMs { get; } = (long)wait.TotalMilliseconds;

    /// <summary>Bytes of the records waiting (their serialized fields): at most <see cref="Limit"/> plus one record.</summary>
    public long WaitingBytes { get; private set; }

    public int WaitingCount => _waiting.Count;

    /// <summary>Appends that waited for room (counted when they start waiting).</summary>
    public long Waits => Volatile.Read(ref _waits);

    /// <summary>Appends refused because the queue stayed at its bound (waited in vain, or could not wait).</summary>
    public long Refused => Volatile.Read(ref _refused);

    public bool InEpisode { get; private set; }

    /// <summary>Starts an episode if none is open; true when it did (the caller logs it once).</summary>
    public bool Begin(long nowMicros)
    {
        if (InEpisode) return false;
        InEpisode = true;
        _episodeStartMicros = nowMicros;
        _episodeWaits = 0;
        _episodeRefused = 0;
        return true;
    }

    /// <summary>Closes the episode: when it began, how many appends waited and how many were refused during it.</summary>
    public (long StartMicros, long Waits, long Refused) End()
    {
        InEpisode = false;
        return (_episodeStartMicros, _episodeWaits, _episodeRefused);
    }

    public void Add(in WaitingAppend append)
    {
        _waiting.Enqueue(append);
        WaitingBytes += append.Bytes;
        _episodeWaits++;
        Volatile.Write(ref _waits, _waits + 1);
    }

    public bool TryPeek(out WaitingAppend append) => _waiting.TryPeek(out append);

    public WaitingAppend Take()
    {
        WaitingAppend append = _waiting.Dequeue();
        WaitingBytes -= append.Bytes;
        return append;
    }

    public void CountRefused()
    {
        _episodeRefused++;
        Volatile.Write(ref _refused, _refused + 1);
    }
}

/// <summary>
/// An append waiting for room under the bound: its record's fields, serialized already (the caller's event may be
/// reused), the sequence-free parts that complete it, and who waits for it: <see cref="Done"/> (resumed like a strict
/// group's waiter, on its connection's loop) or, for a checkpointed append, <see cref="Covered"/>.
/// </summary>
internal readonly record struct WaitingAppend(
    RecordScratch Scratch, AuditEventType Type, long TimeMicros, int Bytes, long DeadlineTicks, AppendWaiter? Done, TaskCompletionSource<long>? Covered);
