using System.Runtime.InteropServices;

namespace FastMcp.Gateway.Transport.Epoll;

/// <summary>The three epoll calls the readiness engine needs (Linux, x86-64 layout of epoll_event).</summary>
internal static unsafe partial class EpollNative
{
    public const int CtlAdd = 1;
    public const int CtlDel = 2;
    public const uint In = 0x001;
    public const uint Out = 0x004;
    public const uint Err = 0x008;
    public const uint Hup = 0x010;
    public const uint RdHup = 0x2000;
    public const uint EdgeTriggered = 1u << 31;
    public const int CloseOnExec = 0x80000;
    public const int Interrupted = 4; // EINTR

    /// <summary>struct epoll_event: packed to 12 bytes on x86-64 (the only layout this engine is enabled for).</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    public struct Event
    {
        public uint Events;
        public ulong Data;
    }

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int Create(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int Control(int epfd, int op, int fd, Event* ev);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int Wait(int epfd, Event* events, int maxEvents, int timeoutMs);
}
