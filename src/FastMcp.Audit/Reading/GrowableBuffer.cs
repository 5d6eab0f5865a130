using System.Buffers;

namespace FastMcp.Audit.Reading;

/// <summary>A reusable, growable byte buffer (IBufferWriter) that keeps its array between uses so steady state allocates nothing.</summary>
public sealed class GrowableBuffer(int initialCapacity = 64 * 1024) : IBufferWriter<byte>
{
    private byte[] _array = new byte[initialCapacity];
    private int _written;

    public int WrittenCount => _written;
    public ReadOnlySpan<byte> WrittenSpan => _array.AsSpan(0, _written);
    public ReadOnlyMemory<byte> WrittenMemory => _array.AsMemory(0, _written);
    public byte[] RawArray => _array;

    public void Clear() => _written = 0;

    /// <summary>Drops everything written after <paramref name="length"/> (undoes a partly serialized record).</summary>
    public void TruncateTo(int length) => _written = length;

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0) { Ensure(sizeHint); return _array.AsMemory(_written); }

    public Span<byte> GetSpan(int sizeHint = 0) { Ensure(sizeHint); return _array.AsSpan(_written); }

    public void Write(ReadOnlySpan<byte> data)
    {
        data.CopyTo(GetSpan(data.Length));
        _written += data.Length;
    }

    private void Ensure(int sizeHint)
    {
        if (sizeHint < 1) sizeHint = 256;
        if (_array.Length - _written >= sizeHint) return;
        int newSize = Math.Max(_array.Length * 2, _written + sizeHint);
        Array.Resize(ref _array, newSize);
    }
}
