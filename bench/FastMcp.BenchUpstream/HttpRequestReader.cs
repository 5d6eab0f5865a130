using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace FastMcp.BenchUpstream;

/// <summary>The HTTP methods the upstream distinguishes.</summary>
internal enum RequestVerb : byte { Other, Get, Post, Delete }

/// <summary>Why a request could not be framed; each maps to one status code.</summary>
internal enum RequestFault : byte { None, Malformed, HeadTooLarge, BodyTooLarge }

/// <summary>One framed request: verb, whether the path is the MCP endpoint, and its body.</summary>
internal ref struct HttpRequest
{
    public RequestVerb Verb;
    public bool PathMatches;
    public bool CloseAfter;
    public ReadOnlySpan<byte> Body;
}

/// <summary>
/// Frames HTTP/1.1 requests out of a connection's receive buffer: head, then a Content-Length or
/// chunked body. A partial request is re-framed from its start on the next read; requests are
/// small, so that costs less than keeping parse state.
/// </summary>
internal sealed class HttpRequestReader(byte[] path)
{
    public const int MaxHeadBytes = 16 * 1024;
    public const int MaxBodyBytes = 4 * 1024 * 1024;

    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;

    private readonly byte[] _path = path;
    private byte[] _head = new byte[1024];
    private byte[] _body = new byte[16 * 1024];

