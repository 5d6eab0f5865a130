using System.Buffers;
using System.Text;

namespace FastMcp.Mcp.Tests;

/// <summary>Builds multi-segment ReadOnlySequence bodies, as the gateway's pipe hands them over.</summary>
internal sealed class Segment : ReadOnlySequenceSegment<byte>
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

internal static class Segments
{
    public static ReadOnlySequence<byte> Of(string json) => new(Encoding.UTF8.GetBytes(json));

    /// <summary>Splits at the given cut positions (each segment gets its own array, so nothing is shared by accident).</summary>
    public static ReadOnlySequence<byte> Split(ReadOnlySpan<byte> bytes, params int[] cuts)
    {
        var pieces = new List<byte[]>();
        int previous = 0;
        foreach (int cut in cuts)
        {
            pieces.Add(bytes[previous..cut].ToArray());
            previous = cut;
        }
        pieces.Add(bytes[previous..].ToArray());
        var first = new Segment(pieces[0], 0);
        Segment last = first;
        for (int i = 1; i < pieces.Count; i++)
        {
            last = last.Append(pieces[i]);
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Every byte in its own segment.</summary>
    public static ReadOnlySequence<byte> OneByteEach(ReadOnlySpan<byte> bytes)
    {
        var cuts = new int[Math.Max(bytes.Length - 1, 0)];
        for (int i = 0; i < cuts.Length; i++) cuts[i] = i + 1;
        return Split(bytes, cuts);
    }

    /// <summary>Text of a range of the body (for assertions only).</summary>
    public static string Text(in ReadOnlySequence<byte> body, Range range)
    {
        var (offset, length) = range.GetOffsetAndLength(checked((int)body.Length));
        return Encoding.UTF8.GetString(body.Slice(offset, length).ToArray());
    }
}
