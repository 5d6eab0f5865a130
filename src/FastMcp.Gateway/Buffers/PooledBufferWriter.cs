using System.Buffers;

namespace FastMcp.Gateway.Buffers;

/// <summary>
/// A growable byte buffer rented from the shared pool when first written, and given back by
/// <see cref="Release"/> between exchanges, so an idle connection holds no buffer and a busy one
/// allocates nothing (the pool recycles the arrays).
/// </summary>
public sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private readonly int _initialCapacity;
    private byte[] _buffer = [];
    private int _written;
    private int _generation;

    public PooledBufferWriter(int initialCapacity = 4096) => _initialCapacity = Math.Max(16, initialCapacity);

    public int WrittenCount => _written;
    public Span<byte> WrittenSpan => _buffer.AsSpan(0, _written);
    public Memory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>
    /// Changes whenever written bytes are dropped (Clear, RemoveFront, Release): a reader that read the written bytes can
    /// tell they were not replaced since. Bytes written in place through <see cref="WrittenSpan"/> do not change it.
    /// </summary>
    public int Generation => _generation;

    public void Clear()
    {
        _written = 0;
        _generation++;
    }

    /// <summary>Drops <paramref name="count"/> bytes from the front, keeping the rest.</summary>
    public void RemoveFront(int count)
    {
        _generation++;
        if (count >= _written)
        {
            _written = 0;
            return;
        }
        Buffer.BlockCopy(_buffer, count, _buffer, 0, _written - count);
        _written -= count;
    }

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        if (sizeHint < 1) sizeHint = 1;
        if (_buffer.Length - _written >= sizeHint) return;
        if (_buffer.Length == 0)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(_initialCapacity, sizeHint));
            return;
        }
        int wanted = Math.Max(_buffer.Length * 2, _written + sizeHint);
        byte[] bigger = ArrayPool<byte>.Shared.Rent(wanted);
        Buffer.BlockCopy(_buffer, 0, bigger, 0, _written);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    /// <summary>Gives an oversized buffer back after a rare large message so idle connections stay small.</summary>
    public void TrimTo(int capacity)
    {
        if (_buffer.Length <= capacity || _written > capacity) return;
        byte[] smaller = ArrayPool<byte>.Shared.Rent(capacity);
        Buffer.BlockCopy(_buffer, 0, smaller, 0, _written);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = smaller;
    }

    /// <summary>Gives the array back to the pool (contents dropped); the next write rents again.</summary>
    public void Release()
    {
        byte[] b = _buffer;
        _buffer = [];
        _written = 0;
        _generation++;
        if (b.Length > 0) ArrayPool<byte>.Shared.Return(b);
    }

    public void Dispose() => Release();
}
