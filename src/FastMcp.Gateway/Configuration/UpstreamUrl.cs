using System.Net;
using System.Text;

namespace FastMcp.Gateway.Configuration;

/// <summary>An upstream MCP server address: plain http, a host and a path.</summary>
public sealed class UpstreamUrl
{
    private UpstreamUrl(string text, string host, int port, string path)
    {
        Text = text;
        Host = host;
        Port = port;
        Path = path;
        HostHeaderValue = Encoding.ASCII.GetBytes(port == 80 ? host : $"{host}:{port}");
        PathBytes = Encoding.ASCII.GetBytes(path);
    }

    public string Text { get; }
    public string Host { get; }
    public int Port { get; }
    public string Path { get; }
    public byte[] HostHeaderValue { get; }
    public byte[] PathBytes { get; }

    public static UpstreamUrl Parse(string text, string field)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) || uri.Scheme != "http" || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
            throw new ConfigurationException(field, $"'{text}' must be an absolute http:// URL without query (TLS to upstreams is terminated by a sidecar)");
        string host = uri.IsLoopback && uri.Host == "localhost" ? "127.0.0.1" : uri.Host;
        string path = string.IsNullOrEmpty(uri.AbsolutePath) ? "/" : uri.AbsolutePath;
        return new UpstreamUrl(text, host, uri.Port, path);
    }

    /// <summary>Resolves the host to an endpoint (IP literals directly, names through DNS).</summary>
    public async ValueTask<EndPoint> ResolveAsync(CancellationToken ct)
    {
        string h = Host.Trim('[', ']');
        if (IPAddress.TryParse(h, out IPAddress? ip)) return new IPEndPoint(ip, Port);
        IPAddress[] addresses = await Dns.GetHostAddressesAsync(h, ct).ConfigureAwait(false);
        if (addresses.Length == 0) throw new IOException($"no address for {h}");
        return new IPEndPoint(addresses[0], Port);
    }
}
