using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace FastMcp.Gateway.Transport;

/// <summary>
/// A listening TCP socket whose accepted connections become duplex pipes: <see cref="SocketPipe"/>, or on a TLS
/// listener a <see cref="TlsPipe"/> whose handshake the connection's owner runs. Sockets are made with an explicit address family so that an IPv4
/// address never turns into a dual-mode IPv6 socket.
/// </summary>
internal sealed class SocketListener : IDisposable
{
    private readonly Socket _socket;
    private readonly PipeOptions _receiveOptions;
    private readonly PipeOptions _sendOptions;
    private readonly bool _tls;
    private int _stopped;

    private SocketListener(Socket socket, PipeOptions receiveOptions, PipeOptions sendOptions, bool tls)
    {
        _socket = socket;
        _tls = tls;
        _receiveOptions = receiveOptions;
        _sendOptions = sendOptions;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
    }

    public IPEndPoint LocalEndPoint { get; }

    public static SocketListener Bind(IPEndPoint endpoint, PipeOptions receiveOptions, PipeOptions? sendOptions = null, int backlog = 1024, bool tls = false)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = false;
            // No ReuseAddress: on Linux .NET turns it into SO_REUSEPORT as well, which let a second gateway bind the
            // same port, take half the traffic and write into the same audit chain. A second instance must fail
            // with "address in use". (.NET still sets SO_REUSEADDR itself on Unix, so a restart rebinds past TIME_WAIT.)
            socket.Bind(endpoint);
            socket.Listen(backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new SocketListener(socket, receiveOptions, sendOptions ?? PipeSettings.DefaultSend, tls);
    }

    /// <summary>Accepts until <see cref="Stop"/>; each connection runs on its own task.</summary>
    public async Task AcceptLoopAsync(Func<ConnectionTransport, IPEndPoint, Task> onConnection)
    {
        while (Volatile.Read(ref _stopped) == 0)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (Volatile.Read(ref _stopped) != 0) return;
                // Transient accept failures (EMFILE, aborted handshakes): keep listening.
                await Task.Delay(10).ConfigureAwait(false);
                continue;
            }
            accepted.NoDelay = true;
            var remote = (IPEndPoint)accepted.RemoteEndPoint!;
            // The connection's kind is chosen here, once: nothing on its reads or writes asks again.
            ConnectionTransport connection = _tls
                ? new TlsPipe(SocketPipe.Start(accepted, PipeSettings.TlsCiphertextSend, _receiveOptions), _sendOptions, _receiveOptions) // TLS over the socket's own pipe
                : SocketPipe.Start(accepted, _sendOptions, _receiveOptions);
            _ = Task.Run(() => onConnection(connection, remote));
        }
    }

    /// <summary>Stops accepting: the listening socket is closed, open connections are untouched.</summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0) _socket.Dispose();
    }

    public void Dispose() => Stop();
}
