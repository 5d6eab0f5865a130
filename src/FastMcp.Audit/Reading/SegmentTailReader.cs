using FastMcp.Audit.Format;
using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Reading;

/// <summary>
/// Walks the frames of one segment file from a frame boundary on, reading only as far as it goes: a reader that
/// follows a growing <c>.open</c> segment then reads each byte about once instead of the whole file per pass.
/// The first read is a small probe (an <c>.open</c> segment with nothing new shows only its zero-filled reserve);
/// later reads double up to <see cref="MaxChunk"/>, or grow to hold a whole frame.
/// </summary>
public sealed class SegmentTailReader : IDisposable
{
    private const int Probe = 4096;
    private const int MaxChunk = 1024 * 1024;
    private readonly FrameReader _frames = new();
    private IAuditFileSystem? _fs;
    private string _path = "";
    private bool _sealed;
    private byte[] _buffer = new byte[Probe];
    private long _base;
    private int _length;
    private int _chunk;
    private bool _eof;

    /// <summary>The file offset just past the last frame <see cref="Next"/> returned (where a later reader may go on).</summary>
    public long FrameEnd => _base + _frames.Position;

    /// <summary>Starts at <paramref name="offset"/>, which must be a frame boundary (0, or a <see cref="FrameEnd"/>).</summary>
    public void Open(IAuditFileSystem fs, string path, long offset, bool sealed_)
    {
        _fs = fs;
        _path = path;
        _sealed = sealed_;
        _base = offset;
        _length = 0;
        _chunk = Probe;
        _eof = false;
        _frames.Reset(ReadOnlyMemory<byte>.Empty, zeroTailIsEnd: !sealed_);
    }

    /// <summary>
    /// The next frame. End: the file ends at a frame boundary (or, for an <c>.open</c> segment, its zero-filled reserve
    /// starts). Torn: the file ends inside a frame. Throws <see cref="FileNotFoundException"/> when the file is gone.
    /// </summary>
    public FrameReadStatus Next(out Frame frame, out string? error)
    {
        while (true)
        {
            var status = _frames.Next(out frame, out error);
            if (status is FrameReadStatus.Ok or FrameReadStatus.Corrupt) return status;
            // Zeros from a frame boundary end what an .open segment holds (a frame starts with its magic, never zero).
            if (status == FrameReadStatus.End && _frames.ZeroTail > 0) return status;
            int needed = FrameHeader.Size;
            var rest = _buffer.AsSpan(_frames.Position, _length - _frames.Position);
            if (rest.Length >= FrameHeader.Size && FrameHeader.TryRead(rest, out var header, out _))
                needed = FrameHeader.Size + header.StoredLength;
            if (!Refill(needed)) return status;
        }
    }

    /// <summary>Keeps the unread rest, reads on after it; false when the file has nothing more.</summary>
    private bool Refill(int needed)
    {
        if (_eof) return false;
        int position = _frames.Position;
        int rest = _length - position;
        int target = Math.Max(needed, rest + _chunk);
        if (target > _buffer.Length)
        {
            var grown = new byte[Math.Max(target, _buffer.Length * 2)];
            _buffer.AsSpan(position, rest).CopyTo(grown);
            _buffer = grown;
        }
        else _buffer.AsSpan(position, rest).CopyTo(_buffer);
        _base += position;
        int want = target - rest;
        int n = _fs!.ReadAt(_path, _base + rest, _buffer.AsSpan(rest, want));
        if (n < want) _eof = true;
        _length = rest + n;
        _chunk = Math.Min(_chunk * 2, MaxChunk);
        _frames.Reset(_buffer.AsMemory(0, _length), zeroTailIsEnd: !_sealed);
        return n > 0;
    }

    public void Dispose() => _frames.Dispose();
}
