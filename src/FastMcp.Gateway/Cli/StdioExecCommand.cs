using System.Globalization;
using System.Runtime.InteropServices;
using FastMcp.Gateway.Configuration;
using FastMcp.Gateway.Upstream.Stdio;

namespace FastMcp.Gateway.Cli;

/// <summary>
/// `fastmcp stdio-exec UID GID DIR MEMORY_MB CPU_SECONDS OPEN_FILES -- PROGRAM ARGS...`: what the gateway runs, instead
/// of a stdio server itself, when the server has a runAs. .NET runs no code of ours between fork and exec, and
/// ProcessStartInfo.UserName gives the child the user's login groups (no other group, no dropping them), so the switch
/// happens here, in a process of its own that becomes the server: CPU and file limits (as root, so they may be raised),
/// then groups, gid and uid, checked, then the working directory as the new user, then the memory limit and exec. Any
/// step that fails ends it with a message on stderr (the gateway logs it) and exit code 126 (127: the program is
/// missing), before the server ran. Not listed in help: only the gateway calls it.
/// </summary>
internal static unsafe partial class StdioExecCommand
{
    public const string Name = "stdio-exec";
    private const int CannotRun = 126, NotFound = 127, Enoent = 2, SigPipe = 13, SigSetMask = 2;

    /// <summary>The arguments that run <paramref name="program"/> through this command (after the gateway's own program and prefix).</summary>
    public static List<string> Arguments(StdioRunAsOptions runAs, string workingDirectory, StdioLimitsOptions limits, string program, IEnumerable<string> args)
    {
        List<string> list =
        [
            Name, Number(runAs.Uid), Number(runAs.Gid), workingDirectory,
            limits.MemoryMb.ToString(CultureInfo.InvariantCulture), limits.CpuSeconds.ToString(CultureInfo.InvariantCulture),
            limits.OpenFiles.ToString(CultureInfo.InvariantCulture), "--", program,
        ];
        list.AddRange(args);
        return list;
    }

    private static string Number(uint value) => value.ToString(CultureInfo.InvariantCulture);

    public static int Run(string[] args, TextWriter stderr)
    {
        if (args.Length < 8 || args[6] != "--"
            || !uint.TryParse(args[0], NumberStyles.None, CultureInfo.InvariantCulture, out uint uid)
            || !uint.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint gid)
            || !long.TryParse(args[3], NumberStyles.None, CultureInfo.InvariantCulture, out long memoryMb)
            || !int.TryParse(args[4], NumberStyles.None, CultureInfo.InvariantCulture, out int cpuSeconds)
            || !int.TryParse(args[5], NumberStyles.None, CultureInfo.InvariantCulture, out int openFiles))
        {
            stderr.WriteLine("fastmcp stdio-exec: usage: UID GID DIR MEMORY_MB CPU_SECONDS OPEN_FILES -- PROGRAM ARGS... (run by the gateway for stdio.runAs)");
            return 2;
        }
        string directory = args[2], program = args[7];
        IntPtr[] argv = new IntPtr[args.Length - 7 + 1];
        for (int i = 7; i < args.Length; i++) argv[i - 7] = Marshal.StringToCoTaskMemUTF8(args[i]);
        byte* emptyPath = stackalloc byte[1];
        emptyPath[0] = 0;
        // CPU time and open files as root (so they may be raised past the gateway's own); memory last, just before exec.
        var limits = new StdioLimitsOptions { CpuSeconds = cpuSeconds, OpenFiles = openFiles };
        if (limits.Any && ProcessLimits.TryApply(0, limits) is { } notLimited) return Fail(stderr, $"cannot set the limits ({notLimited})", CannotRun);

        if (SetGroups(1, &gid) != 0) return FailErrno(stderr, $"setgroups([{gid}])");
        if (SetGid(gid) != 0) return FailErrno(stderr, $"setgid({gid})");
        if (SetUid(uid) != 0) return FailErrno(stderr, $"setuid({uid})");
        if (WrongIdentity(uid, gid) is { } wrong) return Fail(stderr, wrong, CannotRun);

