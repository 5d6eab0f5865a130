using System.Security.Cryptography;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;

namespace FastMcp.Audit.Verification;

/// <summary>
/// How a chain continues past a segment the writer set aside as tampered (docs/audit-format.md §7.2):
/// the next segment's v2 header (recovery <c>tampered</c>, recovered-segment n) links either to a
/// signed checkpoint of segment n (<c>prev-checkpoint</c>) or, without one, to what segment n itself
/// would have linked to. Shared by the verifier and the prover so both follow the gap the same way.
/// </summary>
public sealed class SetAsideLink
{
    /// <summary>The expectation for segment n+1; null when <see cref="Error"/> is set.</summary>
    public SegmentExpectation? Next { get; private init; }
    /// <summary>Why the link does not hold (the gap is explained but what it links to does not verify or fit).</summary>
    public string? Error { get; private init; }
    /// <summary>The header's own account of the tampering.</summary>
    public string Tampering { get; private init; } = "";
    /// <summary>The signed checkpoint of segment n the chain continues from, when there is one.</summary>
    public Checkpoint? LinkCheckpoint { get; private init; }
    public byte[]? LinkCheckpointNote { get; private init; }

    /// <summary>
    /// Reads segment n+1's header. Null when it does not say that segment <paramref name="index"/> was set aside
    /// (the gap is then unexplained: a deleted segment).
    /// </summary>
    public static SetAsideLink? Resolve(TrustedKeys keys, long index, SegmentExpectation expect, ReadOnlyMemory<byte> nextSegment)
    {
        using var frames = new FrameReader();
        frames.Reset(nextSegment);
        if (frames.Next(out var frame, out _) != FrameReadStatus.Ok || frame.Header.Kind != FrameKind.Header ||
            !SegmentHeader.TryDecode(frame.Payload.Span, out var header, out _) ||
            header!.StartState is not { Recovery: StartRecovery.Tampered } start || start.RecoveredSegment != index)
            return null;
        string tampering = start.Tampering ?? "";
        if (start.PrevCheckpoint is not { } note)
            return new SetAsideLink { Next = expect with { Index = index + 1 }, Tampering = tampering };
        if (!Checkpoint.TryDecode(note, out var cp, out var parsed, out var error))
            return Fail($"segment {index + 1} continues from a checkpoint that cannot be read: {error}");
        if (NoteSignatures.Check(keys, parsed!, cp!.KeyId, null, "checkpoint", $"the checkpoint of segment {index} that segment {index + 1} continues from") is { } bad)
            return Fail($"segment {index + 1} continues from a checkpoint of segment {index} that does not verify: {bad.Message}");
        if ((expect.Chain is not null && cp.Chain != expect.Chain) || cp.Segment != index || cp.Sequence - cp.SegmentRecords != expect.FirstSequence)
            return Fail($"segment {index + 1} continues from a checkpoint (segment {cp.Segment}, sequence {cp.Sequence}) that does not fit after segment {index - 1}");
        return new SetAsideLink
        {
            Next = new SegmentExpectation(expect.Chain ?? cp.Chain, index + 1, cp.Sequence, SHA256.HashData(note), cp.Head),
            Tampering = tampering,
            LinkCheckpoint = cp,
            LinkCheckpointNote = note,
        };

        SetAsideLink Fail(string message) => new() { Error = message, Tampering = tampering };
    }
}
