using System.Buffers;
using System.Buffers.Binary;
using System.Net;

namespace FastMcp.Gateway.Clients;

/// <summary>What the start of a connection said in the PROXY protocol.</summary>
internal enum ProxyHeaderStatus
{
    /// <summary>Not all of it has arrived yet.</summary>
    Incomplete,
    /// <summary>Absent (the bytes are something else), malformed, or too long: the connection is refused.</summary>
    Invalid,
    /// <summary>A valid header naming the source address.</summary>
    Proxied,
    /// <summary>A valid header without a source (v1 UNKNOWN, v2 LOCAL or an unspecified family): the socket peer stands.</summary>
    Local,
}

/// <summary>
/// The PROXY protocol header (HAProxy's spec, v1 text and v2 binary) a load balancer puts before the client's
/// bytes. Parsed strictly and within fixed bounds (v1: 107 bytes; v2: 16 + at most 1024 bytes of addresses and
/// TLVs); anything else refuses the connection rather than guessing.
/// </summary>
internal static class ProxyProtocolHeader
{
    private static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];
    private static ReadOnlySpan<byte> V1Prefix => "PROXY "u8;
    private const int V1MaxLength = 107;
    private const int V2MaxPayload = 1024;

    /// <summary>The most bytes a header may take; a reader never needs to buffer more.</summary>
    public const int MaxLength = 16 + V2MaxPayload;

    public static ProxyHeaderStatus TryParse(in ReadOnlySequence<byte> buffer, out int consumed, out IPAddress? source)
    {
        consumed = 0;
        source = null;
        Span<byte> head = stackalloc byte[MaxLength];
        int have = (int)Math.Min(buffer.Length, MaxLength);
        buffer.Slice(0, have).CopyTo(head);
        ReadOnlySpan<byte> bytes = head[..have];

        if (bytes.Length > 0 && bytes[0] == V2Signature[0])
        {
            int n = Math.Min(bytes.Length, V2Signature.Length);
            if (!bytes[..n].SequenceEqual(V2Signature[..n])) return ProxyHeaderStatus.Invalid;
            return bytes.Length < 16 ? ProxyHeaderStatus.Incomplete : ParseV2(bytes, out consumed, out source);
        }
        int p = Math.Min(bytes.Length, V1Prefix.Length);
        if (!bytes[..p].SequenceEqual(V1Prefix[..p])) return ProxyHeaderStatus.Invalid;
        int lf = bytes[..Math.Min(bytes.Length, V1MaxLength)].IndexOf((byte)'\n');
        if (lf < 0) return bytes.Length >= V1MaxLength ? ProxyHeaderStatus.Invalid : ProxyHeaderStatus.Incomplete;
        if (lf == 0 || bytes[lf - 1] != '\r') return ProxyHeaderStatus.Invalid;
        consumed = lf + 1;
        return ParseV1(bytes[V1Prefix.Length..(lf - 1)], out source);
    }

    /// <summary>"TCP4 192.0.2.1 198.51.100.1 56324 443", "TCP6 ...", or "UNKNOWN[ anything]".</summary>
    private static ProxyHeaderStatus ParseV1(ReadOnlySpan<byte> line, out IPAddress? source)
    {
        source = null;
        if (line.StartsWith("UNKNOWN"u8) && (line.Length == 7 || line[7] == ' ')) return ProxyHeaderStatus.Local;
        Span<Range> parts = stackalloc Range[5];
        int count = 0;
        foreach (Range part in line.Split((byte)' '))
        {
            if (count == parts.Length) return ProxyHeaderStatus.Invalid;
            parts[count++] = part;
        }
        if (count != 5) return ProxyHeaderStatus.Invalid;
        ReadOnlySpan<byte> family = line[parts[0]];
        System.Net.Sockets.AddressFamily expected;
        if (family.SequenceEqual("TCP4"u8)) expected = System.Net.Sockets.AddressFamily.InterNetwork;
        else if (family.SequenceEqual("TCP6"u8)) expected = System.Net.Sockets.AddressFamily.InterNetworkV6;
        else return ProxyHeaderStatus.Invalid;
        if (!TryAddress(line[parts[1]], expected, out IPAddress? src) || !TryAddress(line[parts[2]], expected, out _)) return ProxyHeaderStatus.Invalid;
        if (!IsPort(line[parts[3]]) || !IsPort(line[parts[4]])) return ProxyHeaderStatus.Invalid;
        source = src;
        return ProxyHeaderStatus.Proxied;
    }

    private static bool TryAddress(ReadOnlySpan<byte> text, System.Net.Sockets.AddressFamily family, out IPAddress? address)
    {
        address = null;
        if (text.IsEmpty || text.Length > 45) return false;
        if (family == System.Net.Sockets.AddressFamily.InterNetwork && text.Count((byte)'.') != 3) return false;
        if (!IPAddress.TryParse(text, out address) || address.AddressFamily != family) return false;
        return family != System.Net.Sockets.AddressFamily.InterNetworkV6 || address.ScopeId == 0;
    }

    /// <summary>A port as the spec writes it: 1 to 5 digits, no leading zero, at most 65535.</summary>
    private static bool IsPort(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty || text.Length > 5 || (text.Length > 1 && text[0] == '0')) return false;
        int value = 0;
        foreach (byte b in text)
        {
            if (b is < (byte)'0' or > (byte)'9') return false;
            value = value * 10 + (b - '0');
        }
        return value <= 65535;
    }

    private static ProxyHeaderStatus ParseV2(ReadOnlySpan<byte> bytes, out int consumed, out IPAddress? source)
    {
        consumed = 0;
        source = null;
        byte versionCommand = bytes[12];
        byte familyProtocol = bytes[13];
        int length = BinaryPrimitives.ReadUInt16BigEndian(bytes[14..16]);
        if (versionCommand >> 4 != 2) return ProxyHeaderStatus.Invalid;
        int command = versionCommand & 0x0F;
        if (command > 1 || length > V2MaxPayload) return ProxyHeaderStatus.Invalid;
        if (bytes.Length < 16 + length) return ProxyHeaderStatus.Incomplete;
        consumed = 16 + length;
        ReadOnlySpan<byte> payload = bytes[16..(16 + length)];
        // LOCAL: the balancer's own connection (a health check); the addresses, if any, are ignored.
        if (command == 0) return ProxyHeaderStatus.Local;
        int family = familyProtocol >> 4, transport = familyProtocol & 0x0F;
        if (transport > 2 || family > 3) return ProxyHeaderStatus.Invalid;
        switch (family)
        {
            case 0: // AF_UNSPEC: the sender does not know the source
                return ProxyHeaderStatus.Local;
            case 1: // AF_INET: 4 + 4 + 2 + 2
                if (payload.Length < 12) return ProxyHeaderStatus.Invalid;
                source = new IPAddress(payload[..4]);
                return ProxyHeaderStatus.Proxied;
            case 2: // AF_INET6: 16 + 16 + 2 + 2
                if (payload.Length < 36) return ProxyHeaderStatus.Invalid;
                source = new IPAddress(payload[..16]);
                return ProxyHeaderStatus.Proxied;
            default: // AF_UNIX: no network address; the socket peer stands
                return payload.Length < 216 ? ProxyHeaderStatus.Invalid : ProxyHeaderStatus.Local;
        }
    }
}
