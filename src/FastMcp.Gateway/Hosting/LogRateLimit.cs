using System.Collections.Concurrent;

namespace FastMcp.Gateway.Hosting;

/// <summary>
/// Keeps a line that any client can cause once per request or event (an upstream failure, a withheld event, a client
/// that reads nothing) from flooding the log: per kind of line and key (an upstream, an error kind) the first is written
/// at once, then at most one per interval (<see cref="IntervalMs"/> in the gateway), carrying how many were held back. The metrics count every one.
/// Callers ask before building the message, so a held-back line costs a lookup and a counter, no allocation.
/// </summary>
internal sealed class LogRateLimit(int intervalMs = LogRateLimit.IntervalMs)
{
    public const int IntervalMs = 10_000;

    // Keys come from configuration (upstream names) and fixed enums, so they are few; the bound only guards a mistake,
    // and everything past it shares one gate rather than growing the table or writing unthrottled.
    private const int MaxKeys = 1024;

    private readonly ConcurrentDictionary<(string Kind, string Key, int Detail), ThrottledWarning> _gates = new();
    private readonly ThrottledWarning _overflow = new(intervalMs);

    /// <summary>True when the line may be written now; <paramref name="held"/> is how many like it were held back since the last one.</summary>
    public bool TryTake(string kind, string key, int detail, out int held)
    {
        if (!_gates.TryGetValue((kind, key, detail), out ThrottledWarning? gate))
        {
            gate = _gates.Count < MaxKeys ? _gates.GetOrAdd((kind, key, detail), static (_, ms) => new ThrottledWarning(ms), intervalMs) : _overflow;
        }
        return gate.TryTake(out held);
    }

    /// <summary>The tail a written line carries when others like it were held back (empty when none were); every throttled line uses it.</summary>
    public static string Held(int held) => Held(held, "like it");

    /// <summary>The same tail naming what was held back ("changes of state") where "like it" would not be true.</summary>
    public static string Held(int held, string what) =>
        held > 0 ? $" ({held.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} more {what} since the last such line)" : "";
}
