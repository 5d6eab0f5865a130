using System.Buffers;
using System.Buffers.Text;
using FastMcp.Gateway.Configuration;
using FastMcp.Http;

namespace FastMcp.Gateway.Forwarding;

/// <summary>
/// Writes the request head the upstream sees: the upstream's own path and Host, MCP's own fields, and those of the
/// client's other fields the upstream's forwardHeaders names (<see cref="ForwardedHeaderAllowlist"/>); never what must
/// stop at the gateway (hop-by-hop fields, the client's credentials and cookies, forwarding headers and other origin,
/// path or method claims the client could have forged). The upstream is asked for identity-coded bodies only: the
/// stages read and rewrite them, which they cannot do to gzip.
/// </summary>
internal static class UpstreamRequestWriter
{
    /// <returns>The index of the first client field left out because forwardHeaders does not name it (-1: none), for the drop notice.</returns>
    public static int WriteHead(IBufferWriter<byte> output, HttpRequestHead request, UpstreamUrl upstream, ReadOnlySpan<byte> clientAddress,
        ReadOnlySpan<byte> publicScheme, long contentLength, ReadOnlySpan<byte> injectedHeaderLines,
        in Tracing.TraceContext trace, byte[]? memberSessionLine = null, ReadOnlySpan<byte> upstreamHeaderLines = default, bool forwardCookies = false,
        ForwardedHeaderAllowlist? allowlist = null, ReadOnlySpan<byte> sessionLine = default)
    {
        HttpHeaderTable headers = request.Headers;
        ReadOnlySpan<byte> host = request.Host; // an absolute-form target's authority, if any, over the Host header
        // One span for the whole head, one Advance: a write per piece cost an interface call to the writer for each of
        // two dozen pieces (issue #14: more instructions than the pieces' bytes). The bound counts every client field.
        int bound = request.MethodToken.Length + 1 + upstream.PathBytes.Length + request.Query.Length + " HTTP/1.1\r\nHost: "u8.Length
            + upstream.HostHeaderValue.Length + 2 + sessionLine.Length + "X-Forwarded-For: "u8.Length + clientAddress.Length
            + "\r\nX-Forwarded-Proto: "u8.Length + publicScheme.Length + "\r\nX-Forwarded-Host: "u8.Length + host.Length
            + "\r\nAccept-Encoding: identity\r\n"u8.Length + "Content-Length: "u8.Length + MaxNumberLength + 2 + Tracing.TraceContext.HeaderLineLength
            + injectedHeaderLines.Length + (memberSessionLine?.Length ?? 0) + upstreamHeaderLines.Length + 2;
        for (int i = 0; i < headers.Count; i++) bound += headers.LineAt(i).Length + 2;
        var head = new HeadSpan(output.GetSpan(bound));

        head.Put(request.MethodToken);
        head.Put(" "u8);
        head.Put(upstream.PathBytes);
        head.Put(request.Query);
        head.Put(" HTTP/1.1\r\nHost: "u8);
        head.Put(upstream.HostHeaderValue);
        head.Put("\r\n"u8);

        // A federated path passes none of the client's other fields: a member is one of several servers behind the path.
        ForwardedHeaderAllowlist allowed = memberSessionLine is null ? allowlist ?? ForwardedHeaderAllowlist.None : ForwardedHeaderAllowlist.None;
        int firstNotAllowed = -1;
        for (int i = 0; i < headers.Count; i++)
        {
            FieldFate fate = Fate(headers, i, injectedHeaderLines, upstreamHeaderLines, memberSessionLine is not null, forwardCookies, allowed);
            if (fate == FieldFate.NotAllowed && firstNotAllowed < 0) firstNotAllowed = i;
            if (fate is not (FieldFate.Passed or FieldFate.Allowed)) continue;
            // A sealed session id stands for the upstream's own (Sessions/IdSeal.cs): the upstream gets that one.
            if (!sessionLine.IsEmpty && headers.KindAt(i) == KnownHeader.McpSessionId) continue;
            head.Put(headers.LineAt(i));
            head.Put("\r\n"u8);
        }
        head.Put(sessionLine);

        head.Put("X-Forwarded-For: "u8);
        head.Put(clientAddress);
        head.Put("\r\nX-Forwarded-Proto: "u8);
        head.Put(publicScheme);
        if (!host.IsEmpty)
        {
            head.Put("\r\nX-Forwarded-Host: "u8);
            head.Put(host);
        }
        head.Put("\r\nAccept-Encoding: identity\r\n"u8);
        if (contentLength >= 0)
        {
            head.Put("Content-Length: "u8);
            head.PutNumber(contentLength);
            head.Put("\r\n"u8);
        }
        // The gateway's own traceparent: same trace, the gateway's span as the upstream's parent.
        if (trace.IsValid) head.Advance(trace.WriteHeaderLine(head.Free));
        head.Put(injectedHeaderLines);
        if (memberSessionLine is not null) head.Put(memberSessionLine);
        head.Put(upstreamHeaderLines);
        head.Put("\r\n"u8);
        output.Advance(head.Written);
        return firstNotAllowed;
    }

