using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace FastMcp.Gateway.Transport.Epoll;

/// <summary>
/// recv and send on a non-blocking socket the readiness engine drives, called straight from libc (issue #14). Socket's
/// own Receive and Send pass through its blocking-mode checks, the System.Native shim and its error bookkeeping: about
/// 3 % of the pass-through profile's samples (0.9 µs per exchange) for four calls that return at once. The socket's
/// handle is referenced for the call, as Socket does, so a close on another thread cannot hand its descriptor number to
/// a new connection while the call uses it.
/// Both calls skip the runtime's GC transition (<see cref="SuppressGCTransitionAttribute"/>): with MSG_DONTWAIT they
/// never block, and the transition frame, its return poll and the errno clearing and saving of SetLastError were
/// about 1 µs of the 15 µs of user-space CPU per pass-through exchange. The price is that a collection waits for a
/// call in progress (a few microseconds on loopback) before it can stop this thread. errno is read only when the
/// call failed, straight after it, before anything else could set it.
/// </summary>
internal static unsafe partial class SocketCalls
{
    private const int DontWait = 0x40;   // MSG_DONTWAIT: never block, whatever the descriptor's mode
    private const int NoSignal = 0x4000; // MSG_NOSIGNAL: a peer gone is EPIPE, not SIGPIPE

    [LibraryImport("libc", EntryPoint = "recv")]
    [SuppressGCTransition]
    private static partial nint Recv(nint fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", EntryPoint = "send")]
    [SuppressGCTransition]
    private static partial nint Send(nint fd, byte* buffer, nuint length, int flags);

    /// <summary>Receives into <paramref name="buffer"/>: the bytes read (0: the peer closed), or 0 and a status other than Success.</summary>
    /// <exception cref="ObjectDisposedException">The socket was closed.</exception>
    public static int Receive(SafeHandle handle, Span<byte> buffer, out SocketError status)
    {
        fixed (byte* p = buffer) return Call(handle, p, buffer.Length, send: false, out status);
    }

    /// <summary>Sends what the socket takes of <paramref name="data"/>: the bytes taken, or 0 and a status other than Success.</summary>
    /// <exception cref="ObjectDisposedException">The socket was closed.</exception>
    public static int Send(SafeHandle handle, ReadOnlySpan<byte> data, out SocketError status)
    {
        fixed (byte* p = data) return Call(handle, p, data.Length, send: true, out status);
    }

    private static int Call(SafeHandle handle, byte* p, int length, bool send, out SocketError status)
    {
        bool referenced = false;
        try
        {
            handle.DangerousAddRef(ref referenced);
            nint fd = handle.DangerousGetHandle();
            while (true)
            {
                nint n = send ? Send(fd, p, (nuint)length, DontWait | NoSignal) : Recv(fd, p, (nuint)length, DontWait);
                if (n >= 0)
                {
                    status = SocketError.Success;
                    return (int)n;
                }
                int errno = Marshal.GetLastSystemError(); // n < 0: the call set errno, and nothing ran since
                if (errno == EpollNative.Interrupted) continue; // a signal came first: nothing was transferred
                status = SocketErrors.FromErrno(errno);
                return 0;
            }
        }
        finally
        {
            if (referenced) handle.DangerousRelease();
        }
    }
}
