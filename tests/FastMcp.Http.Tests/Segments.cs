using System.Buffers;
using System.Text;

namespace FastMcp.Http.Tests;

/// <summary>Builds multi-segment sequences so tests can split input wherever they like.</summary>
internal sealed class Segment : ReadOnlySequenceSegment<byte>
{
    public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

    public Segment Append(ReadOnlyMemory<byte> memory)
    {
        var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
        Next = next;
        return next;
    }
}

internal static class Segments
{
    public static byte[] Ascii(string s) => Encoding.Latin1.GetBytes(s);

    /// <summary>One sequence made of the given pieces, each its own segment (empty pieces included).</summary>
    public static ReadOnlySequence<byte> Of(params byte[][] pieces)
    {
        if (pieces.Length == 0) return ReadOnlySequence<byte>.Empty;
        var first = new Segment(pieces[0]);
        Segment last = first;
        for (int i = 1; i < pieces.Length; i++) last = last.Append(pieces[i]);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    public static ReadOnlySequence<byte> SplitAt(byte[] bytes, int at) =>
        Of(bytes[..at], bytes[at..]);

    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] bytes)
    {
        var pieces = new byte[bytes.Length][];
        for (int i = 0; i < bytes.Length; i++) pieces[i] = [bytes[i]];
        return Of(pieces);
    }
}
