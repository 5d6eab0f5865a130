using System.Text;

namespace FastMcp.Http;

/// <summary>
/// One parsed request head. The head's bytes are copied once into a buffer this object owns and
/// reuses, so every field below is a view into that buffer and parsing allocates nothing. The
/// buffer starts at <see cref="HeadBuffer.InitialSize"/> and grows (up to the limit) only for a
/// connection that sends a larger head, so idle connections stay small.
/// </summary>
public sealed class HttpRequestHead
{
    private byte[] _buffer;
    private readonly HttpLimits _limits;
    private int _length;
    private int _targetStart, _targetLength, _pathLength, _methodLength;
    private int _authorityStart, _authorityLength; // host[:port] of an absolute-form target; 0 length: origin-form

    public HttpRequestHead(HttpLimits limits)
    {
        _limits = limits;
        _buffer = new byte[Math.Min(HeadBuffer.InitialSize, limits.MaxHeadBytes)];
        Headers = new HttpHeaderTable(limits.MaxHeaderCount);
    }

    public HttpMethod Method { get; private set; }
    public bool IsHttp11 { get; private set; }
    public HttpHeaderTable Headers { get; }
    public BodyFraming Framing { get; private set; }
    public long ContentLength { get; private set; }

    /// <summary>The client asked to close after this exchange (or spoke HTTP/1.0 without keep-alive).</summary>
    public bool ConnectionClose { get; private set; }
    public bool ExpectsContinue { get; private set; }

    public ReadOnlySpan<byte> MethodToken => _buffer.AsSpan(0, _methodLength);
    public ReadOnlySpan<byte> Target => _buffer.AsSpan(_targetStart, _targetLength);
    public ReadOnlySpan<byte> Path => _buffer.AsSpan(_targetStart, _pathLength);
    public ReadOnlySpan<byte> Query => _buffer.AsSpan(_targetStart + _pathLength, _targetLength - _pathLength);

    /// <summary>The query's bytes where they lie, for a stage that rewrites them in place (same length) before forwarding.</summary>
    public ReadOnlyMemory<byte> QueryMemory => _buffer.AsMemory(_targetStart + _pathLength, _targetLength - _pathLength);
    public ReadOnlySpan<byte> RawHead => _buffer.AsSpan(0, _length);

    /// <summary>
    /// Puts back the head's bytes as a copy of <see cref="RawHead"/> taken earlier holds them: undoes same-length rewrites
    /// in place (masked header values, a masked query), so that another stage can rewrite the head as sent. The parse stays valid.
    /// </summary>
    public void RestoreRawHead(ReadOnlySpan<byte> saved)
    {
        if (saved.Length != _length) throw new ArgumentException("not a copy of this head (another length)", nameof(saved));
        saved.CopyTo(_buffer);
    }

    /// <summary>
    /// The host the request is for: an absolute-form target's authority (host[:port], without userinfo), which
    /// RFC 9112 3.2.2 says replaces the Host header, else the Host header (empty when there is none). Whatever checks
    /// or passes on the request's host reads this, never the header directly.
    /// </summary>
    public ReadOnlySpan<byte> Host => _authorityLength > 0 ? _buffer.AsSpan(_authorityStart, _authorityLength) : Headers.Get(KnownHeader.Host);

    /// <summary>Parses a complete head (start line through the empty line) found by <see cref="HeadFramer"/>.</summary>
    public HttpRejectReason Parse(System.Buffers.ReadOnlySequence<byte> head)
    {
        if (head.Length > _limits.MaxHeadBytes) return HttpRejectReason.HeadersTooLarge;
        HeadBuffer.EnsureCapacity(ref _buffer, (int)head.Length, _limits.MaxHeadBytes);
        System.Buffers.BuffersExtensions.CopyTo(head, _buffer);
        _length = (int)head.Length;
        return ParseBuffer();
    }

    public HttpRejectReason Parse(ReadOnlySpan<byte> head)
    {
        if (head.Length > _limits.MaxHeadBytes) return HttpRejectReason.HeadersTooLarge;
        HeadBuffer.EnsureCapacity(ref _buffer, head.Length, _limits.MaxHeadBytes);
        head.CopyTo(_buffer);
        _length = head.Length;
        return ParseBuffer();
    }

