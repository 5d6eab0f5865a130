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
            case 2: if (Is(name, "TE"u8)) return KnownHeader.Te; break;
            case 4:
                if (Is(name, "Host"u8)) return KnownHeader.Host;
                if (Is(name, "Date"u8)) return KnownHeader.Date;
                if (Is(name, "DPoP"u8)) return KnownHeader.Dpop;
                break;
            case 6:
                if (Is(name, "Origin"u8)) return KnownHeader.Origin;
                if (Is(name, "Accept"u8)) return KnownHeader.Accept;
                if (Is(name, "Expect"u8)) return KnownHeader.Expect;
                if (Is(name, "Server"u8)) return KnownHeader.Server;
                break;
            case 7:
                if (Is(name, "Trailer"u8)) return KnownHeader.Trailer;
                if (Is(name, "Upgrade"u8)) return KnownHeader.Upgrade;
                break;
            case 8: if (Is(name, "Mcp-Name"u8)) return KnownHeader.McpName; break;
            case 9: if (Is(name, "Forwarded"u8)) return KnownHeader.Forwarded; break;
            case 10:
                if (Is(name, "Connection"u8)) return KnownHeader.Connection;
                if (Is(name, "Keep-Alive"u8)) return KnownHeader.KeepAlive;
                if (Is(name, "Mcp-Method"u8)) return KnownHeader.McpMethod;
                break;
            case 12: if (Is(name, "Content-Type"u8)) return KnownHeader.ContentType; break;
            case 13:
                if (Is(name, "Authorization"u8)) return KnownHeader.Authorization;
                if (Is(name, "Last-Event-ID"u8)) return KnownHeader.LastEventId;
                break;
            case 14:
                if (Is(name, "Content-Length"u8)) return KnownHeader.ContentLength;
                if (Is(name, "Mcp-Session-Id"u8)) return KnownHeader.McpSessionId;
                break;
            case 15:
                if (Is(name, "X-Forwarded-For"u8)) return KnownHeader.XForwardedFor;
                break;
            case 16:
                if (Is(name, "Proxy-Connection"u8)) return KnownHeader.ProxyConnection;
                if (Is(name, "X-Forwarded-Host"u8)) return KnownHeader.XForwardedHost;
                break;
            case 17:
                if (Is(name, "Transfer-Encoding"u8)) return KnownHeader.TransferEncoding;
                if (Is(name, "X-Forwarded-Proto"u8)) return KnownHeader.XForwardedProto;
                break;
            case 18:
                if (Is(name, "Proxy-Authenticate"u8)) return KnownHeader.ProxyAuthenticate;
                break;
            case 19:
                if (Is(name, "Proxy-Authorization"u8)) return KnownHeader.ProxyAuthorization;
                break;
            case 20:
                if (Is(name, "MCP-Protocol-Version"u8)) return KnownHeader.McpProtocolVersion;
                break;
        }
        return KnownHeader.Other;
    }

    /// <summary>Hop-by-hop fields (RFC 9110 7.6.1) that a proxy never forwards.</summary>
    public static bool IsHopByHop(KnownHeader header) => header is KnownHeader.Connection or KnownHeader.KeepAlive
        or KnownHeader.ProxyConnection or KnownHeader.Te or KnownHeader.Trailer or KnownHeader.Upgrade
        or KnownHeader.TransferEncoding or KnownHeader.ProxyAuthorization or KnownHeader.ProxyAuthenticate;

    private static bool Is(ReadOnlySpan<byte> name, ReadOnlySpan<byte> known) => Ascii.EqualsIgnoreCase(name, known);
}
