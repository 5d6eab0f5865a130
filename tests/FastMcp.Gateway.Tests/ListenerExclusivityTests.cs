using System.Net;
using System.Net.Sockets;
using FastMcp.Gateway.Transport;

namespace FastMcp.Gateway.Tests;

/// <summary>
/// SO_REUSEPORT let two gateways share one port and split its traffic (each writing the audit chain it
/// believed was its own). A listener's port is its own: a second bind fails with "address in use".
/// </summary>
public sealed class ListenerExclusivityTests
{
    [Fact]
    public void A_second_listener_on_the_same_port_fails_with_address_in_use()
    {
        using SocketListener first = SocketListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), PipeSettings.Receive(1 << 20));
        var second = Assert.Throws<SocketException>(() => SocketListener.Bind(first.LocalEndPoint, PipeSettings.Receive(1 << 20)));
        Assert.Equal(SocketError.AddressAlreadyInUse, second.SocketErrorCode);
    }

    [Fact]
    public void A_port_is_free_again_for_a_restart_once_its_listener_is_closed()
    {
        // Tests running beside this one take ephemeral ports too, and one may take the freed port between the close and
        // the rebind: a few fresh ports are tried. A listener that kept its port would fail every attempt.
        SocketException? last = null;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            IPEndPoint endpoint;
            using (SocketListener first = SocketListener.Bind(new IPEndPoint(IPAddress.Loopback, 0), PipeSettings.Receive(1 << 20)))
                endpoint = first.LocalEndPoint;
            try
            {
                using SocketListener again = SocketListener.Bind(endpoint, PipeSettings.Receive(1 << 20));
                Assert.Equal(endpoint.Port, again.LocalEndPoint.Port);
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                last = e;
            }
        }
        Assert.Fail("the port of a closed listener stayed in use in 5 attempts: " + last!.Message);
    }
}
