using System.Net;
using System.Net.Sockets;
using FastMcp.Gateway.Transport.Epoll;

namespace FastMcp.Gateway.Tests.Transport;

/// <summary>
/// recv and send called straight from libc on real loopback sockets: what they return and the SocketError each
/// failure reads as must be what Socket's own calls gave, since the relay and the failure log classify by it.
/// </summary>
public sealed class SocketCallsTests
{
    private static (Socket Client, Socket Server) ConnectedPair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        Socket server = listener.Accept();
        client.Blocking = false;
        server.Blocking = false;
        return (client, server);
    }

    private static int ReceiveWhenThere(Socket socket, Span<byte> buffer, out SocketError status)
    {
        for (int i = 0; i < 200; i++)
        {
            int n = SocketCalls.Receive(socket.SafeHandle, buffer, out status);
            if (status != SocketError.WouldBlock) return n;
            Thread.Sleep(10);
        }
        status = SocketError.WouldBlock;
        return 0;
    }

    [Fact]
    public void Bytes_sent_are_received_and_an_empty_socket_would_block()
    {
        (Socket client, Socket server) = ConnectedPair();
        using (client)
        using (server)
        {
            byte[] buffer = new byte[64];
            Assert.Equal(0, SocketCalls.Receive(server.SafeHandle, buffer, out SocketError empty));
            Assert.Equal(SocketError.WouldBlock, empty);

            Assert.Equal(5, SocketCalls.Send(client.SafeHandle, "hello"u8, out SocketError sent));
            Assert.Equal(SocketError.Success, sent);
            int n = ReceiveWhenThere(server, buffer, out SocketError received);
            Assert.Equal(SocketError.Success, received);
            Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        }
    }

    [Fact]
    public void A_peer_that_closed_reads_as_the_end_and_one_that_reset_as_a_reset()
    {
        (Socket client, Socket server) = ConnectedPair();
        using (server)
        {
            client.Close();
            byte[] buffer = new byte[16];
            Assert.Equal(0, ReceiveWhenThere(server, buffer, out SocketError status));
            Assert.Equal(SocketError.Success, status);
        }

        (client, server) = ConnectedPair();
        using (server)
        {
            client.LingerState = new LingerOption(true, 0); // close sends RST
            client.Close();
            byte[] buffer = new byte[16];
            ReceiveWhenThere(server, buffer, out SocketError status);
            Assert.Equal(SocketError.ConnectionReset, status);
        }
    }

    [Fact]
    public void Sending_to_a_peer_that_reset_fails_without_a_signal()
    {
        (Socket client, Socket server) = ConnectedPair();
        using (server)
        {
            client.LingerState = new LingerOption(true, 0);
            client.Close();
            SocketError status = SocketError.Success;
            for (int i = 0; i < 200 && status == SocketError.Success; i++)
            {
                SocketCalls.Send(server.SafeHandle, new byte[1024], out status);
                if (status == SocketError.Success) Thread.Sleep(10);
            }
            // The process is still here (MSG_NOSIGNAL): the failure is a status.
            Assert.Contains(status, new[] { SocketError.ConnectionReset, SocketError.Shutdown });
        }
    }

    [Fact]
    public void A_closed_socket_throws_object_disposed_as_socket_did()
    {
        (Socket client, Socket server) = ConnectedPair();
        SafeSocketHandle handle = server.SafeHandle;
        server.Dispose();
        client.Dispose();
        Assert.Throws<ObjectDisposedException>(() => SocketCalls.Receive(handle, new byte[4], out _));
        Assert.Throws<ObjectDisposedException>(() => SocketCalls.Send(handle, new byte[4], out _));
    }

    [Fact]
    public void A_full_send_buffer_would_block()
    {
        (Socket client, Socket server) = ConnectedPair();
        using (client)
        using (server)
        {
            byte[] chunk = new byte[64 * 1024];
            SocketError status = SocketError.Success;
            for (int i = 0; i < 10_000 && status == SocketError.Success; i++) SocketCalls.Send(client.SafeHandle, chunk, out status);
            Assert.Equal(SocketError.WouldBlock, status);
        }
    }
}
