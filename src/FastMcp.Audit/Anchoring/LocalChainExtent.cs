using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Anchoring;

/// <summary>
/// How far the chain on this host reaches, before recovery touches it: the largest record count
/// that a signed statement on disk vouches for (the local checkpoint file, last-seal, the newest
/// sealed segment's seal, the newest checkpoint or seal frame of any open segment). Only notes of
/// this chain that verify with the signing key or a configured previous key count: anyone who can
/// write the folder can plant a note claiming a long chain, and one that does not verify is
/// tampering for recovery to report, not extent. Unsigned records after an open segment's last
/// checkpoint do not count either; every published checkpoint was the durable `checkpoint` file first.
/// </summary>
public static class LocalChainExtent
{
    /// <summary>The number of records the local chain holds (the next sequence it would write), as far as a verified note says.</summary>
    public static long NextSequence(IAuditFileSystem fs, string chainDir, string chain, ChainKeys keys)
    {
        long next = 0;
        long newestSealed = 0;
        foreach (string name in fs.ListFileNames(chainDir))
        {
            string path = Path.Combine(chainDir, name);
            if (name == SegmentNames.CheckpointName)
                next = Math.Max(next, CheckpointEnd(fs.ReadAllBytes(path), chain, keys));
            else if (name == SegmentNames.LastSealName)
                next = Math.Max(next, SealEnd(fs.ReadAllBytes(path), chain, keys));
            else if (SegmentNames.TryParse(name, out long index, out bool sealed_))
            {
                if (sealed_) newestSealed = Math.Max(newestSealed, index);
                else next = Math.Max(next, OpenSegmentEnd(fs.ReadAllBytes(path), chain, keys));
            }
        }
        if (newestSealed > 0 && SegmentFiles.FindSealNote(fs.ReadAllBytes(Path.Combine(chainDir, SegmentNames.Sealed(newestSealed)))) is { } note)
            next = Math.Max(next, SealEnd(note, chain, keys));
        return next;
    }

    private static long CheckpointEnd(ReadOnlySpan<byte> note, string chain, ChainKeys keys) =>
        Checkpoint.TryDecode(note, out var cp, out var parsed, out _) && cp!.Chain == chain && keys.Check(cp.KeyId, parsed!) == NoteTrust.Verified
            ? cp.Sequence : 0;

    private static long SealEnd(ReadOnlySpan<byte> note, string chain, ChainKeys keys) =>
        Seal.TryDecode(note, out var seal, out var parsed, out _) && seal!.Chain == chain && keys.Check(seal.KeyId, parsed!) == NoteTrust.Verified
            ? seal.FirstSequence + seal.RecordCount : 0;

    /// <summary>
    /// What the newest verified checkpoint or seal frame of an open segment vouches for. Frames are
    /// checked newest first and the walk stops at the first that verifies, so an honest segment costs
    /// one signature check however many checkpoints it holds.
    /// </summary>
    private static long OpenSegmentEnd(byte[] data, string chain, ChainKeys keys)
    {
        using var reader = new FrameReader();
        reader.Reset(data, zeroTailIsEnd: true);
        // Notes are stored uncompressed (codec 0): the payload is the stored bytes after the frame header.
        var signed = new List<(FrameKind Kind, long Offset, int Length)>();
        while (reader.Next(out var frame, out _) == FrameReadStatus.Ok)
        {
            if (frame.Header.Kind is FrameKind.Checkpoint or FrameKind.Seal)
                signed.Add((frame.Header.Kind, frame.Offset + FrameHeader.Size, frame.TotalLength - FrameHeader.Size));
        }
        for (int i = signed.Count - 1; i >= 0; i--)
        {
            var (kind, offset, length) = signed[i];
            var note = data.AsSpan((int)offset, length);
            long end = kind == FrameKind.Seal ? SealEnd(note, chain, keys) : CheckpointEnd(note, chain, keys);
            if (end > 0) return end;
        }
        return 0;
    }
}
