using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace FastMcp.Load;

/// <summary>Why a response could not be framed.</summary>
internal enum ResponseFault : byte { None, Malformed, HeadTooLarge, BodyTooLarge }

/// <summary>
/// Frames one HTTP/1.1 response incrementally (bytes may arrive in any split): status line and
/// the few headers a load generator needs, then a Content-Length, chunked or read-to-close body,
/// decoded into one buffer that the caller (and its SSE scanner) reads as it grows.
/// </summary>
internal sealed class HttpResponseReader
{
    private const int MaxHeadBytes = 64 * 1024;
    private const int MaxBodyBytes = 16 * 1024 * 1024;

    private enum State : byte { Head, FixedBody, ChunkSize, ChunkData, ChunkDataEnd, Trailers, UntilClose, Done }

    private State _state;
    private long _remaining;
    private byte[] _head = new byte[2048];
    private byte[] _body = new byte[16 * 1024];
    private int _bodyLength;

    public int StatusCode { get; private set; }
    public bool IsEventStream { get; private set; }
    public bool CloseAfter { get; private set; }

    /// <summary>Set before reading an initialize answer: keeps the Mcp-Session-Id header value.</summary>
    public bool CaptureSessionId { get; set; }
    public string? SessionId { get; private set; }

    /// <summary>The decoded body received so far.</summary>
    public ReadOnlySpan<byte> Body => _body.AsSpan(0, _bodyLength);

    public void Reset()
    {
        _state = State.Head;
        _remaining = 0;
        _bodyLength = 0;
        StatusCode = 0;
        IsEventStream = false;
        CloseAfter = false;
        SessionId = null;
    }

    /// <summary>
    /// Consumes what it can of <paramref name="buffer"/> (which is sliced past it); true when the
    /// response is complete. <paramref name="connectionClosed"/> ends a read-to-close body.
    /// </summary>
    public bool Feed(ref ReadOnlySequence<byte> buffer, bool connectionClosed, out ResponseFault fault)
    {
        fault = ResponseFault.None;
        var reader = new SequenceReader<byte>(buffer);
        var progress = true;
        while (progress && _state != State.Done && fault == ResponseFault.None)
        {
            progress = _state switch
            {
                State.Head => ReadHead(ref reader, out fault),
                State.FixedBody or State.ChunkData => ReadData(ref reader, out fault),
                State.ChunkSize => ReadChunkSize(ref reader, out fault),
                State.ChunkDataEnd => ReadChunkDataEnd(ref reader, out fault),
                State.Trailers => ReadTrailers(ref reader),
                State.UntilClose => ReadUntilClose(ref reader, connectionClosed, out fault),
                _ => false,
            };
        }

        buffer = buffer.Slice(reader.Position);
        return _state == State.Done;
    }

    private bool ReadHead(ref SequenceReader<byte> reader, out ResponseFault fault)
    {
        fault = ResponseFault.None;
        if (!reader.TryReadTo(out ReadOnlySequence<byte> headSequence, "\r\n\r\n"u8, advancePastDelimiter: true))
        {
            if (reader.Remaining > MaxHeadBytes)
            {
                fault = ResponseFault.HeadTooLarge;
            }

            return false;
        }

        ReadOnlySpan<byte> head;
        if (headSequence.IsSingleSegment)
        {
            head = headSequence.FirstSpan;
        }
        else
        {
            if (headSequence.Length > MaxHeadBytes)
            {
                fault = ResponseFault.HeadTooLarge;
                return false;
            }

            if (_head.Length < headSequence.Length)
            {
                _head = new byte[(int)headSequence.Length];
            }

            headSequence.CopyTo(_head);
            head = _head.AsSpan(0, (int)headSequence.Length);
        }

        if (!TryParseHead(head, out var contentLength, out var chunked))
        {
            fault = ResponseFault.Malformed;
            return false;
        }

        if (StatusCode < 200)
        {
            // 1xx interim response: the real one follows.
            return true;
        }

        if (chunked)
        {
            _state = State.ChunkSize;
        }
        else if (contentLength >= 0)
        {
            if (contentLength > MaxBodyBytes)
            {
                fault = ResponseFault.BodyTooLarge;
                return false;
            }

            _remaining = contentLength;
            _state = contentLength == 0 ? State.Done : State.FixedBody;
        }
        else
        {
            _state = StatusCode is 204 or 304 ? State.Done : State.UntilClose;
        }

        return true;
    }

