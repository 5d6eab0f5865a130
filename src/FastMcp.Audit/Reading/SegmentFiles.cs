using FastMcp.Audit.Format;

namespace FastMcp.Audit.Reading;

/// <summary>Small helpers over whole segment files.</summary>
public static class SegmentFiles
{
    /// <summary>The seal note of a sealed segment (its last frame), or null when the data does not end in one.</summary>
    public static byte[]? FindSealNote(ReadOnlyMemory<byte> segment)
    {
        using var reader = new FrameReader();
        reader.Reset(segment);
        byte[]? seal = null;
        while (true)
        {
            var status = reader.Next(out var frame, out _);
            if (status != FrameReadStatus.Ok) return status == FrameReadStatus.End ? seal : null;
            seal = frame.Header.Kind == FrameKind.Seal ? frame.Payload.ToArray() : null;
        }
    }
}
