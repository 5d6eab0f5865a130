using System.Buffers;

namespace FastMcp.Http;

/// <summary>
/// Incremental decoder of the chunked transfer coding (RFC 9112 section 7.1). It consumes whatever
/// part of the body has arrived, appends the chunk data to a writer and keeps its place, so a body
/// split at any byte decodes the same. Chunk extensions are skipped; trailers are read and dropped.
/// </summary>
public struct ChunkedDecoder
{
    private enum State : byte { Size, SizeWhitespace, Extension, SizeLf, Data, DataCr, DataLf, TrailerLineStart, TrailerLine, TrailerLf, FinalLf, Done }

    private State _state;
    private long _remaining;
    private int _sizeDigits;
    private int _lineBytes;
    private int _trailerBytes;

    public readonly bool IsComplete => _state == State.Done;

    public void Reset() => this = default;

    /// <summary>
    /// Decodes from <paramref name="reader"/> into <paramref name="output"/>. Returns Done at the end
    /// of the body (the reader is then positioned just past it), NeedMoreData when the input ran out,
    /// or InvalidData with <paramref name="error"/> set.
    /// </summary>
    public OperationStatus Decode(ref SequenceReader<byte> reader, IBufferWriter<byte> output, HttpLimits limits, out HttpRejectReason error)
    {
        error = HttpRejectReason.None;
        while (true)
        {
            switch (_state)
            {
                case State.Data:
                    {
                        if (reader.End) return OperationStatus.NeedMoreData;
                        ReadOnlySpan<byte> span = reader.UnreadSpan;
                        int take = (int)Math.Min(span.Length, _remaining);
                        span[..take].CopyTo(output.GetSpan(take));
                        output.Advance(take);
                        reader.Advance(take);
                        _remaining -= take;
                        if (_remaining == 0) _state = State.DataCr;
                        continue;
                    }
                case State.Done:
                    return OperationStatus.Done;
            }

            if (!reader.TryRead(out byte b)) return OperationStatus.NeedMoreData;
            switch (_state)
            {
                case State.Size:
                    {
                        int digit = HexValue(b);
                        if (digit >= 0)
                        {
                            // 15 hex digits keep the size far below long overflow.
                            if (++_sizeDigits > 15) return Fail(HttpRejectReason.InvalidChunkSize, out error);
                            _remaining = (_remaining << 4) | (uint)digit;
                            break;
                        }
                        if (_sizeDigits == 0) return Fail(HttpRejectReason.InvalidChunkSize, out error);
                        if (b == (byte)'\r') _state = State.SizeLf;
                        else if (b == (byte)';') { _state = State.Extension; _lineBytes = _sizeDigits + 1; }
                        else if (b == (byte)' ' || b == (byte)'\t') { _state = State.SizeWhitespace; _lineBytes = _sizeDigits + 1; }
                        else return Fail(HttpRejectReason.InvalidChunkSize, out error);
                        break;
                    }
                case State.SizeWhitespace:
                    // Only whitespace then ';' may follow the size (RFC 9112 7.1.1): "1 0" must not read as 1.
                    if (++_lineBytes > limits.MaxChunkLineBytes) return Fail(HttpRejectReason.ChunkLineTooLong, out error);
                    if (b == (byte)';') _state = State.Extension;
                    else if (b == (byte)'\r') _state = State.SizeLf;
                    else if (b != (byte)' ' && b != (byte)'\t') return Fail(HttpRejectReason.InvalidChunkSize, out error);
                    break;
                case State.Extension:
                    if (++_lineBytes > limits.MaxChunkLineBytes) return Fail(HttpRejectReason.ChunkLineTooLong, out error);
                    if (b == (byte)'\r') _state = State.SizeLf;
                    else if ((b < 0x20 && b != (byte)'\t') || b == 0x7f) return Fail(HttpRejectReason.InvalidChunkSize, out error);
                    break;
                case State.SizeLf:
                    if (b != (byte)'\n') return Fail(HttpRejectReason.InvalidChunkSize, out error);
                    _sizeDigits = 0;
                    _lineBytes = 0;
                    if (_remaining == 0) _state = State.TrailerLineStart;
                    else _state = State.Data;
                    break;
                case State.DataCr:
                    if (b != (byte)'\r') return Fail(HttpRejectReason.InvalidChunkTerminator, out error);
                    _state = State.DataLf;
                    break;
                case State.DataLf:
                    if (b != (byte)'\n') return Fail(HttpRejectReason.InvalidChunkTerminator, out error);
                    _state = State.Size;
                    break;
                case State.TrailerLineStart:
                    if (b == (byte)'\r') { _state = State.FinalLf; break; }
                    _state = State.TrailerLine;
                    goto case State.TrailerLine;
                case State.TrailerLine:
                    if (++_trailerBytes > limits.MaxTrailerBytes) return Fail(HttpRejectReason.TrailersTooLarge, out error);
                    if (b == (byte)'\r') _state = State.TrailerLf;
                    else if (b == (byte)'\n') return Fail(HttpRejectReason.InvalidHeaderLine, out error);
                    break;
                case State.TrailerLf:
                    if (b != (byte)'\n') return Fail(HttpRejectReason.InvalidHeaderLine, out error);
                    _state = State.TrailerLineStart;
                    break;
                case State.FinalLf:
                    if (b != (byte)'\n') return Fail(HttpRejectReason.InvalidChunkTerminator, out error);
                    _state = State.Done;
                    return OperationStatus.Done;
            }
        }
    }

    private static OperationStatus Fail(HttpRejectReason reason, out HttpRejectReason error)
    {
        error = reason;
        return OperationStatus.InvalidData;
    }

    private static int HexValue(byte b)
    {
        if ((uint)(b - '0') <= 9) return b - '0';
        int lower = b | 0x20;
        if ((uint)(lower - 'a') <= 5) return lower - 'a' + 10;
        return -1;
    }
}
