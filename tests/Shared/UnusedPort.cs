using System.Net;
using System.Net.Sockets;

namespace FastMcp.Testing;

/// <summary>
/// A loopback port for a listener that has to be named before it binds (replicas naming each other's admin
/// listeners, an HttpListener prefix, a child process told its PORT) or for an address nothing listens on.
/// </summary>
/// <remarks>
/// Binding port 0, reading the port and releasing it is not enough on a box running tests in parallel: the kernel
/// hands the released port to the next bind of port 0 or the next outgoing connection, and the later bind fails
/// with "address already in use" (a CI run lost a replica pair that way). So the port is picked below the kernel's
/// ephemeral range (net.ipv4.ip_local_port_range), where neither ever lands, at random, never twice in one
/// process, and only after a bind of it succeeded.
/// </remarks>
public static class UnusedPort
{
    private const int Span = 12_000;
    private static readonly HashSet<int> Handed = [];
    private static readonly int Floor, Ceiling;

    static UnusedPort()
    {
        int lowestEphemeral = 32_768;
        try
        {
            string[] range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            if (range.Length >= 1 && int.TryParse(range[0], out int low) && low > 2_048) lowestEphemeral = low;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        Ceiling = lowestEphemeral;
        Floor = Math.Max(1_025, lowestEphemeral - Span);
    }

    public static int Pick()
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            int port = Random.Shared.Next(Floor, Ceiling);
            lock (Handed)
            {
                if (Handed.Contains(port)) continue;
            }
            try
            {
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            }
            catch (SocketException)
            {
                continue;
            }
            lock (Handed)
            {
                if (Handed.Add(port)) return port;
            }
        }
        throw new InvalidOperationException($"no unused loopback port between {Floor} and {Ceiling} after 200 tries");
    }
}
