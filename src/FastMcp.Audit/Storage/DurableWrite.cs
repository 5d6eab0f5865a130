using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace FastMcp.Audit.Storage;

/// <summary>
/// A positional write that is durable when it returns, in one system call: <c>pwritev2</c> with <c>RWF_DSYNC</c> on
/// Linux, which writes the bytes and then flushes them as <c>fdatasync</c> would (the data, and the file's size when
/// the write changed it). A group commit made a <c>pwrite</c> and an <c>fdatasync</c> of the same bytes before (issue
/// #14, target 3). The flush covers the written range only, so a caller may use it only when nothing else it wrote to
/// the file is waiting for a flush. Elsewhere, or on a kernel or file system that refuses the flag, it reports
/// "unsupported" and the caller writes and flushes in two calls as before.
/// </summary>
public static unsafe partial class DurableWrite
{
    private const int DataSync = 0x2; // RWF_DSYNC (linux/fs.h, Linux 4.7)
    private const int NotSupported = 95; // EOPNOTSUPP: an unknown flag (before 4.7), or glibc's emulation of pwritev2 with flags
    private const int NoSystemCall = 38; // ENOSYS
    private const int Invalid = 22; // EINVAL

    private static volatile bool s_unsupported = !OperatingSystem.IsLinux();

    /// <summary>False once the platform refused the durable write: callers then write and flush in two calls.</summary>
    public static bool Supported => !s_unsupported;

    /// <summary>
    /// Writes all of <paramref name="data"/> at <paramref name="offset"/> and makes it durable. False, with nothing
    /// written, when the platform does not support it (and from then on). Throws <see cref="IOException"/> when the
    /// write or the flush fails: part of the data may then be on disk, as after a short write.
    /// </summary>
    public static bool TryWrite(SafeFileHandle handle, ReadOnlySpan<byte> data, long offset)
    {
        if (s_unsupported) return false;
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            fixed (byte* start = data)
            {
                int done = 0;
                // A short write (a signal, a nearly full disk) is continued; each call flushes what it wrote.
                while (done < data.Length)
                {
                    var io = new IoVector { Base = start + done, Length = (nuint)(data.Length - done) };
                    nint n = PWriteV2(fd, &io, 1, offset + done, DataSync);
                    if (n < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (done == 0 && errno is NotSupported or NoSystemCall or Invalid)
                        {
                            s_unsupported = true;
                            return false;
                        }
                        throw new IOException($"writing and flushing the audit segment failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
                    }
                    if (n == 0) throw new IOException("writing the audit segment failed: the write made no progress");
                    done += (int)n;
                }
            }
            return true;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVector
    {
        public byte* Base;
        public nuint Length;
    }

    [LibraryImport("libc", EntryPoint = "pwritev2", SetLastError = true)]
    private static partial nint PWriteV2(int fd, IoVector* vectors, int count, long offset, int flags);
}
