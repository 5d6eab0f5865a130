using System.Buffers;

namespace FastMcp.Gateway.Buffers;

/// <summary>
/// Gathers many small writes (an HTTP head: a status line, one line per header) into one span of the underlying
/// writer and advances it once at <see cref="End"/>. A pipe's writer takes its lock on every Advance, and a head
/// written piece by piece advanced it two dozen times per request (issue #14 profile: the request head was the
/// largest source of lock traffic on the data path). Synchronous use only, begun and ended on one thread: one
/// instance per thread is reused.
/// </summary>
internal sealed class CoalescingBufferWriter : IBufferWriter<byte>
{
    private const int Chunk = 2048;

    [ThreadStatic]
    private static CoalescingBufferWriter? t_cached;

    private IBufferWriter<byte>? _inner;
    private Memory<byte> _memory;
    private int _buffered;

    /// <summary>A writer over <paramref name="inner"/>; call <see cref="End"/> before anything else writes to it.</summary>
    public static CoalescingBufferWriter Begin(IBufferWriter<byte> inner)
    {
        CoalescingBufferWriter writer = t_cached ??= new CoalescingBufferWriter();
        // Still in use: nested (never on the data path), or left unended by an exception. Either way a fresh one,
        // which becomes the thread's cached one: an outer user keeps its own, an abandoned one is dropped.
        if (writer._inner is not null) t_cached = writer = new CoalescingBufferWriter();
        writer._inner = inner;
        writer._memory = default;
        writer._buffered = 0;
        return writer;
    }

    public void Advance(int count)
    {
        if ((uint)count > (uint)(_memory.Length - _buffered)) throw new ArgumentOutOfRangeException(nameof(count));
        _buffered += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (sizeHint < 1) sizeHint = 1;
        if (_memory.Length - _buffered < sizeHint)
        {
            Commit();
            _memory = Inner.GetMemory(Math.Max(sizeHint, Chunk));
        }
        return _memory[_buffered..];
    }

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    /// <summary>Advances the underlying writer by everything written, once, and lets go of it.</summary>
    public void End()
    {
        Commit();
        _inner = null;
    }

    private IBufferWriter<byte> Inner => _inner ?? throw new InvalidOperationException("The writer was ended.");

    private void Commit()
    {
        if (_buffered > 0) Inner.Advance(_buffered);
        _buffered = 0;
        _memory = default;
    }
}