    /// <summary>
    /// Frames one request from <paramref name="buffer"/>; on success slices the request off the buffer.
    /// Returns false when more bytes are needed or <paramref name="fault"/> is set.
    /// </summary>
    public bool TryRead(ref ReadOnlySequence<byte> buffer, out HttpRequest request, out RequestFault fault)
    {
        request = default;
        fault = RequestFault.None;
        var reader = new SequenceReader<byte>(buffer);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> headSequence, HeadEnd, advancePastDelimiter: true))
        {
            if (buffer.Length > MaxHeadBytes)
            {
                fault = RequestFault.HeadTooLarge;
            }

            return false;
        }

        if (headSequence.Length > MaxHeadBytes)
        {
            fault = RequestFault.HeadTooLarge;
            return false;
        }

        var head = Flatten(headSequence, ref _head);
        if (!TryParseHead(head, ref request, out var contentLength, out var chunked))
        {
            fault = RequestFault.Malformed;
            return false;
        }

        if (chunked)
        {
            var bodyResult = TryReadChunkedBody(ref reader, out var bodyLength);
            if (bodyResult != RequestFault.None)
            {
                fault = bodyResult;
                return false;
            }

            if (bodyLength < 0)
            {
                return false;
            }

            request.Body = _body.AsSpan(0, bodyLength);
        }
        else
        {
            if (contentLength > MaxBodyBytes)
            {
                fault = RequestFault.BodyTooLarge;
                return false;
            }

            if (reader.Remaining < contentLength)
            {
                return false;
            }

            var bodySequence = reader.UnreadSequence.Slice(0, contentLength);
            request.Body = Flatten(bodySequence, ref _body);
            reader.Advance(contentLength);
        }

        buffer = buffer.Slice(reader.Position);
        return true;
    }

    private static ReadOnlySpan<byte> Flatten(ReadOnlySequence<byte> sequence, ref byte[] scratch)
    {
        if (sequence.IsSingleSegment)
        {
            return sequence.FirstSpan;
        }

        if (scratch.Length < sequence.Length)
        {
            scratch = new byte[Math.Max((int)sequence.Length, scratch.Length * 2)];
        }

        sequence.CopyTo(scratch);
        return scratch.AsSpan(0, (int)sequence.Length);
    }

    private bool TryParseHead(ReadOnlySpan<byte> head, ref HttpRequest request, out long contentLength, out bool chunked)
    {
        contentLength = 0;
        chunked = false;
        var lineEnd = head.IndexOf("\r\n"u8);
        var requestLine = lineEnd < 0 ? head : head[..lineEnd];
        var firstSpace = requestLine.IndexOf((byte)' ');
        var lastSpace = requestLine.LastIndexOf((byte)' ');
        if (firstSpace <= 0 || lastSpace <= firstSpace)
        {
            return false;
        }

        var verb = requestLine[..firstSpace];
        request.Verb = verb.SequenceEqual("POST"u8) ? RequestVerb.Post
            : verb.SequenceEqual("GET"u8) ? RequestVerb.Get
            : verb.SequenceEqual("DELETE"u8) ? RequestVerb.Delete
            : RequestVerb.Other;
        var target = requestLine[(firstSpace + 1)..lastSpace];
        var query = target.IndexOf((byte)'?');
        request.PathMatches = (query < 0 ? target : target[..query]).SequenceEqual(_path);
        var version = requestLine[(lastSpace + 1)..];
        request.CloseAfter = version.SequenceEqual("HTTP/1.0"u8);

        var rest = lineEnd < 0 ? default : head[(lineEnd + 2)..];
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf("\r\n"u8);
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[(end + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                return false;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ');
            if (Ascii.EqualsIgnoreCase(name, "content-length"u8))
            {
                if (!Utf8Parser.TryParse(value, out contentLength, out var used) || used != value.Length || contentLength < 0)
                {
                    return false;
                }
            }
            else if (Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8))
            {
                chunked = Ascii.EqualsIgnoreCase(value, "chunked"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "connection"u8))
            {
                if (Ascii.EqualsIgnoreCase(value, "close"u8))
                {
                    request.CloseAfter = true;
                }
                else if (Ascii.EqualsIgnoreCase(value, "keep-alive"u8))
                {
                    request.CloseAfter = false;
                }
            }
        }

        return true;
    }

    /// <summary>Decodes a chunked body into the body scratch; length -1 when incomplete.</summary>
    private RequestFault TryReadChunkedBody(ref SequenceReader<byte> reader, out int length)
    {
        length = -1;
        var written = 0;
        Span<byte> sizeScratch = stackalloc byte[32];
        while (true)
        {
            if (!reader.TryReadTo(out ReadOnlySequence<byte> sizeLine, "\r\n"u8, advancePastDelimiter: true))
            {
                return reader.Remaining > 256 ? RequestFault.Malformed : RequestFault.None;
            }

            if (sizeLine.Length > sizeScratch.Length)
            {
                return RequestFault.Malformed;
            }

            sizeLine.CopyTo(sizeScratch);
            var sizeText = sizeScratch[..(int)sizeLine.Length];
            var extension = sizeText.IndexOf((byte)';');
            if (extension >= 0)
            {
                sizeText = sizeText[..extension];
            }

            if (!Utf8Parser.TryParse(sizeText.Trim((byte)' '), out int size, out var used, 'x') || used == 0 || size < 0)
            {
                return RequestFault.Malformed;
            }

            if (size == 0)
            {
                // Trailers: skip header lines until the empty line.
                while (true)
                {
                    if (!reader.TryReadTo(out ReadOnlySequence<byte> trailer, "\r\n"u8, advancePastDelimiter: true))
                    {
                        return RequestFault.None;
                    }

                    if (trailer.Length == 0)
                    {
                        length = written;
                        return RequestFault.None;
                    }
                }
            }

            if (written + size > MaxBodyBytes)
            {
                return RequestFault.BodyTooLarge;
            }

            if (reader.Remaining < size + 2)
            {
                return RequestFault.None;
            }

            if (_body.Length < written + size)
            {
                Array.Resize(ref _body, Math.Max(written + size, _body.Length * 2));
            }

            reader.UnreadSequence.Slice(0, size).CopyTo(_body.AsSpan(written));
            written += size;
            reader.Advance(size);
            if (!reader.IsNext("\r\n"u8, advancePast: true))
            {
                return RequestFault.Malformed;
            }
        }
    }
}
