namespace FastMcp.Testing;

/// <summary>
/// Measures the bytes the current thread allocates in a synchronous body, in a way a garbage collection
/// started by another thread cannot fail.
/// </summary>
/// <remarks>
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> counts the thread's allocation context as used up to its
/// allocation pointer. A collection started by any thread (a parallel test class, a background collection) can
/// retire that context, and the unused rest of it is then charged to this thread in one lump, up to an
/// allocation quantum (~8 KiB), although the body allocated nothing. So the body runs in up to <c>windows</c>
/// windows:
/// <list type="bullet">
/// <item>a window during which the runtime did not pause for a collection is exact, and its value is returned at
/// once. The pause total is the signal: a background collection retires contexts in its first pause but counts
/// itself (<see cref="GC.CollectionCount"/>) only when it ends, possibly windows later; the gen 0 count is
/// checked as well (a gen 1 or 2 collection raises it too);</item>
/// <item>if every window saw a collection, the least of them is returned: a real per-call allocation is charged
/// in every window, so it still shows, and a real allocation big enough to trigger the collections itself is
/// charged in each window too, so it shows in the least as well.</item>
/// </list>
/// The body may run more than once: a test whose later assertions depend on how often it ran counts the runs.
/// Create the delegate (and any closure it captures) before calling: that allocation is outside the measurement.
/// </remarks>
internal static class ThreadAllocations
{
    public const int DefaultWindows = 5;

    /// <summary>The bytes this thread allocated running <paramref name="body"/> (see the type's remarks).</summary>
    public static long Measure(Action body, int windows = DefaultWindows)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfLessThan(windows, 1);
        long least = long.MaxValue;
        for (int window = 0; window < windows; window++)
        {
            // Read outside the allocation readings: a collection between them only makes a window inexact.
            CollectorMark mark = Mark();
            long before = GC.GetAllocatedBytesForCurrentThread();
            body();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (QuietSince(mark)) return allocated;
            least = Math.Min(least, allocated);
        }
        return least;
    }

    /// <summary>
    /// As <see cref="Measure(Action, int)"/>, and hands back what the body returned in the window whose
    /// measurement is reported, for assertions on the result.
    /// </summary>
    public static long Measure<T>(Func<T> body, out T result, int windows = DefaultWindows)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfLessThan(windows, 1);
        long least = long.MaxValue;
        result = default!;
        for (int window = 0; window < windows; window++)
        {
            CollectorMark mark = Mark();
            long before = GC.GetAllocatedBytesForCurrentThread();
            T value = body();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (QuietSince(mark))
            {
                result = value;
                return allocated;
            }
            if (allocated < least)
            {
                least = allocated;
                result = value;
            }
        }
        return least;
    }

    /// <summary>
    /// The least the body allocated over up to <paramref name="windows"/> windows, ending at the first that allocated
    /// nothing. For a body with a rare path of its own that may allocate although the claim is about its usual path
    /// (a socket send that cannot complete at once goes on in the background): a per-call allocation still shows in
    /// every window. A window a collection disturbed is one more window that did not reach zero.
    /// </summary>
    public static long LeastOf(Action body, int windows = DefaultWindows)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfLessThan(windows, 1);
        long least = long.MaxValue;
        for (int window = 0; window < windows && least > 0; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            body();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }

    /// <summary>Where the collector stood (collections, total pause time) at <see cref="Mark"/>.</summary>
    public readonly record struct CollectorMark(int Collections, TimeSpan Paused);

    /// <summary>
    /// For a test that measures around an await itself: take a mark before reading the counter, and drop the step if
    /// a collection happened since (<see cref="QuietSince"/> false), as <see cref="Measure(Action, int)"/> does.
    /// </summary>
    public static CollectorMark Mark() => new(GC.CollectionCount(0), GC.GetTotalPauseDuration());

    /// <summary>No collection and no collector pause since <paramref name="mark"/>: a reading taken after it is exact.</summary>
    public static bool QuietSince(CollectorMark mark) =>
        GC.CollectionCount(0) == mark.Collections && GC.GetTotalPauseDuration() == mark.Paused;
}
