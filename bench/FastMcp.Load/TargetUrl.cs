using System.Net;
using System.Net.Sockets;

namespace FastMcp.Load;

/// <summary>An http:// or https:// target: where to connect, what to put in the request line and Host header, and the TLS name.</summary>
internal sealed class TargetUrl
{
    private TargetUrl(IPEndPoint endPoint, string hostHeader, string path, string text, bool https, string host)
    {
        EndPoint = endPoint;
        IsHttps = https;
        Host = host;
        HostHeader = hostHeader;
        Path = path;
        Text = text;
    }

    public IPEndPoint EndPoint { get; }
    public string HostHeader { get; }
    public string Path { get; }
    public string Text { get; }
    public bool IsHttps { get; }

    /// <summary>The URL's host: SNI and the name the server's certificate must carry.</summary>
    public string Host { get; }

    public static TargetUrl? TryParse(string text, out string? problem)
    {
        problem = null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            problem = "--url wants http://HOST:PORT/PATH or https://HOST:PORT/PATH";
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

        return new TargetUrl(new IPEndPoint(address, uri.Port), uri.Authority, uri.PathAndQuery, text, uri.Scheme == "https", uri.IdnHost);
    }
}
