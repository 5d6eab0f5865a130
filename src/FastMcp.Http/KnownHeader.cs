using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace FastMcp.Http;

/// <summary>Header fields the gateway acts on; everything else is <see cref="Other"/> and passes through.</summary>
public enum KnownHeader : byte
{
    Other,
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    KeepAlive,
    ProxyConnection,
    Te,
    Trailer,
    Upgrade,
    ProxyAuthorization,
    ProxyAuthenticate,
    Expect,
    Origin,
    Authorization,
    Accept,
    ContentType,
    McpSessionId,
    McpProtocolVersion,
    LastEventId,
    McpMethod,
    McpName,
    XForwardedFor,
    XForwardedProto,
    XForwardedHost,
    Forwarded,
    Date,
    Server,
    /// <summary>A DPoP proof (RFC 9449): checked by the gateway, never passed upstream.</summary>
    Dpop,
}

/// <summary>Classifies a header name without allocating (ASCII, case-insensitive).</summary>
public static class KnownHeaders
{
    public const int Count = (int)KnownHeader.Dpop + 1;

    public static KnownHeader Classify(ReadOnlySpan<byte> name)
    {
        switch (name.Length)
        {
            case 2: if (Is(name, "te"u8)) return KnownHeader.Te; break;
            case 4:
                if (Is(name, "host"u8)) return KnownHeader.Host;
                if (Is(name, "date"u8)) return KnownHeader.Date;
                if (Is(name, "dpop"u8)) return KnownHeader.Dpop;
                break;
            case 6:
                if (Is(name, "origin"u8)) return KnownHeader.Origin;
                if (Is(name, "accept"u8)) return KnownHeader.Accept;
                if (Is(name, "expect"u8)) return KnownHeader.Expect;
                if (Is(name, "server"u8)) return KnownHeader.Server;
                break;
            case 7:
                if (Is(name, "trailer"u8)) return KnownHeader.Trailer;
                if (Is(name, "upgrade"u8)) return KnownHeader.Upgrade;
                break;
            case 8: if (Is(name, "mcp-name"u8)) return KnownHeader.McpName; break;
            case 9: if (Is(name, "forwarded"u8)) return KnownHeader.Forwarded; break;
            case 10:
                if (Is(name, "connection"u8)) return KnownHeader.Connection;
                if (Is(name, "keep-alive"u8)) return KnownHeader.KeepAlive;
                if (Is(name, "mcp-method"u8)) return KnownHeader.McpMethod;
                break;
            case 12: if (Is(name, "content-type"u8)) return KnownHeader.ContentType; break;
            case 13:
                if (Is(name, "authorization"u8)) return KnownHeader.Authorization;
                if (Is(name, "last-event-id"u8)) return KnownHeader.LastEventId;
                break;
            case 14:
                if (Is(name, "content-length"u8)) return KnownHeader.ContentLength;
                if (Is(name, "mcp-session-id"u8)) return KnownHeader.McpSessionId;
                break;
            case 15:
                if (Is(name, "x-forwarded-for"u8)) return KnownHeader.XForwardedFor;
                break;
            case 16:
                if (Is(name, "proxy-connection"u8)) return KnownHeader.ProxyConnection;
                if (Is(name, "x-forwarded-host"u8)) return KnownHeader.XForwardedHost;
                break;
            case 17:
                if (Is(name, "transfer-encoding"u8)) return KnownHeader.TransferEncoding;
                if (Is(name, "x-forwarded-proto"u8)) return KnownHeader.XForwardedProto;
                break;
            case 18:
                if (Is(name, "proxy-authenticate"u8)) return KnownHeader.ProxyAuthenticate;
                break;
            case 19:
                if (Is(name, "proxy-authorization"u8)) return KnownHeader.ProxyAuthorization;
                break;
            case 20:
                if (Is(name, "mcp-protocol-version"u8)) return KnownHeader.McpProtocolVersion;
                break;
        }
        return KnownHeader.Other;
    }

    /// <summary>Hop-by-hop fields (RFC 9110 7.6.1) that a proxy never forwards.</summary>
    public static bool IsHopByHop(KnownHeader header) => header is KnownHeader.Connection or KnownHeader.KeepAlive
        or KnownHeader.ProxyConnection or KnownHeader.Te or KnownHeader.Trailer or KnownHeader.Upgrade
        or KnownHeader.TransferEncoding or KnownHeader.ProxyAuthorization or KnownHeader.ProxyAuthenticate;

    /// <summary>
    /// ASCII case-insensitive equality of <paramref name="name"/> with <paramref name="lower"/>, a name of lowercase letters
    /// and '-' of the same length (2 to 24 bytes): words of eight bytes (or four, or two) compared with bit 0x20 set only
    /// where <paramref name="lower"/> has a letter (bit 0x40), so a letter matches either case and every other byte only
    /// itself ('\r' never matches '-'). Exactly <see cref="Ascii.EqualsIgnoreCase(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>
    /// for such names, at a few instructions instead of a call per candidate (issue #14); inlined, so each known name's
    /// words are constants.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Is(ReadOnlySpan<byte> name, ReadOnlySpan<byte> lower)
    {
        ref byte n = ref MemoryMarshal.GetReference(name);
        ref byte k = ref MemoryMarshal.GetReference(lower);
        int length = lower.Length;
        if (length >= 8)
        {
            // Whole words from the front, the last one ending at the last byte (it may overlap the one before).
            for (int i = 0; i < length - 8; i += 8)
            {
                if (!Word8(ref Unsafe.Add(ref n, i), ref Unsafe.Add(ref k, i))) return false;
            }
            return Word8(ref Unsafe.Add(ref n, length - 8), ref Unsafe.Add(ref k, length - 8));
        }
        if (length >= 4) return Word4(ref n, ref k) && Word4(ref Unsafe.Add(ref n, length - 4), ref Unsafe.Add(ref k, length - 4));
        uint a = Unsafe.ReadUnaligned<ushort>(ref n), b = Unsafe.ReadUnaligned<ushort>(ref k);
        return (a | ((b & 0x4040u) >> 1)) == b;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Word8(ref byte n, ref byte k)
    {
        ulong a = Unsafe.ReadUnaligned<ulong>(ref n), b = Unsafe.ReadUnaligned<ulong>(ref k);
        return (a | ((b & 0x4040404040404040UL) >> 1)) == b;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Word4(ref byte n, ref byte k)
    {
        uint a = Unsafe.ReadUnaligned<uint>(ref n), b = Unsafe.ReadUnaligned<uint>(ref k);
        return (a | ((b & 0x40404040u) >> 1)) == b;
    }
}
