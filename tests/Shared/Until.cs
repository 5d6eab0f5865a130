using System.Diagnostics;

namespace FastMcp.Testing;

/// <summary>
/// Waits, bounded in time, for a condition a test cannot be told about (a background writer drained, a connection
/// closed): polled every 10 ms, a TimeoutException naming what never happened once the limit passed.
/// </summary>
public static class Until
{
    public static async Task HoldsAsync(Func<bool> done, string what, int seconds = 20)
    {
        long started = Stopwatch.GetTimestamp();
        while (!done())
        {
            if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(seconds)) throw new TimeoutException($"not within {seconds} s: {what}");
            await Task.Delay(10);
        }
    }

    public static async Task HoldsAsync(Func<Task<bool>> done, string what, int seconds = 20)
    {
        long started = Stopwatch.GetTimestamp();
        while (!await done())
        {
            if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromSeconds(seconds)) throw new TimeoutException($"not within {seconds} s: {what}");
            await Task.Delay(10);
        }
    }
}
