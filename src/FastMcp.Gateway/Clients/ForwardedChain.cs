using System.Net;
using System.Text;
using FastMcp.Http;

namespace FastMcp.Gateway.Clients;

/// <summary>
/// Finds the real client behind trusted proxies: the forwarding header (X-Forwarded-For, or the for= of RFC 7239
/// Forwarded) is walked right to left, each hop appended by a proxy we trust is skipped, and the first address
/// no trusted proxy vouches for is the client. Only a trusted peer's header is read at all, so a client cannot
/// choose its own address by sending one.
/// </summary>
internal static class ForwardedChain
{
    /// <summary>
    /// The client for a request whose connection comes from <paramref name="peer"/>. An element that is not an
    /// address ("unknown", an obfuscated name, garbage) ends the walk: the trusted hop that reported it is the
    /// client, because nothing beyond it can be vouched for.
    /// </summary>
    public static IPAddress Resolve(IPAddress peer, HttpHeaderTable headers, KnownHeader header, TrustedProxies trusted)
    {
        IPAddress current = peer;
        if (!trusted.Contains(peer)) return current;
        for (int line = headers.Count - 1; line >= 0; line--)
        {
            if (headers.KindAt(line) != header) continue;
            ReadOnlySpan<byte> value = headers.ValueAt(line);
            while (true)
            {
                int comma = value.LastIndexOf((byte)',');
                ReadOnlySpan<byte> element = value[(comma + 1)..];
                IPAddress? hop = header == KnownHeader.Forwarded ? ParseForwardedElement(element) : ParseNode(element.Trim((byte)' '));
                if (hop is null) return current;
                current = TrustedProxies.Normalize(hop);
                if (!trusted.Contains(current)) return current;
                if (comma < 0) break;
                value = value[..comma];
            }
        }
        return current;
    }

    /// <summary>The for= parameter of one Forwarded element ("for=192.0.2.60;proto=http;by=203.0.113.43").</summary>
    private static IPAddress? ParseForwardedElement(ReadOnlySpan<byte> element)
    {
        while (!element.IsEmpty)
        {
            int semi = element.IndexOf((byte)';');
            ReadOnlySpan<byte> pair = (semi < 0 ? element : element[..semi]).Trim((byte)' ');
            int eq = pair.IndexOf((byte)'=');
            if (eq > 0 && Ascii.EqualsIgnoreCase(pair[..eq].Trim((byte)' '), "for"u8))
            {
                ReadOnlySpan<byte> v = pair[(eq + 1)..].Trim((byte)' ');
                if (v.Length >= 2 && v[0] == '"' && v[^1] == '"') v = v[1..^1];
                return ParseNode(v);
            }
            if (semi < 0) break;
            element = element[(semi + 1)..];
        }
        return null;
    }

    /// <summary>An address with an optional port: "192.0.2.1", "192.0.2.1:4711", "2001:db8::1", "[2001:db8::1]:4711".</summary>
    private static IPAddress? ParseNode(ReadOnlySpan<byte> node)
    {
        if (node.IsEmpty || node.Length > 64) return null;
        if (node[0] == '[')
        {
            int close = node.IndexOf((byte)']');
            if (close < 0) return null;
            ReadOnlySpan<byte> rest = node[(close + 1)..];
            if (!rest.IsEmpty && !IsPort(rest)) return null;
            node = node[1..close];
        }
        else
        {
            int colon = node.IndexOf((byte)':');
            // One colon: IPv4 with a port; more: a bare IPv6 address.
            if (colon >= 0 && node.LastIndexOf((byte)':') == colon)
            {
                if (!IsPort(node[colon..])) return null;
                node = node[..colon];
            }
        }
        // IPv4 in full dotted form only ("10.1" would parse as 10.0.0.1); an obfuscated "_hidden" or "unknown" is no address.
        if (node.IndexOf((byte)':') < 0 && node.Count((byte)'.') != 3) return null;
        if (!IPAddress.TryParse(node, out IPAddress? address)) return null;
        // A zone ("fe80::1%eth0") names an interface of the proxy's host, not a client.
        return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && address.ScopeId != 0 ? null : address;
    }

    private static bool IsPort(ReadOnlySpan<byte> s)
    {
        if (s.Length < 2 || s.Length > 6 || s[0] != ':') return false;
        foreach (byte b in s[1..]) if (b is < (byte)'0' or > (byte)'9') return false;
        return true;
    }
}