    private HttpRejectReason ParseBuffer()
    {
        Headers.Reset(_buffer);
        Method = HttpMethod.Other;
        IsHttp11 = false;
        _methodLength = _targetStart = _targetLength = _pathLength = _authorityStart = _authorityLength = 0;
        Framing = BodyFraming.None;
        ContentLength = 0;
        ConnectionClose = false;
        ExpectsContinue = false;
        ReadOnlySpan<byte> all = _buffer.AsSpan(0, _length);

        int lineEnd = all.IndexOf((byte)'\n');
        if (lineEnd < 0) return HttpRejectReason.InvalidRequestLine;
        if (lineEnd == 0 || all[lineEnd - 1] != (byte)'\r') return HttpRejectReason.InvalidRequestLine;
        HttpRejectReason r = ParseRequestLine(all[..(lineEnd - 1)]);
        if (r != HttpRejectReason.None) return r;

        r = HeadParsing.ParseHeaderLines(_buffer, lineEnd + 1, _length, Headers);
        if (r != HttpRejectReason.None) return r;
        return ApplyHeaderSemantics();
    }

    private HttpRejectReason ParseRequestLine(ReadOnlySpan<byte> line)
    {
        if (line.Contains((byte)'\r')) return HttpRejectReason.BareCarriageReturn;
        int sp1 = line.IndexOf((byte)' ');
        if (sp1 <= 0) return HttpRejectReason.InvalidRequestLine;
        ReadOnlySpan<byte> method = line[..sp1];
        if (!HttpTokens.IsToken(method)) return HttpRejectReason.InvalidMethod;
        _methodLength = sp1;
        Method = HttpMethods.Parse(method);

        ReadOnlySpan<byte> rest = line[(sp1 + 1)..];
        int sp2 = rest.IndexOf((byte)' ');
        if (sp2 <= 0) return HttpRejectReason.InvalidRequestLine;
        ReadOnlySpan<byte> target = rest[..sp2];
        ReadOnlySpan<byte> version = rest[(sp2 + 1)..];
        if (target.Length > _limits.MaxTargetLength) return HttpRejectReason.TargetTooLong;
        if (target.ContainsAny(HttpTokens.InvalidTargetChars)) return HttpRejectReason.InvalidTarget;

        if (version.SequenceEqual("HTTP/1.1"u8)) IsHttp11 = true;
        else if (version.SequenceEqual("HTTP/1.0"u8)) IsHttp11 = false;
        else if (version.Length == 8 && version.StartsWith("HTTP/"u8)) return HttpRejectReason.UnsupportedVersion;
        else return HttpRejectReason.InvalidRequestLine;

        int targetStart = sp1 + 1;
        // Absolute-form (a client talking to us as a forward proxy): keep only path and query.
        if (target[0] != (byte)'/')
        {
            if (target.Length == 1 && target[0] == (byte)'*' && Method == HttpMethod.Options)
            {
                _targetStart = targetStart;
                _targetLength = 1;
                _pathLength = 1;
                return HttpRejectReason.None;
            }
            int scheme = target.IndexOf("://"u8);
            if (scheme <= 0) return HttpRejectReason.InvalidTarget;
            ReadOnlySpan<byte> schemeName = target[..scheme];
            if (!Ascii.EqualsIgnoreCase(schemeName, "http"u8) && !Ascii.EqualsIgnoreCase(schemeName, "https"u8)) return HttpRejectReason.InvalidTarget;
            // The authority ends at the first '/', '?' (RFC 3986 3.2); it must not be empty (RFC 9110 4.2.1).
            ReadOnlySpan<byte> afterScheme = target[(scheme + 3)..];
            int authorityEnd = afterScheme.IndexOfAny((byte)'/', (byte)'?');
            if (authorityEnd <= 0 || afterScheme[authorityEnd] != (byte)'/') return HttpRejectReason.InvalidTarget;
            // The host is what follows any userinfo; it must be a valid, non-empty host[:port] (RFC 9110 4.2.1).
            ReadOnlySpan<byte> authority = afterScheme[..authorityEnd];
            int userinfoEnd = authority.LastIndexOf((byte)'@') + 1;
            ReadOnlySpan<byte> host = authority[userinfoEnd..];
            if (host.IsEmpty || host[0] == (byte)':' || !IsValidHost(host)) return HttpRejectReason.InvalidTarget;
            _authorityStart = targetStart + scheme + 3 + userinfoEnd;
            _authorityLength = host.Length;
            int skip = scheme + 3 + authorityEnd;
            targetStart += skip;
            target = target[skip..];
        }
        _targetStart = targetStart;
        _targetLength = target.Length;
        int q = target.IndexOf((byte)'?');
        _pathLength = q < 0 ? target.Length : q;
        return HttpRejectReason.None;
    }

