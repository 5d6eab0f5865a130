using FastMcp.Pan.Scanning;

namespace FastMcp.Pan;

/// <summary>
/// Masks an unbounded stream chunk by chunk (fastmcp mask, chunked bodies, SSE). Each call masks in place and
/// returns how many leading bytes are final and may be emitted; the caller keeps the rest and passes those same
/// bytes, unchanged, at the start of the next buffer, followed by new input. The bytes held back never exceed
/// <see cref="MaxHoldBack"/>. Offsets given to sinks count from the start of the stream.
/// </summary>
/// <remarks>A mutable struct with about 2 KB of state: keep it in one place (a field or a local) and do not copy it.</remarks>
public struct PanStreamMasker
{
    /// <summary>
    /// Most bytes ever held back: a window of 7 groups of at most 19 digits, each possibly a 6-byte escape, with
    /// escaped separators, at most 172 bytes of invisible characters among them, and one unfinished escape. A group
    /// that runs past 19 digits settles the groups before it, so it holds nothing however long it runs. A track 1 name
    /// waiting for its closing '^' is held instead of digits: at most 26 characters of at most 12 bytes each.
    /// </summary>
    public const int MaxHoldBack = 1024;

    private readonly PanMasker? _masker;
    private ScanState _state;
    /// <summary>Stream offset of the first byte of the next buffer.</summary>
    private long _bufferStart;
    /// <summary>Bytes at the start of the next buffer that were already scanned (the held-back tail).</summary>
    private int _held;

    public PanStreamMasker(PanMasker masker)
    {
        ArgumentNullException.ThrowIfNull(masker);
        _masker = masker;
        _state.Reset();
    }

    /// <summary>Card numbers masked so far.</summary>
    public readonly long CardsMasked => _state.Found;

    /// <summary>Tracks (track 1 or 2 data after a card number) masked so far.</summary>
    public readonly long TracksMasked => _state.Tracks;

    /// <summary>Bytes the caller must pass again at the start of the next buffer.</summary>
    public readonly int HeldBack => _held;

    /// <summary>Stream offset of the next byte that <see cref="Process(Span{byte}, bool)"/> will release.</summary>
    public readonly long Position => _bufferStart;

    /// <summary>Masks <paramref name="buffer"/> in place; returns how many leading bytes are final.</summary>
    public int Process(Span<byte> buffer, bool isFinalBlock)
    {
        NoSink sink = default;
        return Process(buffer, isFinalBlock, ref sink);
    }

    /// <summary>Masks <paramref name="buffer"/> in place, reporting finds; returns how many leading bytes are final.</summary>
    public int Process<TSink>(Span<byte> buffer, bool isFinalBlock, ref TSink sink) where TSink : IPanFindingSink
    {
        PanMasker masker = _masker ?? throw new InvalidOperationException("PanStreamMasker must be created with a PanMasker.");
        if (buffer.Length < _held)
            throw new ArgumentException($"The buffer must start with the {_held} bytes held back by the previous call.", nameof(buffer));
        SpanMaskWriter writer = new(buffer, _bufferStart);
        PanScanner.Feed(ref _state, buffer.Slice(_held), _bufferStart + _held, masker, ref writer, ref sink);
        int release;
        if (isFinalBlock)
        {
            PanScanner.Finish(ref _state, masker, ref writer, ref sink);
            release = buffer.Length;
        }
        else
        {
            long end = _bufferStart + buffer.Length;
            release = (int)(_state.HoldFrom(end) - _bufferStart);
        }
        _held = buffer.Length - release;
        _bufferStart += release;
        return release;
    }
}
