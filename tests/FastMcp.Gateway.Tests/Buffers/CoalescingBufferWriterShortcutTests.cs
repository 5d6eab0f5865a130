using System.Buffers;
using FastMcp.Gateway.Buffers;

namespace FastMcp.Gateway.Tests.Buffers;

/// <summary>
/// The writer's spans over the array under its memory, and its own Write, against the writer before them (kept here as
/// the oracle): random writes, spans and advances over an array-backed writer and over one whose memory is no array's,
/// compared by the bytes that reach the underlying writer and by each Advance it receives.
/// </summary>
public sealed class CoalescingBufferWriterShortcutTests
{
    // The writer before the shortcut: every span through Memory<T>.Span, every write through the IBufferWriter extension.
    private sealed class OldCoalescingWriter(IBufferWriter<byte> inner) : IBufferWriter<byte>
    {
        private Memory<byte> _memory;
        private int _buffered;

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
                _memory = inner.GetMemory(Math.Max(sizeHint, 2048));
            }
            return _memory[_buffered..];
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public void End() => Commit();

        private void Commit()
        {
            if (_buffered > 0) inner.Advance(_buffered);
            _buffered = 0;
            _memory = default;
        }
    }

    /// <summary>An underlying writer that records every Advance; its memory is an array's, or (native) a memory manager's.</summary>
    private sealed class RecordingWriter(bool native) : IBufferWriter<byte>
    {
        private readonly List<byte> _written = [];
        private Memory<byte> _handed;
        public readonly List<int> Advances = [];
        public byte[] Written => [.. _written];

        public void Advance(int count)
        {
            Advances.Add(count);
            _written.AddRange(_handed.Span[..count].ToArray());
            _handed = default;
        }

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            // Some room past the hint, at an offset into its array, so offsets and lengths both matter.
            int length = Math.Max(sizeHint, 1) + 37;
            _handed = native ? new NativeLikeMemory(length + 5).Memory[5..] : new byte[length + 11].AsMemory(11);
            return _handed;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }

    private sealed class NativeLikeMemory(int length) : MemoryManager<byte>
    {
        private readonly byte[] _bytes = new byte[length];
        public override Span<byte> GetSpan() => _bytes;
        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RandomWritesSpansAndAdvancesReachTheWriterAsBefore(bool native)
    {
        var random = new Random(native ? 71 : 17);
        for (int round = 0; round < 400; round++)
        {
            var oldInner = new RecordingWriter(native);
            var newInner = new RecordingWriter(native);
            var old = new OldCoalescingWriter(oldInner);
            CoalescingBufferWriter writer = CoalescingBufferWriter.Begin(newInner);
            int ops = random.Next(1, 60);
            for (int op = 0; op < ops; op++)
            {
                switch (random.Next(4))
                {
                    case 0:
                    case 1:
                        {
                            // Mostly head-sized pieces, sometimes larger than a chunk.
                            byte[] bytes = new byte[random.Next(6) == 0 ? random.Next(1, 5000) : random.Next(1, 60)];
                            random.NextBytes(bytes);
                            BuffersExtensions.Write(old, bytes);
                            writer.Write(bytes);
                            break;
                        }
                    case 2:
                        {
                            int hint = random.Next(0, 3000);
                            Span<byte> a = old.GetSpan(hint), b = writer.GetSpan(hint);
                            Assert.Equal(a.Length, b.Length);
                            int count = random.Next(0, Math.Min(a.Length, 200) + 1);
                            for (int i = 0; i < count; i++) a[i] = b[i] = (byte)random.Next(256);
                            old.Advance(count);
                            writer.Advance(count);
                            break;
                        }
                    default:
                        {
                            int hint = random.Next(0, 100);
                            Memory<byte> a = old.GetMemory(hint), b = writer.GetMemory(hint);
                            Assert.Equal(a.Length, b.Length);
                            int count = random.Next(0, Math.Min(a.Length, 50) + 1);
                            for (int i = 0; i < count; i++) a.Span[i] = b.Span[i] = (byte)random.Next(256);
                            old.Advance(count);
                            writer.Advance(count);
                            break;
                        }
                }
            }
            old.End();
            writer.End();
            Assert.Equal(oldInner.Advances, newInner.Advances);
            Assert.Equal(oldInner.Written, newInner.Written);
        }
    }
}
