namespace FastMcp.Gateway.Hosting;

/// <summary>
/// A warning that something outside the gateway keeps repeating (an upstream's failed TLS, its stray bytes) logs at
/// most <c>burst</c> lines per interval (one unless told); the occurrences in between are counted and named on the next
/// line, so a storm costs no log volume and hides nothing. Thread-safe, no allocation when a line is skipped.
/// </summary>
internal sealed class ThrottledWarning(int intervalMs = 5_000, int burst = 1)
{
    private long _windowEnd;
    private int _taken;
    private int _skipped;

    /// <summary>
    /// True when a line may be written now; <paramref name="skipped"/> is how many were held back since the last one.
    /// False (and counted) otherwise.
    /// </summary>
    public bool TryTake(out int skipped)
    {
        long now = Environment.TickCount64;
        long end = Volatile.Read(ref _windowEnd);
        bool taken;
        if (now >= end)
        {
            // A new window: whoever moves its end takes its first line. A caller that lost that race takes one of the
            // rest of the budget (one line alone has none), at worst one over it while the winner resets the count.
            taken = Interlocked.CompareExchange(ref _windowEnd, now + intervalMs, end) == end;
            if (taken) Volatile.Write(ref _taken, 1);
            else taken = burst > 1 && Interlocked.Increment(ref _taken) <= burst;
        }
        else
        {
            // Read before adding, so that a window long filled does not carry its count toward an overflow.
            taken = Volatile.Read(ref _taken) < burst && Interlocked.Increment(ref _taken) <= burst;
        }
        if (!taken)
        {
            Interlocked.Increment(ref _skipped);
            skipped = 0;
            return false;
        }
        skipped = Interlocked.Exchange(ref _skipped, 0);
        return true;
    }
}
