using System.Net;
using System.Net.Sockets;

namespace FastMcp.Policy;

/// <summary>
/// Lists of networks written as CIDRs ("10.0.0.0/8", "2001:db8::/32") or single addresses: parsed once at load and
/// matched without allocating. Shared by the policy's <c>addresses</c> and the gateway's clientAddress.trustedProxies,
/// so both read an entry the same way.
/// </summary>
public static class IpNetworks
{
    /// <summary>Parses one entry; null with <paramref name="error"/> set when it is neither an address nor a CIDR with no host bits set.</summary>
    public static IPNetwork? TryParse(string? entry, out string? error)
    {
        string s = entry?.Trim() ?? "";
        error = null;
        // "10.0.0.1/8" is refused rather than read as 10.0.0.0/8: it is most likely a typo for a narrower range.
        if (s.Contains('/') && IPNetwork.TryParse(s, out IPNetwork network) && TryParseAddress(s[..s.IndexOf('/')], out IPAddress? written)
            && written.Equals(network.BaseAddress))
        {
            return network;
        }
        if (!s.Contains('/') && TryParseAddress(s, out IPAddress? single))
        {
            single = Normalize(single);
            return new IPNetwork(single, single.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
        }
        error = $"'{s}' is not an address or a CIDR (base address with no host bits set)";
        return null;
    }

    /// <summary>
    /// Reads an IPv6 address, or an IPv4 address as four decimal parts without leading zeros. The socket library also
    /// reads "10.20.1" (10.20.0.1) and "010.0.0.1" (octal, 8.0.0.1): in a list that lets callers in, such a reading is
    /// more likely a typo than what was meant, so it is refused.
    /// </summary>
    public static bool TryParseAddress(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? address)
    {
        if (!IPAddress.TryParse(text, out address))
            return false;
        if (address.AddressFamily == AddressFamily.InterNetwork && !string.Equals(address.ToString(), text, StringComparison.Ordinal))
        {
            address = null;
            return false;
        }
        return true;
    }

    /// <summary>
    /// The networks as the matcher holds them: each IPv4 network also as its IPv4-mapped IPv6 form (::ffff:a.b.c.d/96+n) and
    /// each network inside ::ffff:0:0/96 also as IPv4, so either spelling of a client matches either spelling of a range
    /// without converting the address per decision.
    /// </summary>
    public static IPNetwork[] WithMappedForms(IPNetwork[] networks)
    {
        var all = new List<IPNetwork>(networks.Length * 2);
        foreach (IPNetwork n in networks)
        {
            all.Add(n);
            if (n.BaseAddress.AddressFamily == AddressFamily.InterNetwork)
                all.Add(new IPNetwork(n.BaseAddress.MapToIPv6(), 96 + n.PrefixLength));
            else if (n.BaseAddress.IsIPv4MappedToIPv6 && n.PrefixLength >= 96)
                all.Add(new IPNetwork(n.BaseAddress.MapToIPv4(), n.PrefixLength - 96));
        }
        return [.. all];
    }

    /// <summary>True when <paramref name="address"/> is in one of <paramref name="networks"/>. Allocates nothing.</summary>
    public static bool Contains(IPNetwork[] networks, IPAddress address)
    {
        foreach (IPNetwork n in networks)
            if (n.Contains(address))
                return true;
        return false;
    }

    /// <summary>IPv4 peers of a dual-stack socket arrive as ::ffff:a.b.c.d; they are matched and recorded as IPv4.</summary>
    public static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}
