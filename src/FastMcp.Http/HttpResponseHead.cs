using System.Buffers;
using System.Text;

namespace FastMcp.Http;

/// <summary>One parsed response head from an upstream, in a buffer this object owns and reuses.</summary>
public sealed class HttpResponseHead
{
    private byte[] _buffer;
    private int _length;
    private int _reasonStart, _reasonLength;
    private readonly int _maxHeadBytes;

    public HttpResponseHead(HttpLimits limits)
    {
        _maxHeadBytes = limits.MaxHeadBytes;
        _buffer = new byte[Math.Min(HeadBuffer.InitialResponseSize, limits.MaxHeadBytes)];
        Headers = new HttpHeaderTable(limits.MaxHeaderCount);
    }

    public int StatusCode { get; private set; }
    public bool IsHttp11 { get; private set; }
    public HttpHeaderTable Headers { get; }
    public BodyFraming Framing { get; private set; }
    public long ContentLength { get; private set; }
    public bool ConnectionClose { get; private set; }
    public ReadOnlySpan<byte> Reason => _buffer.AsSpan(_reasonStart, _reasonLength);

    // IsEventStream once per head (0 not yet known, 1 no, 2 yes): the relay, the forward and the stream watch each ask it.
    // Stages rewrite header values in place only by masking digits, which neither media type it names has.
    private byte _eventStream;

    /// <summary>True when the Content-Type is text/event-stream.</summary>
    public bool IsEventStream
    {
        get
        {
            if (_eventStream == 0) _eventStream = MediaTypeIs(Headers.Get(KnownHeader.ContentType), "text/event-stream"u8) ? (byte)2 : (byte)1;
            return _eventStream == 2;
        }
    }

    /// <summary>True when the Content-Type is application/json.</summary>
    public bool IsJson => MediaTypeIs(Headers.Get(KnownHeader.ContentType), "application/json"u8);

    public HttpRejectReason Parse(in ReadOnlySequence<byte> head, bool requestWasHead)
    {
        if (head.Length > _maxHeadBytes) return HttpRejectReason.HeadersTooLarge;
        HeadBuffer.EnsureCapacity(ref _buffer, (int)head.Length, _maxHeadBytes);
        head.CopyTo(_buffer);
        _length = (int)head.Length;
        _eventStream = 0;
        Headers.Reset(_buffer);
        ReadOnlySpan<byte> all = _buffer.AsSpan(0, _length);
        int lf = all.IndexOf((byte)'\n');
        if (lf <= 0 || all[lf - 1] != (byte)'\r') return HttpRejectReason.InvalidStatusLine;
        HttpRejectReason r = ParseStatusLine(all[..(lf - 1)]);
        if (r != HttpRejectReason.None) return r;
        r = HeadParsing.ParseHeaderLines(_buffer, lf + 1, _length, Headers);
        if (r != HttpRejectReason.None) return r;
        return ApplyFraming(requestWasHead);
    }

    private HttpRejectReason ParseStatusLine(ReadOnlySpan<byte> line)
    {
        // "HTTP/1.1 200 OK": version, three digits, optional reason.
        if (line.Length < 12 || !line.StartsWith("HTTP/1."u8) || line[8] != (byte)' ') return HttpRejectReason.InvalidStatusLine;
        IsHttp11 = line[7] == (byte)'1';
        if (!IsHttp11 && line[7] != (byte)'0') return HttpRejectReason.InvalidStatusLine;
        int code = 0;
        for (int i = 9; i < 12; i++)
        {
            uint d = (uint)(line[i] - '0');
            if (d > 9) return HttpRejectReason.InvalidStatusLine;
            code = code * 10 + (int)d;
        }
        if (code < 100) return HttpRejectReason.InvalidStatusLine;
        if (line.Length > 12 && line[12] != (byte)' ') return HttpRejectReason.InvalidStatusLine;
        StatusCode = code;
        _reasonStart = Math.Min(13, line.Length);
        _reasonLength = line.Length - _reasonStart;
        return HttpRejectReason.None;
    }

    private HttpRejectReason ApplyFraming(bool requestWasHead)
    {
        long length = -1;
        bool chunked = false, sawTe = false;
        bool keepAlive = IsHttp11;
        for (int i = 0; i < Headers.Count; i++)
        {
            switch (Headers.KindAt(i))
            {
                case KnownHeader.ContentLength:
                    {
                        HttpRejectReason r = HeadParsing.MergeContentLength(Headers.ValueAt(i), ref length);
                        if (r != HttpRejectReason.None) return r;
                        break;
                    }
                case KnownHeader.TransferEncoding:
                    sawTe = true;
                    chunked = EndsWithChunked(Headers.ValueAt(i));
                    break;
                case KnownHeader.Connection:
                    {
                        ReadOnlySpan<byte> v = Headers.ValueAt(i);
                        if (HttpTokens.ListContains(v, "close"u8)) keepAlive = false;
                        else if (!IsHttp11 && HttpTokens.ListContains(v, "keep-alive"u8)) keepAlive = true;
                        break;
                    }
            }
        }
        ConnectionClose = !keepAlive;
        ContentLength = 0;
        if (requestWasHead || StatusCode is < 200 or 204 or 304)
        {
            Framing = BodyFraming.None;
            return HttpRejectReason.None;
        }
        if (sawTe)
        {
            // Transfer-Encoding wins over Content-Length (RFC 9112 6.3); a non-chunked coding is read to close.
            Framing = chunked ? BodyFraming.Chunked : BodyFraming.UntilClose;
            // Transfer-Encoding on HTTP/1.0 is faulty framing (RFC 9112 6.1): never reuse that connection.
            if (!chunked || !IsHttp11) ConnectionClose = true;
            ContentLength = -1;
            return HttpRejectReason.None;
        }
        if (length >= 0)
        {
            Framing = length == 0 ? BodyFraming.None : BodyFraming.ContentLength;
            ContentLength = length;
            return HttpRejectReason.None;
        }
        Framing = BodyFraming.UntilClose;
        ContentLength = -1;
        ConnectionClose = true;
        return HttpRejectReason.None;
    }

    private static bool EndsWithChunked(ReadOnlySpan<byte> value)
    {
        int comma = value.LastIndexOf((byte)',');
        return Ascii.EqualsIgnoreCase(HttpTokens.TrimOws(comma < 0 ? value : value[(comma + 1)..]), "chunked"u8);
    }

    private static bool MediaTypeIs(ReadOnlySpan<byte> contentType, ReadOnlySpan<byte> mediaType)
    {
        int semi = contentType.IndexOf((byte)';');
        ReadOnlySpan<byte> type = HttpTokens.TrimOws(semi < 0 ? contentType : contentType[..semi]);
        return Ascii.EqualsIgnoreCase(type, mediaType);
    }
}
