using System.Buffers;

namespace FastMcp.Pan.Tests;

/// <summary>Test helpers that cut a buffer into pipe-like segments or feed it to a stream masker in pieces.</summary>
internal static class Segmented
{
    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    /// <summary>A sequence over <paramref name="data"/> (shared, writable) split at the given cut points.</summary>
    public static ReadOnlySequence<byte> Sequence(byte[] data, IEnumerable<int> cuts)
    {
        int[] points = cuts.Where(c => c > 0 && c < data.Length).Distinct().Order().ToArray();
        int start = 0;
        Segment? first = null, last = null;
        foreach (int end in points.Append(data.Length))
        {
            var memory = new ReadOnlyMemory<byte>(data, start, end - start);
            if (first is null) first = last = new Segment(memory, 0);
            else last = last!.Append(memory);
            start = end;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    /// <summary>Runs <paramref name="data"/> through a <see cref="PanStreamMasker"/> in reads of the given sizes.</summary>
    public static byte[] Stream(PanMasker masker, byte[] data, Func<int> nextReadSize, out long cards, out int maxHeld)
    {
        var output = new List<byte>(data.Length);
        var stream = new PanStreamMasker(masker);
        byte[] buffer = new byte[data.Length + PanStreamMasker.MaxHoldBack + 16];
        int held = 0, position = 0;
        maxHeld = 0;
        while (true)
        {
            int read = Math.Min(Math.Max(0, nextReadSize()), data.Length - position);
            Array.Copy(data, position, buffer, held, read);
            position += read;
            bool final = position == data.Length;
            int filled = held + read;
            int release = stream.Process(buffer.AsSpan(0, filled), final);
            output.AddRange(buffer.AsSpan(0, release));
            held = filled - release;
            maxHeld = Math.Max(maxHeld, held);
            Assert.Equal(held, stream.HeldBack);
            if (final) break;
            Array.Copy(buffer, release, buffer, 0, held);
        }
        cards = stream.CardsMasked;
        return output.ToArray();
    }
}
