using System.Net;
using System.Net.Sockets;

namespace FastMcp.Interop.Tests.Harness;

/// <summary>
/// Picks a port for peers that cannot be told to bind port 0 themselves (server-everything takes
/// PORT from the environment): bind 127.0.0.1:0, read the port, release it.
/// </summary>
internal static class FreePort
{
    public static int Pick()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
