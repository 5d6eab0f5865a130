using System.Net;
using System.Net.Sockets;

namespace FastMcp.Load;

/// <summary>An http:// target: where to connect and what to put in the request line and Host header.</summary>
internal sealed class TargetUrl
{
    private TargetUrl(IPEndPoint endPoint, string hostHeader, string path, string text)
    {
        EndPoint = endPoint;
        HostHeader = hostHeader;
        Path = path;
        Text = text;
    }

    public IPEndPoint EndPoint { get; }
    public string HostHeader { get; }
    public string Path { get; }
    public string Text { get; }

    public static TargetUrl? TryParse(string text, out string? problem)
    {
        problem = null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != "http")
        {
            problem = "--url wants http://HOST:PORT/PATH (https is not supported: measure TLS separately)";
            return null;
        }

        IPAddress? address;
        if (!IPAddress.TryParse(uri.IdnHost, out address))
        {
            // Prefer IPv4: local targets in this repo bind 127.0.0.1.
            var addresses = Dns.GetHostAddresses(uri.IdnHost);
            address = Array.Find(addresses, a => a.AddressFamily == AddressFamily.InterNetwork) ?? (addresses.Length > 0 ? addresses[0] : null);
        }

        if (address is null)
        {
            problem = $"cannot resolve {uri.Host}";
            return null;
        }

        return new TargetUrl(new IPEndPoint(address, uri.Port), uri.Authority, uri.PathAndQuery, text);
    }
}
