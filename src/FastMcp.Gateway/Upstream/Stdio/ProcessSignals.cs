using System.Runtime.InteropServices;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>SIGTERM for a child (Process.Kill only sends SIGKILL, which gives no chance to clean up).</summary>
internal static partial class ProcessSignals
{
    private const int SigTerm = 15;

    public static void Terminate(int pid)
    {
        if (OperatingSystem.IsWindows()) return;
        _ = Kill(pid, SigTerm);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
