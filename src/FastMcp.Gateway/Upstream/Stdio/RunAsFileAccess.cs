using System.Runtime.InteropServices;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// What a user (uid, one group, no supplementary groups: how stdio.runAs runs a server) may do with a path, from owners
/// and mode bits (statx): search every directory on the way, then read or write the file. Writing also covers
/// replacing the file through a writable parent directory. POSIX ACLs, capabilities and LSMs are not read (docs say so).
/// </summary>
internal static unsafe partial class RunAsFileAccess
{
    private const int AtFdCwd = -100, StatxBasicStats = 0x7ff, UidOffset = 20, GidOffset = 24, ModeOffset = 28, StatxSize = 256;
    private const int Sticky = 0x200, DirectoryType = 0x4000, TypeMask = 0xF000;

    private readonly record struct Entry(uint Uid, uint Gid, int Mode)
    {
        public bool IsDirectory => (Mode & TypeMask) == DirectoryType;
    }

    /// <summary>Null when <paramref name="uid"/> can reach <paramref name="directory"/> (search on it and every parent); else the first that stops it.</summary>
    public static string? BlockedOnTheWay(string directory, uint uid, uint gid)
    {
        string full = Path.GetFullPath(directory);
        foreach (string step in Steps(full))
        {
            if (Stat(step) is not { } entry) return $"'{step}' cannot be read by the gateway";
            if (!Allows(entry, uid, gid, 1)) return $"no search permission on '{step}'";
        }
        return null;
    }

    /// <summary>Whether <paramref name="uid"/> could read the file (or list the directory) at <paramref name="path"/>. False when it does not exist.</summary>
    public static bool CanRead(string path, uint uid, uint gid)
    {
        string full = Path.GetFullPath(path);
        if (!CanReachParent(full, uid, gid)) return false;
        return Stat(full) is { } entry && Allows(entry, uid, gid, entry.IsDirectory ? 4 | 1 : 4);
    }

    /// <summary>
    /// Whether <paramref name="uid"/> could change what is at <paramref name="path"/>: write the file (or add to the directory),
    /// or replace it through its parent; for a path that does not exist yet, create it in the nearest directory that does.
    /// </summary>
    public static bool CanWrite(string path, uint uid, uint gid)
    {
        string full = Path.GetFullPath(path);
        if (uid == 0) return true;
        Entry? target = Stat(full);
        if (target is { } t && CanReachParent(full, uid, gid) && Allows(t, uid, gid, t.IsDirectory ? 2 | 1 : 2)) return true;
        string? parent = Path.GetDirectoryName(full);
        while (parent is not null)
        {
            if (Stat(parent) is { } p)
            {
                if (BlockedOnTheWay(parent, uid, gid) is not null || !Allows(p, uid, gid, 2 | 1)) return false;
                // In a sticky directory (/tmp) only the owner of an entry (or of the directory) can replace it.
                bool sticky = (p.Mode & Sticky) != 0;
                return target is not { } existing || !sticky || existing.Uid == uid || p.Uid == uid;
            }
            target = null;
            parent = Path.GetDirectoryName(parent);
        }
        return false;
    }

    private static bool CanReachParent(string full, uint uid, uint gid) =>
        Path.GetDirectoryName(full) is not { } parent || BlockedOnTheWay(parent, uid, gid) is null;

    /// <summary>"/", "/a", "/a/b" for "/a/b".</summary>
    private static IEnumerable<string> Steps(string full)
    {
        string root = Path.GetPathRoot(full) ?? "/";
        yield return root;
        for (int i = root.Length; i < full.Length; i++)
        {
            if (full[i] == '/') yield return full[..i];
        }
        if (full.Length > root.Length) yield return full.TrimEnd('/');
    }

    /// <summary>The owner bits for the owner, else the group bits for the group, else the others' (as the kernel checks).</summary>
    private static bool Allows(Entry e, uint uid, uint gid, int wanted)
    {
        if (uid == 0) return (wanted & 1) == 0 || e.IsDirectory || (e.Mode & 0x49) != 0;
        int bits = e.Uid == uid ? (e.Mode >> 6) & 7 : e.Gid == gid ? (e.Mode >> 3) & 7 : e.Mode & 7;
        return (bits & wanted) == wanted;
    }

    private static Entry? Stat(string path)
    {
        byte* buffer = stackalloc byte[StatxSize];
        if (StatX(AtFdCwd, path, 0, StatxBasicStats, buffer) != 0) return null;
        return new Entry(*(uint*)(buffer + UidOffset), *(uint*)(buffer + GidOffset), *(ushort*)(buffer + ModeOffset));
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int StatX(int directory, string path, int flags, uint mask, byte* buffer);
}
