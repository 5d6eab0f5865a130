using System.Runtime.InteropServices;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// The Linux scheduling policy of the gateway's threads, from <c>threads.scheduling</c> in the configuration or
/// <c>FASTMCP_THREAD_SCHEDULING</c>, which overrides it (issue #14).
/// "batch" (SCHED_BATCH) tells the kernel these threads are throughput work: a woken socket loop does not
/// preempt the task running on its core, it runs when that task sleeps or at the next tick. On a machine
/// where the gateway's loops, its upstream and its clients wake one another for every exchange, that removes
/// a context switch from most of them (bench/RESULTS.md: 6-18 % less CPU per request in pass-through). The
/// price is latency behind lower-priority CPU work: a woken loop waits up to a scheduler tick for it (4 ms at
/// HZ=250), so "normal" stays the default. Applied at start, once the configuration is read and before the gateway
/// starts a thread of its own, to the main thread, which every thread started afterwards inherits it from, and
/// again by each socket loop. No privilege is needed.
/// </summary>
internal static partial class ThreadScheduling
{
    public const string Variable = "FASTMCP_THREAD_SCHEDULING";

    /// <summary>The configuration field the variable overrides.</summary>
    public const string Field = "threads.scheduling";

    private const int SchedOther = 0;
    private const int SchedBatch = 3;

    private static int s_policy = SchedOther;

    /// <summary>True when the configured policy is SCHED_BATCH.</summary>
    public static bool Batch => s_policy == SchedBatch;

    /// <summary>Where the policy in force came from: the variable or the configuration field.</summary>
    public static string Source { get; private set; } = Field;

    /// <summary>
    /// Takes the policy from the variable when it is set (not empty), else from <paramref name="configured"/>
    /// (<c>threads.scheduling</c>), and applies it to the calling thread; an unknown value is a configuration
    /// error naming where it came from.
    /// </summary>
    public static void ApplyAtStart(string? configured)
    {
        string? variable = Environment.GetEnvironmentVariable(Variable);
        (string? value, Source) = string.IsNullOrEmpty(variable) ? (configured, Field) : (variable, Variable);
        s_policy = Parse(value, Source);
        if (s_policy != SchedOther) ApplyToCurrentThread();
    }

    /// <summary>The policy a value names: "normal" (or unset) and "batch", case-insensitive.</summary>
    public static int Parse(string? value, string source = Variable)
    {
        if (string.IsNullOrEmpty(value) || string.Equals(value, "normal", StringComparison.OrdinalIgnoreCase)) return SchedOther;
        if (string.Equals(value, "batch", StringComparison.OrdinalIgnoreCase)) return SchedBatch;
        throw new ConfigurationException(source, $"'{value}' is not a scheduling policy: use \"normal\" or \"batch\"");
    }

    /// <summary>Gives the calling thread the configured policy (best effort: a refusal is logged, not fatal).</summary>
    public static void ApplyToCurrentThread()
    {
        if (s_policy == SchedOther) return;
        if (!OperatingSystem.IsLinux())
        {
            Hosting.Log.Warn($"{Source} batch applies on Linux only; threads keep their policy");
            return;
        }
        if (!TrySet(s_policy)) Hosting.Log.Warn($"{Source}: sched_setscheduler refused (errno {Marshal.GetLastPInvokeError()}); the thread keeps its policy");
    }

    private static unsafe bool TrySet(int policy)
    {
        int priority = 0; // struct sched_param { int sched_priority; }: 0 for SCHED_OTHER and SCHED_BATCH
        try
        {
            // pid 0 is the calling thread: Linux schedules threads one by one.
            return SetScheduler(0, policy, &priority) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "sched_setscheduler", SetLastError = true)]
    private static unsafe partial int SetScheduler(int pid, int policy, int* param);
}
