using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Anchoring;

/// <summary>
/// How far the chain on this host reaches, before recovery touches it: the largest record count
/// that the local checkpoint file, last-seal, the newest sealed segment or any open segment
/// (its complete frames) vouch for.
/// </summary>
public static class LocalChainExtent
{
    /// <summary>The number of records the local chain holds (the next sequence it would write).</summary>
    public static long NextSequence(IAuditFileSystem fs, string chainDir)
    {
        long next = 0;
        long newestSealed = 0;
        var names = fs.ListFileNames(chainDir);
        foreach (string name in names)
        {
            string path = Path.Combine(chainDir, name);
            if (name == SegmentNames.CheckpointName)
            {
                if (Checkpoint.TryDecode(fs.ReadAllBytes(path), out var cp, out _, out _)) next = Math.Max(next, cp!.Sequence);
            }
            else if (name == SegmentNames.LastSealName)
            {
                if (Seal.TryDecode(fs.ReadAllBytes(path), out var seal, out _, out _)) next = Math.Max(next, seal!.FirstSequence + seal.RecordCount);
            }
            else if (SegmentNames.TryParse(name, out long index, out bool sealed_))
            {
                if (sealed_) newestSealed = Math.Max(newestSealed, index);
                else next = Math.Max(next, OpenSegmentEnd(fs.ReadAllBytes(path)));
            }
        }
        if (newestSealed > 0 && SegmentFiles.FindSealNote(fs.ReadAllBytes(Path.Combine(chainDir, SegmentNames.Sealed(newestSealed)))) is { } note
            && Seal.TryDecode(note, out var newest, out _, out _))
            next = Math.Max(next, newest!.FirstSequence + newest.RecordCount);
        return next;
    }

    /// <summary>First sequence plus the records of every complete frame of an open segment (recovery keeps at most these).</summary>
    private static long OpenSegmentEnd(byte[] data)
    {
        using var reader = new FrameReader();
        reader.Reset(data, zeroTailIsEnd: true);
        if (reader.Next(out var first, out _) != FrameReadStatus.Ok || first.Header.Kind != FrameKind.Header
            || !SegmentHeader.TryDecode(first.Payload.Span, out var header, out _))
            return 0;
        long next = header!.FirstSequence;
        while (reader.Next(out var frame, out _) == FrameReadStatus.Ok)
        {
            if (frame.Header.Kind == FrameKind.Records) next += frame.Header.RecordCount;
        }
        return next;
    }
}
