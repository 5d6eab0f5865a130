using System.Runtime.InteropServices;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// Users and groups as the system's name service knows them (getpwnam_r and kin, so /etc/passwd, LDAP or whatever
/// nsswitch.conf names): what stdio.runAs.user and .group resolve to. Linux on 64-bit only (the struct offsets).
/// </summary>
internal static unsafe partial class UserDatabase
{
    // struct passwd: name, passwd (pointers), uid, gid (4 bytes each) at 16 and 20; struct group: gid at 16.
    private const int UidOffset = 16, GidOffset = 20, GroupGidOffset = 16, EntrySize = 64, Erange = 34;

    /// <summary>The uid and primary gid of the user named <paramref name="name"/>; null when there is none.</summary>
    public static (uint Uid, uint Gid)? UserByName(string name) => LookUpUser(name, 0, byName: true);

    /// <summary>The primary gid of the user with <paramref name="uid"/>; null when no entry has that uid.</summary>
    public static (uint Uid, uint Gid)? UserById(uint uid) => LookUpUser(null, uid, byName: false);

    /// <summary>The gid of the group named <paramref name="name"/>; null when there is none.</summary>
    public static uint? GroupByName(string name) => LookUpGroup(name, 0, byName: true);

    /// <summary>Whether a group with <paramref name="gid"/> exists.</summary>
    public static bool GroupExists(uint gid) => LookUpGroup(null, gid, byName: false) is not null;

    private static (uint, uint)? LookUpUser(string? name, uint uid, bool byName)
    {
        byte* entry = stackalloc byte[EntrySize];
        for (int size = 4096; size <= 1 << 20; size *= 4)
        {
            byte[] buffer = new byte[size];
            fixed (byte* b = buffer)
            {
                int error = byName ? GetPwNam(name!, entry, b, (nuint)size, out IntPtr found) : GetPwUid(uid, entry, b, (nuint)size, out found);
                if (error == Erange) continue;
                if (error != 0 || found == IntPtr.Zero) return null;
                return (*(uint*)(entry + UidOffset), *(uint*)(entry + GidOffset));
            }
        }
        return null;
    }

    private static uint? LookUpGroup(string? name, uint gid, bool byName)
    {
        byte* entry = stackalloc byte[EntrySize];
        for (int size = 4096; size <= 1 << 22; size *= 4)
        {
            byte[] buffer = new byte[size];
            fixed (byte* b = buffer)
            {
                int error = byName ? GetGrNam(name!, entry, b, (nuint)size, out IntPtr found) : GetGrGid(gid, entry, b, (nuint)size, out found);
                if (error == Erange) continue;
                if (error != 0 || found == IntPtr.Zero) return null;
                return *(uint*)(entry + GroupGidOffset);
            }
        }
        return null;
    }

    [LibraryImport("libc", EntryPoint = "getpwnam_r", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int GetPwNam(string name, byte* entry, byte* buffer, nuint size, out IntPtr result);

    [LibraryImport("libc", EntryPoint = "getpwuid_r")]
    private static partial int GetPwUid(uint uid, byte* entry, byte* buffer, nuint size, out IntPtr result);

    [LibraryImport("libc", EntryPoint = "getgrnam_r", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int GetGrNam(string name, byte* entry, byte* buffer, nuint size, out IntPtr result);

    [LibraryImport("libc", EntryPoint = "getgrgid_r")]
    private static partial int GetGrGid(uint gid, byte* entry, byte* buffer, nuint size, out IntPtr result);
}
