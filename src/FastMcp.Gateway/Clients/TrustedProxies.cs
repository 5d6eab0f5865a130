using System.Net;
using FastMcp.Gateway.Configuration;
using FastMcp.Policy;

namespace FastMcp.Gateway.Clients;

/// <summary>The networks whose forwarding headers are believed (clientAddress.trustedProxies).</summary>
internal sealed class TrustedProxies
{
    private readonly IPNetwork[] _networks;

    private TrustedProxies(IPNetwork[] networks) => _networks = networks;

    public bool IsEmpty => _networks.Length == 0;

    /// <summary>Parses "10.0.0.0/8", "2001:db8::/32" or a single address (as policy rules' "addresses" are); throws a ConfigurationException naming the entry.</summary>
    public static TrustedProxies Parse(List<string> entries, string field)
    {
        var networks = new IPNetwork[entries.Count];
        for (int i = 0; i < entries.Count; i++)
            networks[i] = IpNetworks.TryParse(entries[i], out string? error) ?? throw new ConfigurationException($"{field}[{i}]", error!);
        return new TrustedProxies(networks);
    }

    public bool Contains(IPAddress address) => IpNetworks.Contains(_networks, Normalize(address));

    /// <summary>IPv4 peers of a dual-stack socket arrive as ::ffff:a.b.c.d; they are matched and recorded as IPv4.</summary>
    public static IPAddress Normalize(IPAddress address) => IpNetworks.Normalize(address);
}
