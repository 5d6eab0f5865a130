using System.Runtime.InteropServices;

namespace FastMcp.Audit.Storage;

/// <summary>
/// The owning group of a file and the process's effective group (Linux): .NET exposes a file's
/// mode but not its owner. statx(2) is used because its result layout is the same on every
/// architecture (struct stat is not).
/// </summary>
public static partial class UnixFileGroup
{
    private const int AtFdCwd = -100;       // AT_FDCWD
    private const uint StatxGid = 0x0010;   // STATX_GID
    private const int StatxSize = 256;      // sizeof(struct statx)
    private const int GidOffset = 24;       // stx_gid

    /// <summary>The gid owning <paramref name="path"/> (symbolic links followed), or null where it cannot be read.</summary>
    public static unsafe uint? GroupOf(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        byte* buffer = stackalloc byte[StatxSize];
        try
        {
            if (Statx(AtFdCwd, path, 0, StatxGid, buffer) != 0) return null;
        }
        catch (EntryPointNotFoundException)
        {
            return null; // a libc without statx (glibc < 2.28)
        }
        uint mask = *(uint*)buffer;
        return (mask & StatxGid) != 0 ? *(uint*)(buffer + GidOffset) : null;
    }

    /// <summary>The process's effective gid, or null off Linux.</summary>
    public static uint? EffectiveGroup() => OperatingSystem.IsLinux() ? GetEffectiveGroup() : null;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "getegid")]
    private static partial uint GetEffectiveGroup();
}
