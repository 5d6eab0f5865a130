namespace FastMcp.Gateway.Hosting;

/// <summary>
/// A warning that something outside the gateway keeps repeating (an upstream's failed TLS, its stray bytes) logs at
/// most once per interval; the occurrences in between are counted and named on the next line, so a storm costs no
/// log volume and hides nothing. Thread-safe, no allocation when a line is skipped.
/// </summary>
internal sealed class ThrottledWarning(int intervalMs = 5_000)
{
    private long _next;
    private int _skipped;

    /// <summary>
    /// True when a line may be written now; <paramref name="skipped"/> is how many were held back since the last one.
    /// False (and counted) otherwise.
    /// </summary>
    public bool TryTake(out int skipped)
    {
        long now = Environment.TickCount64;
        long next = Volatile.Read(ref _next);
        if (now < next || Interlocked.CompareExchange(ref _next, now + intervalMs, next) != next)
        {
            Interlocked.Increment(ref _skipped);
            skipped = 0;
            return false;
        }
        skipped = Interlocked.Exchange(ref _skipped, 0);
        return true;
    }
}
