using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace FastMcp.Audit.Storage;

/// <summary>
/// Makes a file's data durable with fdatasync on Linux: unlike fsync it skips metadata that is not
/// needed to read the data back (times), so an append into a zero-filled (preallocated) part of a
/// segment costs one data flush and no journal commit for the file's size. A size change is still
/// flushed (the data needs it). Elsewhere it falls back to <see cref="RandomAccess.FlushToDisk"/> (fsync).
/// </summary>
public static partial class FileDataSync
{
    /// <summary>Flushes <paramref name="handle"/>'s data to disk. Throws <see cref="IOException"/> when it cannot.</summary>
    public static void Flush(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (FdataSync((int)handle.DangerousGetHandle()) != 0)
                throw new IOException($"fdatasync failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FdataSync(int fd);
}
