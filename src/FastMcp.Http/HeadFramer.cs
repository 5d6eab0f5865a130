using System.Buffers;

namespace FastMcp.Http;

/// <summary>
/// Finds where a message head (start line plus header lines) ends in a growing buffer, looking at
/// each byte once however the bytes arrive: it resumes from the last line start it saw.
/// </summary>
public struct HeadFramer
{
    private long _lineStart;
    private long _scanned;

    public void Reset()
    {
        _lineStart = 0;
        _scanned = 0;
    }

    /// <summary>
    /// Looks for the empty line that ends the head. The buffer must start at the head's first byte
    /// and only grow between calls. Returns the head length including the final line break, 0 when
    /// more bytes are needed, or -1 when the head exceeds <paramref name="maxHeadBytes"/>.
    /// </summary>
    public long TryFindEnd(in ReadOnlySequence<byte> buffer, int maxHeadBytes)
    {
        long limit = Math.Min(buffer.Length, (long)maxHeadBytes);
        // A head in one piece (nearly every one: a receive holds several kilobytes) is searched as a span: slicing the
        // sequence and searching it per line cost more than the search itself.
        if (buffer.IsSingleSegment) return TryFindEnd(buffer.FirstSpan[..(int)limit], buffer.Length, maxHeadBytes);
        while (_scanned < limit)
        {
            ReadOnlySequence<byte> rest = buffer.Slice(_scanned, limit - _scanned);
            SequencePosition? lf = rest.PositionOf((byte)'\n');
            if (lf is null)
            {
                _scanned = limit;
                break;
            }
            long lfOffset = _scanned + rest.Slice(0, lf.Value).Length;
            long lineLength = lfOffset - _lineStart;
            if (lineLength == 0 || (lineLength == 1 && ByteAt(buffer, _lineStart) == (byte)'\r'))
            {
                // A head that begins with an empty line is not a head; let the parser reject it.
                return lfOffset + 1;
            }
            _lineStart = lfOffset + 1;
            _scanned = lfOffset + 1;
        }
        return buffer.Length >= maxHeadBytes ? -1 : 0;
    }

    /// <summary>The same search over <paramref name="head"/>, the buffer's first bytes up to the limit, in one span.</summary>
    private long TryFindEnd(ReadOnlySpan<byte> head, long bufferLength, int maxHeadBytes)
    {
        while (_scanned < head.Length)
        {
            int lf = head[(int)_scanned..].IndexOf((byte)'\n');
            if (lf < 0)
            {
                _scanned = head.Length;
                break;
            }
            long lfOffset = _scanned + lf;
            long lineLength = lfOffset - _lineStart;
            if (lineLength == 0 || (lineLength == 1 && head[(int)_lineStart] == (byte)'\r'))
            {
                // A head that begins with an empty line is not a head; let the parser reject it.
                return lfOffset + 1;
            }
            _lineStart = lfOffset + 1;
            _scanned = lfOffset + 1;
        }
        return bufferLength >= maxHeadBytes ? -1 : 0;
    }

    private static byte ByteAt(in ReadOnlySequence<byte> buffer, long offset)
    {
        ReadOnlySequence<byte> one = buffer.Slice(offset, 1);
        return one.FirstSpan[0];
    }
}
