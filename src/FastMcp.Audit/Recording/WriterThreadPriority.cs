using System.Runtime.InteropServices;

namespace FastMcp.Audit.Recording;

/// <summary>
/// Lowers the calling thread's scheduling weight (its nice value) on Linux. In Batched durability nobody waits
/// for the writer, yet its flush is a burst of hashing, compression and writing; at normal weight that burst
/// takes a core from the socket loops for its whole length on a small machine, and the requests in flight
/// there wait it out (issue #14, the Batched p99). A higher nice value lets the loops preempt it. Best effort:
/// raising one's own nice value needs no privilege; anything else leaves the thread as it was.
/// </summary>
internal static partial class WriterThreadPriority
{
    /// <summary>The nice value for the Batched writer: scheduled at about a tenth of a normal thread's weight under contention.</summary>
    public const int BatchedNice = 10;

    /// <summary>Sets the current thread's nice value; returns false where that is not possible (not Linux, or refused).</summary>
    public static bool TryLower(int nice)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            // PRIO_PROCESS with a thread id applies to that thread only (Linux threads are scheduled one by one).
            return SetPriority(PrioProcess, GetThreadId(), nice) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    private const int PrioProcess = 0;

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int prio);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();
}