    private static bool IsMcpParamHeader(ReadOnlySpan<byte> name) =>
        name.Length > 10 && Ascii.EqualsIgnoreCase(name[..10], "Mcp-Param-"u8);

    /// <summary>uri-host [":" port] (RFC 9112 3.2): reg-name or IP-literal characters only, no userinfo.</summary>
    private static bool IsValidHost(ReadOnlySpan<byte> host) => !host.ContainsAnyExcept(HostChars);

    private static readonly System.Buffers.SearchValues<byte> HostChars = System.Buffers.SearchValues.Create(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+;=:[]%"u8);

    private HttpRejectReason ApplyHeaderSemantics()
    {
        HttpHeaderTable h = Headers;
        bool sawHost = false, sawLength = false, sawTransferEncoding = false;
        long length = -1;
        bool keepAlive = IsHttp11;
        int mcpHeadersSeen = 0;
        for (int i = 0; i < h.Count; i++)
        {
            switch (h.KindAt(i))
            {
                case KnownHeader.McpSessionId:
                case KnownHeader.McpProtocolVersion:
                case KnownHeader.McpMethod:
                case KnownHeader.McpName:
                case KnownHeader.LastEventId:
                    {
                        // One copy each: the gateway checks one and forwards all, and peers differ on which they read (a
                        // federated path routes a resumption by its Last-Event-ID; an upstream resumes from one of them).
                        int bit = 1 << (int)h.KindAt(i); // KnownHeader has fewer than 32 members
                        if ((mcpHeadersSeen & bit) != 0) return HttpRejectReason.DuplicateMcpHeader;
                        mcpHeadersSeen |= bit;
                        break;
                    }
                case KnownHeader.Other when IsMcpParamHeader(h.NameAt(i)):
                    for (int j = 0; j < i; j++)
                    {
                        if (h.KindAt(j) == KnownHeader.Other && Ascii.EqualsIgnoreCase(h.NameAt(j), h.NameAt(i))) return HttpRejectReason.DuplicateMcpHeader;
                    }
                    break;
                case KnownHeader.Host:
                    if (sawHost) return HttpRejectReason.DuplicateHost;
                    sawHost = true;
                    if (!IsValidHost(h.ValueAt(i))) return HttpRejectReason.InvalidHeaderValue;
                    break;
                case KnownHeader.ContentLength:
                    {
                        HttpRejectReason r = HeadParsing.MergeContentLength(h.ValueAt(i), ref length);
                        if (r != HttpRejectReason.None) return r;
                        sawLength = true;
                        break;
                    }
                case KnownHeader.TransferEncoding:
                    if (sawTransferEncoding) return HttpRejectReason.UnsupportedTransferEncoding;
                    sawTransferEncoding = true;
                    // Only a lone "chunked" is accepted: anything layered is a smuggling vector.
                    if (!Ascii.EqualsIgnoreCase(HttpTokens.TrimOws(h.ValueAt(i)), "chunked"u8))
                        return HttpRejectReason.UnsupportedTransferEncoding;
                    break;
                case KnownHeader.Connection:
                    {
                        ReadOnlySpan<byte> v = h.ValueAt(i);
                        if (HttpTokens.ListContains(v, "close"u8)) keepAlive = false;
                        else if (!IsHttp11 && HttpTokens.ListContains(v, "keep-alive"u8)) keepAlive = true;
                        break;
                    }
                case KnownHeader.Expect:
                    if (IsHttp11 && Ascii.EqualsIgnoreCase(HttpTokens.TrimOws(h.ValueAt(i)), "100-continue"u8)) ExpectsContinue = true;
                    break;
            }
        }
        if (IsHttp11 && !sawHost) return HttpRejectReason.MissingHost;
        if (sawTransferEncoding)
        {
            if (sawLength) return HttpRejectReason.ContentLengthWithTransferEncoding;
            if (!IsHttp11) return HttpRejectReason.UnsupportedTransferEncoding;
            Framing = BodyFraming.Chunked;
            ContentLength = -1;
        }
        else if (sawLength)
        {
            ContentLength = length;
            Framing = length > 0 ? BodyFraming.ContentLength : BodyFraming.None;
            if (length > _limits.MaxRequestBodyBytes) return HttpRejectReason.BodyTooLarge;
        }
        ConnectionClose = !keepAlive;
        return HttpRejectReason.None;
    }
}
