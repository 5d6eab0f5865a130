using System.Runtime.InteropServices;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// Applies <see cref="StdioLimitsOptions"/> to a started server process with prlimit(2). .NET runs no code between
/// fork and exec, so the limits land just after the server started and before the gateway writes it anything; what
/// the server starts afterwards inherits them. A process that cannot be limited is not used (fail closed).
/// </summary>
internal static partial class ProcessLimits
{
    private const int RlimitCpu = 0, RlimitNofile = 7, RlimitAs = 9;

    [StructLayout(LayoutKind.Sequential)]
    private struct Rlimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    /// <summary>Null when every configured limit is in place; else what failed (the caller stops the process).</summary>
    public static string? TryApply(int pid, StdioLimitsOptions limits)
    {
        if (!OperatingSystem.IsLinux()) return "resource limits are applied on Linux only";
        if (limits.MemoryMb > 0 && Set(pid, RlimitAs, (ulong)limits.MemoryMb * 1024 * 1024, (ulong)limits.MemoryMb * 1024 * 1024) is { } memory) return $"memoryMb: {memory}";
        // The soft limit sends SIGXCPU; the hard one, a second later, SIGKILL (for a server that ignores SIGXCPU).
        if (limits.CpuSeconds > 0 && Set(pid, RlimitCpu, (ulong)limits.CpuSeconds, (ulong)limits.CpuSeconds + 1) is { } cpu) return $"cpuSeconds: {cpu}";
        if (limits.OpenFiles > 0 && Set(pid, RlimitNofile, (ulong)limits.OpenFiles, (ulong)limits.OpenFiles) is { } files) return $"openFiles: {files}";
        return null;
    }

    private static string? Set(int pid, int resource, ulong current, ulong maximum)
    {
        var limit = new Rlimit { Current = current, Maximum = maximum };
        if (Prlimit(pid, resource, ref limit, IntPtr.Zero) == 0) return null;
        int errno = Marshal.GetLastPInvokeError();
        return errno switch
        {
            1 => "not permitted (EPERM: raising a hard limit above the gateway's own needs CAP_SYS_RESOURCE)",
            3 => "the process is gone (ESRCH)",
            22 => "invalid value (EINVAL)",
            _ => $"errno {errno}",
        };
    }

    [LibraryImport("libc", EntryPoint = "prlimit", SetLastError = true)]
    private static partial int Prlimit(int pid, int resource, ref Rlimit newLimit, IntPtr oldLimit);
}
