using System.Runtime.InteropServices;

namespace FastMcp.Audit.Storage;

/// <summary>
/// Makes a directory's entries durable: after a rename or a file creation, the file's data may be
/// on disk while the name that points at it is not, until the directory itself is fsynced. On
/// Linux that is open(dir, O_RDONLY | O_DIRECTORY) + fsync; elsewhere it is a no-op (Windows
/// journals metadata; macOS needs F_FULLFSYNC, which the gateway does not target).
/// </summary>
public static partial class DirectorySync
{
    private const int ReadOnly = 0;          // O_RDONLY
    private const int Directory = 0x10000;   // O_DIRECTORY (x86-64 and arm64 Linux)
    private const int CloseOnExec = 0x80000; // O_CLOEXEC

    /// <summary>Flushes <paramref name="directory"/>'s entries to disk. Throws <see cref="IOException"/> when it cannot.</summary>
    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = Open(directory, ReadOnly | Directory | CloseOnExec);
        if (fd < 0) throw new IOException($"cannot open directory '{directory}' to sync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
