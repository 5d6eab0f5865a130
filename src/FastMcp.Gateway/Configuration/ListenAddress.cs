using System.Net;

namespace FastMcp.Gateway.Configuration;

/// <summary>A parsed "host:port" listen or connect address.</summary>
public static class ListenAddress
{
    public static bool TryParse(string text, out IPEndPoint endpoint)
    {
        endpoint = null!;
        if (string.IsNullOrWhiteSpace(text)) return false;
        if (text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase)) text = "127.0.0.1:" + text[10..];
        if (!IPEndPoint.TryParse(text, out IPEndPoint? parsed) || parsed is null) return false;
        int colon = text.LastIndexOf(':');
        if (colon < 0 || (text.Contains('[') && text.LastIndexOf(']') > colon)) return false;
        endpoint = parsed;
        return true;
    }

    public static IPEndPoint Parse(string text, string field) =>
        TryParse(text, out IPEndPoint ep) ? ep : throw new ConfigurationException(field, $"'{text}' is not an address of the form host:port (IPv4, [IPv6] or localhost)");

    /// <summary>Formats an endpoint for a URL (IPv6 in brackets).</summary>
    public static string ToUrlAuthority(IPEndPoint ep) =>
        ep.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ep.Address}]:{ep.Port}" : $"{ep.Address}:{ep.Port}";
}
