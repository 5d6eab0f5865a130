using FastMcp.Audit.Format;
using ZstdSharp;

namespace FastMcp.Audit.Reading;

/// <summary>Outcome of reading one frame.</summary>
public enum FrameReadStatus
{
    Ok,
    /// <summary>Clean end of data exactly at a frame boundary.</summary>
    End,
    /// <summary>The data ends inside a frame (a torn write, or truncation).</summary>
    Torn,
    /// <summary>A frame is complete but malformed (bad magic, bad fields, zstd checksum or size mismatch).</summary>
    Corrupt,
}

/// <summary>One frame: its header, where it starts, and its payload (decompressed when zstd; valid until the next read).</summary>
public readonly record struct Frame(FrameHeader Header, long Offset, int TotalLength, ReadOnlyMemory<byte> Payload);

/// <summary>Walks the frames of one segment held in memory, decompressing record frames into a reused buffer.</summary>
public sealed class FrameReader : IDisposable
{
    private readonly Decompressor _zstd = new();
    private byte[] _raw = [];
    private ReadOnlyMemory<byte> _data;

    private bool _zeroTailIsEnd;

    public int Position { get; private set; }

    /// <summary>Bytes of zero-filled reserve found after the last frame (only when the reader was reset with zeroTailIsEnd).</summary>
    public int ZeroTail { get; private set; }

    /// <summary>
    /// Starts reading <paramref name="segment"/>. With <paramref name="zeroTailIsEnd"/> (an <c>.open</c> segment, which the
    /// writer keeps zero-filled ahead of its end) zero bytes from a frame boundary to the end of the data are the end,
    /// not a torn frame: a frame starts with the magic, never with zero. Sealed segments never have such a tail.
    /// </summary>
    public void Reset(ReadOnlyMemory<byte> segment, bool zeroTailIsEnd = false)
    {
        _data = segment;
        Position = 0;
        ZeroTail = 0;
        _zeroTailIsEnd = zeroTailIsEnd;
    }

    public FrameReadStatus Next(out Frame frame, out string? error)
    {
        frame = default;
        error = null;
        var rest = _data.Span[Position..];
        if (rest.IsEmpty) return FrameReadStatus.End;
        if (_zeroTailIsEnd && rest[0] == 0 && !rest.ContainsAnyExcept((byte)0))
        {
            ZeroTail = rest.Length;
            return FrameReadStatus.End;
        }
        if (rest.Length < FrameHeader.Size)
        {
            error = "data ends inside a frame header";
            return FrameReadStatus.Torn;
        }
        if (!FrameHeader.TryRead(rest, out var header, out error)) return FrameReadStatus.Corrupt;
        int total = FrameHeader.Size + header.StoredLength;
        if (rest.Length < total)
        {
            error = $"data ends inside a frame ({rest.Length} of {total} bytes present)";
            return FrameReadStatus.Torn;
        }
        var stored = _data.Slice(Position + FrameHeader.Size, header.StoredLength);
        if (!FrameHeader.CrcMatches(rest, stored.Span))
        {
            error = "frame CRC-32C mismatch";
            return FrameReadStatus.Corrupt;
        }
        ReadOnlyMemory<byte> payload = stored;
        if (header.Codec == FrameCodec.Zstd)
        {
            if (_raw.Length < header.RawLength) _raw = new byte[Math.Max(header.RawLength, _raw.Length * 2)];
            int n;
            try
            {
                n = _zstd.Unwrap(stored.Span, _raw.AsSpan(0, header.RawLength));
            }
            catch (ZstdException e)
            {
                error = "zstd payload does not decompress: " + FastMcp.Http.PlainError.Describe(e);
                return FrameReadStatus.Corrupt;
            }
            if (n != header.RawLength)
            {
                error = $"zstd payload decompressed to {n} bytes, header says {header.RawLength}";
                return FrameReadStatus.Corrupt;
            }
            payload = _raw.AsMemory(0, n);
        }
        frame = new Frame(header, Position, total, payload);
        Position += total;
        return FrameReadStatus.Ok;
    }

    /// <summary>
    /// Finds the last frame of a segment by stepping over frame headers only (no CRC, no
    /// decompression): for looking at a seal ahead of the full walk that checks it.
    /// False when a header is unreadable or the data ends inside a frame.
    /// </summary>
    public static bool TryReadLastFrame(ReadOnlySpan<byte> segment, out FrameHeader header, out ReadOnlySpan<byte> storedPayload)
    {
        header = default;
        storedPayload = default;
        int position = 0;
        bool any = false;
        while (position < segment.Length)
        {
            if (!FrameHeader.TryRead(segment[position..], out var h, out _)) return false;
            long end = (long)position + FrameHeader.Size + h.StoredLength;
            if (end > segment.Length) return false;
            header = h;
            storedPayload = segment.Slice(position + FrameHeader.Size, h.StoredLength);
            position = (int)end;
            any = true;
        }
        return any;
    }

    public void Dispose() => _zstd.Dispose();
}
