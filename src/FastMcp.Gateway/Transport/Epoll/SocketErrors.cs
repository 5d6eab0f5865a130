using System.Net.Sockets;

namespace FastMcp.Gateway.Transport.Epoll;

/// <summary>
/// Linux errno values of recv and send as the SocketError the rest of the gateway reads (the mapping Socket itself
/// makes), so that a reset, a refused or an unreachable peer is reported the same whichever layer made the call.
/// </summary>
internal static class SocketErrors
{
    public static SocketError FromErrno(int errno) => errno switch
    {
        11 => SocketError.WouldBlock,                 // EAGAIN, EWOULDBLOCK
        104 => SocketError.ConnectionReset,           // ECONNRESET
        32 => SocketError.Shutdown,                   // EPIPE
        108 => SocketError.Shutdown,                  // ESHUTDOWN
        107 => SocketError.NotConnected,              // ENOTCONN
        103 => SocketError.ConnectionAborted,         // ECONNABORTED
        111 => SocketError.ConnectionRefused,         // ECONNREFUSED
        110 => SocketError.TimedOut,                  // ETIMEDOUT
        113 => SocketError.HostUnreachable,           // EHOSTUNREACH
        101 => SocketError.NetworkUnreachable,        // ENETUNREACH
        100 => SocketError.NetworkDown,               // ENETDOWN
        102 => SocketError.NetworkReset,              // ENETRESET
        105 or 12 => SocketError.NoBufferSpaceAvailable, // ENOBUFS, ENOMEM
        90 => SocketError.MessageSize,                // EMSGSIZE
        22 => SocketError.InvalidArgument,            // EINVAL
        14 => SocketError.Fault,                      // EFAULT
        88 => SocketError.NotSocket,                  // ENOTSOCK
        9 => SocketError.OperationAborted,            // EBADF: the descriptor was closed
        4 => SocketError.Interrupted,                 // EINTR
        _ => SocketError.SocketError,
    };
}
