using System.Runtime.InteropServices;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>Sends POSIX signals: Process.Kill only knows SIGKILL, graceful-shutdown tests need SIGTERM.</summary>
internal static partial class PosixSignal
{
    public const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    public static void Send(int pid, int signal)
    {
        if (Kill(pid, signal) != 0)
        {
            throw new InvalidOperationException(
                $"kill({pid}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}");
        }
    }
}
