using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Shipping;
using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Verification;

/// <summary>
/// What <see cref="TailRecordSearch"/> found: how many sealed segments it read, the newest one holding a record of the type
/// asked for (null when none did), why it stopped short when a segment could not be read or did not verify, and the
/// segment it stopped at because the local folder does not hold it and there is no shipping store to ask (null when it
/// reached the chain's start or read as many segments as asked).
/// </summary>
public sealed record TailSearchResult(int SegmentsRead, long? FoundInSegment, string? Failure, long? Missing = null);

/// <summary>
/// Reads the chain's newest sealed segments, newest first (from the local folder, or from the shipping store for one
/// shipping removed from it), each verified against its seal (signature with one of the chain's keys, every record's chain
/// hash, the count, head and root) before any of its records is handed to the visitor; stops after the first segment that
/// held a record of the type asked for, at the chain's start, or after <c>maxSegments</c>. Only what a seal vouches for is
/// seen: a record someone added to or changed in a segment makes that segment fail, never reach the visitor.
/// </summary>
public static class TailRecordSearch
{
    public static async Task<TailSearchResult> RunAsync(IAuditFileSystem fs, string chainDir, string chainId, ChainKeys keys, ISegmentStore? store,
        AuditEventType type, long belowSegment, int maxSegments, SegmentWalk.RecordVisitor visit, CancellationToken ct)
    {
        int read = 0;
        using var walk = new SegmentWalk(keys.Trusted);
        bool found = false;
        walk.OnRecord = (segment, body) =>
        {
            if (body.Length <= RecordLayout.BodyPrefix || body[RecordLayout.BodyPrefix - 1] != (byte)type) return;
            found = true;
            visit(segment, body);
        };
        for (long index = belowSegment - 1; index >= 1 && read < maxSegments; index--)
        {
            string name = SegmentNames.Sealed(index);
            string local = Path.Combine(chainDir, name);
            byte[]? data = null;
            try
            {
                if (fs.Exists(local)) data = fs.ReadAllBytes(local);
            }
            catch (FileNotFoundException)
            {
                // Shipping removed it between the two calls: read it from the store below.
            }
            // Shipped and removed here (after a crash its .open was sealed locally, so a sealed one is never only open).
            if (data is null && store is not null) data = await store.GetAsync(chainId + "/" + name, ct).ConfigureAwait(false);
            if (data is null)
                return store is null ? new TailSearchResult(read, null, null, index) : new TailSearchResult(read, null, $"segment {index} is neither in the local folder nor in the shipping store");
            read++;
            // The link to the previous segment is not what is asked here: the seal alone vouches for this segment's records.
            if (!TryOwnLink(data, index, chainId, out SegmentExpectation expect, out string? why)) return new TailSearchResult(read, null, $"segment {index}: {why}");
            SegmentOutcome outcome = walk.Walk(data, expect, mayBeOpen: false, []);
            if (outcome.Error is { } error) return new TailSearchResult(read, null, $"segment {index} does not verify: {error.Message}");
            if (outcome.Seal is null) return new TailSearchResult(read, null, $"segment {index} has no seal");
            if (found) return new TailSearchResult(read, index, null);
        }
        return new TailSearchResult(read, null, null);
    }

    private static bool TryOwnLink(byte[] data, long index, string chainId, out SegmentExpectation expect, out string? why)
    {
        expect = default;
        using var frames = new FrameReader();
        frames.Reset(data);
        if (frames.Next(out Frame frame, out string? error) != FrameReadStatus.Ok || frame.Header.Kind != FrameKind.Header)
        {
            why = "no readable header frame" + (error is null ? "" : ": " + error);
            return false;
        }
        if (!SegmentHeader.TryDecode(frame.Payload.Span, out SegmentHeader? header, out error))
        {
            why = "header note invalid: " + error;
            return false;
        }
        expect = new SegmentExpectation(chainId, index, header!.FirstSequence, header.PrevSeal, header.PrevHead);
        why = null;
        return true;
    }
}