        if (directory.Length > 0 && ChangeDirectory(directory) != 0)
            return FailErrno(stderr, $"cannot enter workingDirectory '{directory}' as uid {uid} gid {gid}");

        // An ignored SIGPIPE survives exec (the runtime ignores it); a server expects the default. Same for a blocked mask.
        _ = Signal(SigPipe, IntPtr.Zero);
        byte* empty = stackalloc byte[128];
        new Span<byte>(empty, 128).Clear();
        _ = SigProcMask(SigSetMask, empty, null);

        fixed (IntPtr* p = argv)
        {
            // Under the JIT, compiling code needs fresh mappings, which an address-space limit below what this runtime has
            // mapped refuses: so exec's stub is compiled first (an empty path fails with ENOENT and does nothing), and
            // after the memory limit nothing runs but exec.
            _ = ExecV(emptyPath, null);
            var memory = new StdioLimitsOptions { MemoryMb = memoryMb };
            if (memory.Any && ProcessLimits.TryApply(0, memory) is { } notLimited2) return Fail(stderr, $"cannot set the limits ({notLimited2})", CannotRun);
            _ = ExecV((byte*)argv[0], p);
        }
        int errno = Marshal.GetLastPInvokeError();
        return Fail(stderr, $"cannot run '{program}' as uid {uid}: {Marshal.GetPInvokeErrorMessage(errno)}", errno == Enoent ? NotFound : CannotRun);
    }

    /// <summary>Null when every id is the one asked for, no supplementary group is left and root cannot be taken back.</summary>
    private static string? WrongIdentity(uint uid, uint gid)
    {
        if (GetUid() != uid || GetEUid() != uid || GetGid() != gid || GetEGid() != gid)
            return $"the ids after the switch are uid {GetUid()}/{GetEUid()} gid {GetGid()}/{GetEGid()}, not {uid}/{gid}";
        uint* groups = stackalloc uint[64];
        int count = GetGroups(64, groups);
        if (count < 0 || count > 1 || (count == 1 && groups[0] != gid)) return $"supplementary groups remain after setgroups ({count})";
        if (uid != 0 && SetUid(0) == 0) return "root could be taken back after setuid";
        return null;
    }

    private static int FailErrno(TextWriter stderr, string what) =>
        Fail(stderr, $"{what} failed: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}", CannotRun);

    private static int Fail(TextWriter stderr, string message, int code)
    {
        stderr.WriteLine($"fastmcp stdio-exec: {message}; the server was not started");
        stderr.Flush();
        return code;
    }

    [LibraryImport("libc", EntryPoint = "setgroups", SetLastError = true)]
    private static partial int SetGroups(nuint size, uint* groups);

    [LibraryImport("libc", EntryPoint = "setgid", SetLastError = true)]
    private static partial int SetGid(uint gid);

    [LibraryImport("libc", EntryPoint = "setuid", SetLastError = true)]
    private static partial int SetUid(uint uid);

    [LibraryImport("libc", EntryPoint = "getuid")]
    private static partial uint GetUid();

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEUid();

    [LibraryImport("libc", EntryPoint = "getgid")]
    private static partial uint GetGid();

    [LibraryImport("libc", EntryPoint = "getegid")]
    private static partial uint GetEGid();

    [LibraryImport("libc", EntryPoint = "getgroups")]
    private static partial int GetGroups(int size, uint* groups);

    [LibraryImport("libc", EntryPoint = "chdir", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int ChangeDirectory(string path);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial IntPtr Signal(int signal, IntPtr handler);

    [LibraryImport("libc", EntryPoint = "sigprocmask")]
    private static partial int SigProcMask(int how, byte* set, byte* old);

    [LibraryImport("libc", EntryPoint = "execv", SetLastError = true)]
    private static partial int ExecV(byte* path, IntPtr* argv);
}