    private bool TryParseHead(ReadOnlySpan<byte> head, out long contentLength, out bool chunked)
    {
        contentLength = -1;
        chunked = false;
        var lineEnd = head.IndexOf("\r\n"u8);
        var statusLine = lineEnd < 0 ? head : head[..lineEnd];
        // "HTTP/1.1 200 OK"
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8)
            || !Utf8Parser.TryParse(statusLine.Slice(9, 3), out int status, out _))
        {
            return false;
        }

        StatusCode = status;
        CloseAfter = statusLine[7] == (byte)'0';
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
                chunked = value.Length >= 7 && Ascii.EqualsIgnoreCase(value[^7..], "chunked"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "content-type"u8))
            {
                IsEventStream = value.Length >= 17 && Ascii.EqualsIgnoreCase(value[..17], "text/event-stream"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "connection"u8))
            {
                CloseAfter = Ascii.EqualsIgnoreCase(value, "close"u8) || (CloseAfter && !Ascii.EqualsIgnoreCase(value, "keep-alive"u8));
            }
            else if (CaptureSessionId && Ascii.EqualsIgnoreCase(name, "mcp-session-id"u8))
            {
                SessionId = Encoding.ASCII.GetString(value);
            }
        }

        return true;
    }

    private bool ReadData(ref SequenceReader<byte> reader, out ResponseFault fault)
    {
        fault = ResponseFault.None;
        if (reader.Remaining == 0)
        {
            return false;
        }

        var take = (int)Math.Min(_remaining, reader.Remaining);
        if (!Append(reader.UnreadSequence.Slice(0, take)))
        {
            fault = ResponseFault.BodyTooLarge;
            return false;
        }

        reader.Advance(take);
        _remaining -= take;
        if (_remaining == 0)
        {
            _state = _state == State.FixedBody ? State.Done : State.ChunkDataEnd;
        }

        return true;
    }

    private bool ReadChunkSize(ref SequenceReader<byte> reader, out ResponseFault fault)
    {
        fault = ResponseFault.None;
        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8, advancePastDelimiter: true))
        {
            if (reader.Remaining > 1024)
            {
                fault = ResponseFault.Malformed;
            }

            return false;
        }

        Span<byte> text = stackalloc byte[64];
        if (line.Length > text.Length)
        {
            fault = ResponseFault.Malformed;
            return false;
        }

        line.CopyTo(text);
        text = text[..(int)line.Length];
        var extension = text.IndexOf((byte)';');
        if (extension >= 0)
        {
            text = text[..extension];
        }

        if (!Utf8Parser.TryParse(text.Trim((byte)' '), out long size, out var used, 'x') || used == 0 || size < 0)
        {
            fault = ResponseFault.Malformed;
            return false;
        }

        _remaining = size;
        _state = size == 0 ? State.Trailers : State.ChunkData;
        return true;
    }

    private bool ReadChunkDataEnd(ref SequenceReader<byte> reader, out ResponseFault fault)
    {
        fault = ResponseFault.None;
        if (reader.Remaining < 2)
        {
            return false;
        }

        if (!reader.IsNext("\r\n"u8, advancePast: true))
        {
            fault = ResponseFault.Malformed;
            return false;
        }

        _state = State.ChunkSize;
        return true;
    }

    private bool ReadTrailers(ref SequenceReader<byte> reader)
    {
        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8, advancePastDelimiter: true))
        {
            return false;
        }

        if (line.IsEmpty)
        {
            _state = State.Done;
        }

        return true;
    }

    private bool ReadUntilClose(ref SequenceReader<byte> reader, bool connectionClosed, out ResponseFault fault)
    {
        fault = ResponseFault.None;
        if (reader.Remaining > 0)
        {
            if (!Append(reader.UnreadSequence))
            {
                fault = ResponseFault.BodyTooLarge;
                return false;
            }

            reader.AdvanceToEnd();
        }

        CloseAfter = true;
        if (connectionClosed)
        {
            _state = State.Done;
        }

        return false;
    }

    private bool Append(ReadOnlySequence<byte> data)
    {
        var needed = _bodyLength + (int)data.Length;
        if (needed > MaxBodyBytes)
        {
            return false;
        }

        if (needed > _body.Length)
        {
            Array.Resize(ref _body, Math.Max(needed, _body.Length * 2));
        }

        data.CopyTo(_body.AsSpan(_bodyLength));
        _bodyLength = needed;
        return true;
    }
}
