using System.Net;
using System.Text;

namespace FastMcp.Gateway.Configuration;

/// <summary>An upstream MCP server address: http or https, a host and a path.</summary>
public sealed class UpstreamUrl
{
    private UpstreamUrl(string text, bool https, string host, string tlsHost, int port, string path)
    {
        Text = text;
        IsHttps = https;
        Host = host;
        TlsHost = tlsHost;
        Port = port;
        Path = path;
        HostHeaderValue = Encoding.ASCII.GetBytes(port == (https ? 443 : 80) ? host : $"{host}:{port}");
        PathBytes = Encoding.ASCII.GetBytes(path);
    }

    public string Text { get; }

    /// <summary>https://: the connection is TLS (upstream.tls), validated against the host (or upstream.tls.serverName).</summary>
    public bool IsHttps { get; }
    public string Host { get; }

    /// <summary>The host as written (localhost stays localhost): the default SNI name and the name the certificate must carry.</summary>
    public string TlsHost { get; }
    public int Port { get; }
    public string Path { get; }
    public byte[] HostHeaderValue { get; }
    public byte[] PathBytes { get; }

    public static UpstreamUrl Parse(string text, string field)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
            throw new ConfigurationException(field, $"'{text}' must be an absolute http:// or https:// URL without query");
        string host = uri.IsLoopback && uri.Host == "localhost" ? "127.0.0.1" : uri.Host;
        string path = string.IsNullOrEmpty(uri.AbsolutePath) ? "/" : uri.AbsolutePath;
        return new UpstreamUrl(text, uri.Scheme == "https", host, uri.Host.Trim('[', ']'), uri.Port, path);
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
