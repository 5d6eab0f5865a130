using System.Net;
using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Clients;

/// <summary>The networks whose forwarding headers are believed (clientAddress.trustedProxies).</summary>
internal sealed class TrustedProxies
{
    private readonly IPNetwork[] _networks;

    private TrustedProxies(IPNetwork[] networks) => _networks = networks;

    public bool IsEmpty => _networks.Length == 0;

    /// <summary>Parses "10.0.0.0/8", "2001:db8::/32" or a single address; throws a ConfigurationException naming the entry.</summary>
    public static TrustedProxies Parse(List<string> entries, string field)
    {
        var networks = new IPNetwork[entries.Count];
        for (int i = 0; i < entries.Count; i++)
        {
            string s = entries[i]?.Trim() ?? "";
            // "10.0.0.1/8" is refused rather than read as 10.0.0.0/8: it is most likely a typo for a narrower range.
            if (s.Contains('/') && IPNetwork.TryParse(s, out IPNetwork network) && IPAddress.TryParse(s.AsSpan(0, s.IndexOf('/')), out IPAddress? written)
                && written.Equals(network.BaseAddress))
            {
                networks[i] = network;
            }
            else if (!s.Contains('/') && IPAddress.TryParse(s, out IPAddress? single))
            {
                single = Normalize(single);
                networks[i] = new IPNetwork(single, single.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            }
            else
            {
                throw new ConfigurationException($"{field}[{i}]", $"'{s}' is not an address or a CIDR (base address with no host bits set)");
            }
        }
        return new TrustedProxies(networks);
    }

    public bool Contains(IPAddress address)
    {
        address = Normalize(address);
        foreach (IPNetwork n in _networks)
        {
            if (n.Contains(address)) return true;
        }
        return false;
    }

    /// <summary>IPv4 peers of a dual-stack socket arrive as ::ffff:a.b.c.d; they are matched and recorded as IPv4.</summary>
    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