    /// <summary>Digits of the longest Content-Length (a long).</summary>
    private const int MaxNumberLength = 20;

    /// <summary>The head's span and how much of it is written.</summary>
    private ref struct HeadSpan(Span<byte> span)
    {
        private readonly Span<byte> _span = span;

        public int Written { get; private set; }

        public readonly Span<byte> Free => _span[Written..];

        public void Put(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_span[Written..]);
            Written += bytes.Length;
        }

        public void PutNumber(long value)
        {
            Utf8Formatter.TryFormat(value, _span[Written..], out int written);
            Written += written;
        }

        public void Advance(int count) => Written += count;
    }

    /// <summary>What becomes of one of the client's header fields on its way to the upstream.</summary>
    internal enum FieldFate
    {
        /// <summary>Stops at the gateway whatever the settings (hop-by-hop, credentials, forwarding claims, fields the gateway writes).</summary>
        Stopped,
        /// <summary>Passed as one of MCP's own fields (or User-Agent), or a cookie under forwardCookies.</summary>
        Passed,
        /// <summary>Passed because the upstream's forwardHeaders names it: what an approval binds.</summary>
        Allowed,
        /// <summary>Left out because forwardHeaders does not name it.</summary>
        NotAllowed,
    }

    /// <summary>The fate of field <paramref name="i"/>: the one decision the writer and the approval digest share.</summary>
    internal static FieldFate Fate(HttpHeaderTable headers, int i, ReadOnlySpan<byte> injectedHeaderLines, ReadOnlySpan<byte> upstreamHeaderLines,
        bool federatedPath, bool forwardCookies, ForwardedHeaderAllowlist allowlist)
    {
        KnownHeader kind = headers.KindAt(i);
        if (!IsForwarded(headers, i, kind, forwardCookies && !federatedPath)) return FieldFate.Stopped;
        ReadOnlySpan<byte> name = headers.NameAt(i);
        // A field the gateway states itself (the upstream's credential, a bridge's secret) is never also taken from
        // the client: an upstream reading the first of two would take the client's value for the gateway's.
        if ((!injectedHeaderLines.IsEmpty && Names(injectedHeaderLines, name)) || (!upstreamHeaderLines.IsEmpty && Names(upstreamHeaderLines, name)))
            return FieldFate.Stopped;
        // On a federated path the client's session is the gateway's, and Mcp-Name carries the prefixed name:
        // the member gets its own session id and no Mcp-Name (the body names the tool un-prefixed).
        if (federatedPath && kind is KnownHeader.McpSessionId or KnownHeader.McpName or KnownHeader.McpProtocolVersion) return FieldFate.Stopped;
        if (ForwardedHeaderAllowlist.IsProtocolField(kind, name)) return FieldFate.Passed;
        // Cookies that got this far pass under forwardCookies, their own setting.
        if (kind == KnownHeader.Other && CookieFields.IsRequestCookie(name)) return FieldFate.Passed;
        return allowlist.Allows(name) ? FieldFate.Allowed : FieldFate.NotAllowed;
    }

    /// <summary>True when one of <paramref name="lines"/> ("Name: value" CRLF-terminated) is a field named <paramref name="name"/>.</summary>
    private static bool Names(ReadOnlySpan<byte> lines, ReadOnlySpan<byte> name)
    {
        while (!lines.IsEmpty)
        {
            int colon = lines.IndexOf((byte)':');
            if (colon < 0) return false;
            if (System.Text.Ascii.EqualsIgnoreCase(lines[..colon].Trim((byte)' '), name)) return true;
            int end = lines.IndexOf("\r\n"u8);
            if (end < 0) return false;
            lines = lines[(end + 2)..];
        }
        return false;
    }

    // Fields that upstream frameworks and proxies read as the client's address, or as the path or method to act on
    // (X-Original-URL in IIS and Symfony routing, X-HTTP-Method-Override in many frameworks). From a client they would
    // choose its own origin, or make the upstream act on another path or method than the one decided here.
    private static readonly byte[][] OriginOrTargetClaims =
    [
        "X-Real-IP"u8.ToArray(), "True-Client-IP"u8.ToArray(), "X-Client-IP"u8.ToArray(), "X-Cluster-Client-IP"u8.ToArray(),
        "CF-Connecting-IP"u8.ToArray(), "Fastly-Client-IP"u8.ToArray(), "X-Original-Forwarded-For"u8.ToArray(),
        "X-Forwarded-Port"u8.ToArray(), "X-Forwarded-Server"u8.ToArray(), "X-Forwarded-Prefix"u8.ToArray(),
        "X-Original-URL"u8.ToArray(), "X-Rewrite-URL"u8.ToArray(),
        "X-HTTP-Method-Override"u8.ToArray(), "X-HTTP-Method"u8.ToArray(), "X-Method-Override"u8.ToArray(),
    ];

    internal static bool ClaimsOriginOrTarget(ReadOnlySpan<byte> name)
    {
        // All of them start with X-, or name a CDN: most fields a client sends (Accept, User-Agent) stop at the first byte.
        if (name.Length < 9 || (name[0] | 0x20) is not ((byte)'x' or (byte)'t' or (byte)'c' or (byte)'f')) return false;
        foreach (byte[] claim in OriginOrTargetClaims)
        {
            if (claim.Length == name.Length && System.Text.Ascii.EqualsIgnoreCase(name, claim)) return true;
        }
        return false;
    }

    private static bool IsForwarded(HttpHeaderTable headers, int index, KnownHeader kind, bool forwardCookies)
    {
        if (KnownHeaders.IsHopByHop(kind)) return false;
        switch (kind)
        {
            case KnownHeader.Host:
            case KnownHeader.ContentLength:       // re-stated from the body actually sent
            case KnownHeader.Expect:              // answered by the gateway itself
            case KnownHeader.Authorization:       // never passed upstream (no token passthrough)
            case KnownHeader.Dpop:                // the caller's proof of its token's key, for the gateway only
            case KnownHeader.XForwardedFor:       // replaced: a client must not choose its own origin
            case KnownHeader.XForwardedProto:
            case KnownHeader.XForwardedHost:
            case KnownHeader.Forwarded:
                return false;
            case KnownHeader.Other:
                ReadOnlySpan<byte> name = headers.NameAt(index);
                // The client's codings are not ours to accept: the gateway states its own (identity).
                if (System.Text.Ascii.EqualsIgnoreCase(name, "Accept-Encoding"u8)) return false;
                // Replaced by the gateway's own (a malformed one is never passed on as it is).
                if (System.Text.Ascii.EqualsIgnoreCase(name, "traceparent"u8)) return false;
                // Only the gateway states the stdio bridge's secret (a client's copy would shadow it), on any route.
                if (System.Text.Ascii.EqualsIgnoreCase(name, Upstream.Stdio.BridgeSecret.HeaderName)) return false;
                // The gateway's DPoP nonce is between the client and the gateway (RFC 9449 §8), as the proof is.
                if (System.Text.Ascii.EqualsIgnoreCase(name, "DPoP-Nonce"u8)) return false;
                if (ClaimsOriginOrTarget(name)) return false;
                // The client's cookies may carry an upstream session that is not the verified caller's (CookieFields).
                if (!forwardCookies && CookieFields.IsRequestCookie(name)) return false;
                return !headers.Contains(KnownHeader.Connection) || !headers.ConnectionListsToken(name);
            default:
                return true;
        }
    }
}
