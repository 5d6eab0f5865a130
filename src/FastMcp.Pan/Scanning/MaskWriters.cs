using System.Buffers;
using System.Runtime.InteropServices;

namespace FastMcp.Pan.Scanning;

/// <summary>Where mask bytes go: the scanner reports absolute offsets, the writer maps them to memory.</summary>
internal interface IMaskWriter
{
    void Write(long offset, scoped ReadOnlySpan<byte> bytes);
}

/// <summary>One contiguous buffer whose first byte is at absolute offset <c>baseOffset</c>.</summary>
internal ref struct SpanMaskWriter(Span<byte> buffer, long baseOffset) : IMaskWriter
{
    private readonly Span<byte> _buffer = buffer;

    public readonly void Write(long offset, scoped ReadOnlySpan<byte> bytes) =>
        bytes.CopyTo(_buffer.Slice(checked((int)(offset - baseOffset))));
}

/// <summary>Detection only: nothing is written.</summary>
internal struct NoMaskWriter : IMaskWriter
{
    public readonly void Write(long offset, scoped ReadOnlySpan<byte> bytes) { }
}

/// <summary>
/// A multi-segment sequence whose memory the caller owns and may write (pipe buffers). Masks are rare, so
/// locating the segment by slicing from the start is cheap enough and keeps no extra state.
/// </summary>
internal readonly struct SequenceMaskWriter(ReadOnlySequence<byte> sequence) : IMaskWriter
{
    public void Write(long offset, scoped ReadOnlySpan<byte> bytes)
    {
        ReadOnlySequence<byte> target = sequence.Slice(offset, bytes.Length);
        foreach (ReadOnlyMemory<byte> segment in target)
        {
            Span<byte> writable = MemoryMarshal.AsMemory(segment).Span;
            bytes[..writable.Length].CopyTo(writable);
            bytes = bytes[writable.Length..];
        }
    }
}

/// <summary>A sink that ignores finds: used when the caller only wants the count.</summary>
internal struct NoSink : IPanFindingSink
{
    public readonly void OnCardNumber(CardBrand brand, long offset, int length, ReadOnlySpan<byte> fingerprint32) { }

    public readonly void OnSensitiveData(SensitiveDataKind kind) { }
}
