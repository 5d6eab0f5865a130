using System.Buffers.Binary;
using System.Security.Cryptography;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;

namespace FastMcp.Audit.Verification;

/// <summary>What the chain must look like where a segment starts (from the previous segment's seal).</summary>
public readonly record struct SegmentExpectation(string? Chain, long Index, long FirstSequence, byte[] PrevSeal, byte[] PrevHead);

/// <summary>Where a checkpoint the log is checked against came from.</summary>
public enum CheckpointOrigin
{
    /// <summary>Given by the auditor (--since-checkpoint).</summary>
    Kept,
    /// <summary>The store's rolling <c>checkpoint</c> object.</summary>
    Object,
    /// <summary>Published create-only under <c>{chain}/checkpoints/</c>.</summary>
    Published,
}

/// <summary>A checkpoint whose head and root must be found at (segment, sequence) in the log.</summary>
public sealed class CheckpointTarget(Checkpoint checkpoint, string origin, CheckpointOrigin source = CheckpointOrigin.Kept)
{
    public Checkpoint Checkpoint { get; } = checkpoint;
    public string Origin { get; } = origin;
    public CheckpointOrigin Source { get; } = source;
    public bool Reached { get; set; }
    public bool Matched { get; set; }
    /// <summary>Set when the position lies in a segment the writer set aside as tampered (it cannot be checked).</summary>
    public string? SetAside { get; set; }
    /// <summary>The key id of the segment the checkpoint points into, once reached (it must name the same key).</summary>
    public string? SegmentKeyId { get; set; }
}

/// <summary>What walking one segment established.</summary>
public sealed class SegmentOutcome
{
    public SegmentHeader? Header { get; set; }
    public Seal? Seal { get; set; }
    public byte[]? SealNote { get; set; }
    public long Records { get; set; }
    public int Checkpoints { get; set; }
    /// <summary>Records covered by the last verified checkpoint frame (segment-records), 0 when there is none.</summary>
    public long CoveredRecords { get; set; }
    /// <summary>Time of the last verified checkpoint frame, null when the segment has none.</summary>
    public long? LastCheckpointMicros { get; set; }
    /// <summary>The most sequences any verified checkpoint frame says were answered (version 2), else its sequence.</summary>
    public long Acknowledged { get; set; }
    public long NextSequence { get; set; }
    /// <summary>The ApprovalState records (type 15) that read as one, with their sequence, in order; null when the segment has none.</summary>
    public List<(long Sequence, ApprovalStateRecord.Reading Record)>? ApprovalStates { get; set; }
    public Finding? Error { get; set; }
    public List<Finding> Warnings { get; } = new();
}

/// <summary>
/// Checks one segment completely: every frame, every record's sequence and chain hash, every checkpoint
/// and the seal (signature and every field against recomputed values) and the link to its predecessor.
/// </summary>
public sealed class SegmentWalk : IDisposable
{
    private readonly TrustedKeys _keys;

    /// <summary>Each segment is verified with the trusted key its header names.</summary>
    public SegmentWalk(TrustedKeys keys) => _keys = keys;

    public SegmentWalk(AuditPublicKey key) : this(TrustedKeys.Of(key)) { }

    private readonly FrameReader _frames = new();
    private readonly ChainCursor _cursor = new();
    private readonly byte[] _chain = new byte[32];
    // The first checkpoint target not yet passed by the walk (targets are ordered by segment-records).
    private int _nextTarget;

    /// <summary>When set, leaf hashes are kept (for inclusion proofs).</summary>
    public List<byte[]>? LeafHashes { get => _cursor.LeafHashes; set => _cursor.LeafHashes = value; }

    /// <summary>Called for each record body (replay); the span is only valid during the call.</summary>
    public RecordVisitor? OnRecord { get; set; }

    public delegate void RecordVisitor(long segment, ReadOnlySpan<byte> body);

    /// <summary>
    /// Walks one segment. <paramref name="targets"/> are the checkpoints that name this segment, ordered by
    /// segment-records: each is compared at its position in one pass, so many checkpoints cost no more than a few.
    /// </summary>
    public SegmentOutcome Walk(ReadOnlyMemory<byte> data, SegmentExpectation expect, bool mayBeOpen, IReadOnlyList<CheckpointTarget> targets)
    {
        var outcome = new SegmentOutcome();
        _nextTarget = 0;
        _frames.Reset(data, zeroTailIsEnd: mayBeOpen);
        long segment = expect.Index;
        Finding Fail(string code, string message, long? seq = null, long? offset = null) =>
            outcome.Error = new Finding(code, message, segment, seq, offset);

        var status = _frames.Next(out var frame, out var error);
        if (status != FrameReadStatus.Ok) { Fail("frame", "segment has no readable header frame: " + (error ?? "empty"), offset: 0); return outcome; }
        if (frame.Header.Kind != FrameKind.Header) { Fail("header", "first frame is not a header", offset: 0); return outcome; }
        if (!SegmentHeader.TryDecode(frame.Payload.Span, out var header, out error)) { Fail("header", "header note invalid: " + error, offset: 0); return outcome; }
        outcome.Header = header;
        if (header!.Segment != expect.Index) { Fail("segment-order", $"file for segment {expect.Index} holds segment {header.Segment} (reordered, duplicated or renamed)", offset: 0); return outcome; }
        if (expect.Chain is not null && header.Chain != expect.Chain) { Fail("chain", $"segment belongs to chain '{header.Chain}', expected '{expect.Chain}'", offset: 0); return outcome; }
        if (header.FirstSequence != expect.FirstSequence) { Fail("sequence-gap", $"segment starts at sequence {header.FirstSequence}, previous segment ended before {expect.FirstSequence}", offset: 0); return outcome; }
        if (!header.PrevSeal.AsSpan().SequenceEqual(expect.PrevSeal)) { Fail("segment-link", "prev-seal does not match the previous segment's seal (a segment was removed, inserted or replaced)", offset: 0); return outcome; }
        if (!header.PrevHead.AsSpan().SequenceEqual(expect.PrevHead)) { Fail("segment-link", "prev-head does not match the previous segment's chain head", offset: 0); return outcome; }
        if (_keys.Find(header.KeyId) is null) { Fail("untrusted-key", $"segment header names key {header.KeyId}, which is not a trusted key (trusted: {_keys.Describe()})", offset: 0); return outcome; }
        var headerHash = SHA256.HashData(frame.Payload.Span);
        _cursor.StartSegment(frame.Payload.Span, header.FirstSequence);
        Capture(targets, header);
        long lastCheckpointMicros = header.CreatedMicros;
        long gapLimitMicros = header.CheckpointIntervalMs * 1000 * 2 + 5_000_000;

        while (true)
        {
            long offset = _frames.Position;
            status = _frames.Next(out frame, out error);
            if (status == FrameReadStatus.End)
            {
                if (mayBeOpen)
                {
                    outcome.Warnings.Add(new Finding("open", $"segment is open (being written): {_cursor.SegmentRecords} records not yet sealed, {outcome.CoveredRecords} of them covered by a signed checkpoint", segment));
                    break;
                }
                Fail("unsealed", "segment ends without a seal (truncated)", offset: offset);
                return outcome;
            }
            if (status != FrameReadStatus.Ok)
            {
                // In the writer's zero-filled reserve a frame being written (or torn by a crash) reads as unreadable, not short;
                // with anything but zeros after it, it is a damaged frame hiding the ones that follow.
                if (mayBeOpen && (status == FrameReadStatus.Torn || OnlyZerosAfterFrame(data.Span, (int)offset)))
                {
                    outcome.Warnings.Add(new Finding("open", $"open segment ends in an incomplete frame (a write in progress or a crash): {error}; {_cursor.SegmentRecords} records before it, {outcome.CoveredRecords} covered by a signed checkpoint", segment, Offset: offset));
                    break;
                }
                Fail(status == FrameReadStatus.Torn ? "truncated" : "frame", $"frame at offset {offset}: {error}", _cursor.NextSequence, offset);
                return outcome;
            }
            switch (frame.Header.Kind)
            {
                case FrameKind.Records:
                {
                    var it = new RecordIterator(frame.Payload.Span);
                    for (int i = 0; i < frame.Header.RecordCount; i++)
                    {
                        long seq = _cursor.NextSequence;
                        if (!it.TryNext(out var body, out var stored, out error)) { Fail("record", $"record {seq}: {error}", seq, offset); return outcome; }
                        if (!_cursor.Append(body, _chain, out error)) { Fail("sequence", error!, seq, offset); return outcome; }
                        if (!stored.SequenceEqual(_chain)) { Fail("chain", $"record {seq}: chain hash mismatch (the record or one before it was altered, removed or inserted)", seq, offset); return outcome; }
                        OnRecord?.Invoke(segment, body);
                        // Rare (approvals.stateFile writes): read whole only when the type byte says so.
                        if (RecordLayout.ReadType(body) == AuditEventType.ApprovalState && ApprovalStateRecord.TryRead(RecordLayout.ReadJson(body), out var state))
                            (outcome.ApprovalStates ??= []).Add((seq, state));
                        Capture(targets, header);
                    }
                    if (!it.AtEnd) { Fail("record", "records frame has bytes after its last record", _cursor.NextSequence, offset); return outcome; }
                    break;
                }
                case FrameKind.Checkpoint:
                {
                    if (!Checkpoint.TryDecode(frame.Payload.Span, out var cp, out var note, out error)) { Fail("checkpoint", "checkpoint note invalid: " + error, offset: offset); return outcome; }
                    if (cp!.Version < header.Version) { Fail("version", $"version {cp.Version} checkpoint inside a version {header.Version} segment", offset: offset); return outcome; }
                    if (NoteSignatures.Check(_keys, note!, cp.KeyId, header.KeyId, "checkpoint", $"checkpoint at sequence {cp.Sequence}") is { } bad) { Fail(bad.Code, bad.Message, offset: offset); return outcome; }
                    if (cp!.Chain != header.Chain || cp.Segment != segment || cp.Sequence != _cursor.NextSequence || cp.SegmentRecords != _cursor.SegmentRecords)
                    { Fail("checkpoint", $"checkpoint claims segment {cp.Segment} sequence {cp.Sequence}, log is at segment {segment} sequence {_cursor.NextSequence}", offset: offset); return outcome; }
                    if (!cp.Head.AsSpan().SequenceEqual(_cursor.Head) || !cp.Root.AsSpan().SequenceEqual(_cursor.Merkle.GetRoot()))
                    { Fail("checkpoint", $"checkpoint at sequence {cp.Sequence}: head or root differs from the records", offset: offset); return outcome; }
                    if (cp.TimeMicros - lastCheckpointMicros > gapLimitMicros)
                        outcome.Warnings.Add(new Finding("gap", $"no checkpoint between {NoteValues.Time(lastCheckpointMicros)} and {NoteValues.Time(cp.TimeMicros)} (interval {header.CheckpointIntervalMs} ms): the writer was down or stalled", segment));
                    lastCheckpointMicros = cp.TimeMicros;
                    outcome.Checkpoints++;
                    outcome.CoveredRecords = cp.SegmentRecords;
                    outcome.LastCheckpointMicros = cp.TimeMicros;
                    outcome.Acknowledged = Math.Max(outcome.Acknowledged, cp.AcknowledgedOrSequence);
                    break;
                }
                case FrameKind.Seal:
                {
                    if (!Seal.TryDecode(frame.Payload.Span, out var seal, out var note, out error)) { Fail("seal", "seal note invalid: " + error, offset: offset); return outcome; }
                    if (seal!.Version < header.Version) { Fail("version", $"version {seal.Version} seal on a version {header.Version} segment", offset: offset); return outcome; }
                    // Crash recovery seals with the key the gateway has now, which may differ from the one the header names.
                    if (NoteSignatures.Check(_keys, note!, seal.KeyId, seal.Recovered ? null : header.KeyId, "seal", "seal") is { } bad) { Fail(bad.Code, bad.Message, offset: offset); return outcome; }
                    if (seal.KeyId != header.KeyId)
                        outcome.Warnings.Add(new Finding("key-change", $"recovered segment sealed by key {seal.KeyId}, its header names {header.KeyId} (the key changed before crash recovery)", segment));
                    if (seal!.Chain != header.Chain || seal.Segment != segment || seal.FirstSequence != header.FirstSequence)
                    { Fail("seal", "seal names another chain, segment or first sequence", offset: offset); return outcome; }
                    if (seal.RecordCount != _cursor.SegmentRecords) { Fail("seal", $"seal counts {seal.RecordCount} records, segment holds {_cursor.SegmentRecords} (records removed or added)", offset: offset); return outcome; }
                    if (!seal.Head.AsSpan().SequenceEqual(_cursor.Head)) { Fail("seal", "seal head differs from the recomputed chain head", offset: offset); return outcome; }
                    if (!seal.Root.AsSpan().SequenceEqual(_cursor.Merkle.GetRoot())) { Fail("seal", "seal Merkle root differs from the recomputed root", offset: offset); return outcome; }
                    if (!seal.HeaderHash.AsSpan().SequenceEqual(headerHash)) { Fail("seal", "seal header hash differs from the segment header", offset: offset); return outcome; }
                    if (_frames.Position != data.Length) { Fail("trailing", "bytes after the seal", offset: _frames.Position); return outcome; }
                    outcome.Seal = seal;
                    outcome.SealNote = frame.Payload.ToArray();
                    break;
                }
                default:
                    Fail("header", "a second header frame inside the segment", offset: offset);
                    return outcome;
            }
            if (outcome.Seal is not null) break;
        }
        outcome.Records = _cursor.SegmentRecords;
        outcome.NextSequence = _cursor.NextSequence;
        return outcome;
    }

    /// <summary>
    /// True when every byte after the frame at <paramref name="offset"/> is zero. The frame ends where its header's
    /// stored-length says, when the header has the magic and an in-range length; otherwise after the header.
    /// </summary>
    private static bool OnlyZerosAfterFrame(ReadOnlySpan<byte> data, int offset)
    {
        var rest = data[offset..];
        int end = Math.Min(rest.Length, FrameHeader.Size);
        if (rest.Length >= FrameHeader.Size && BinaryPrimitives.ReadUInt32LittleEndian(rest) == FrameHeader.Magic)
        {
            uint stored = BinaryPrimitives.ReadUInt32LittleEndian(rest[8..]);
            if (stored is > 0 and <= FrameHeader.MaxPayload) end = (int)Math.Min(rest.Length, FrameHeader.Size + stored);
        }
        return !rest[end..].ContainsAnyExcept((byte)0);
    }

    /// <summary>
    /// Compares every checkpoint that points at the current position with the recomputed head and root. The targets
    /// are ordered by segment-records and the position only grows, so those behind it are passed for good.
    /// </summary>
    private void Capture(IReadOnlyList<CheckpointTarget> targets, SegmentHeader header)
    {
        long segment = header.Segment;
        long records = _cursor.SegmentRecords;
        while (_nextTarget < targets.Count && targets[_nextTarget].Checkpoint.SegmentRecords < records) _nextTarget++;
        for (int i = _nextTarget; i < targets.Count && targets[i].Checkpoint.SegmentRecords == records; i++)
        {
            var t = targets[i];
            var cp = t.Checkpoint;
            if (t.Reached || cp.Segment != segment || cp.Sequence != _cursor.NextSequence) continue;
            t.Reached = true;
            t.SegmentKeyId = header.KeyId;
            t.Matched = cp.Head.AsSpan().SequenceEqual(_cursor.Head) && cp.Root.AsSpan().SequenceEqual(_cursor.Merkle.GetRoot());
        }
    }

    public void Dispose()
    {
        _frames.Dispose();
        _cursor.Dispose();
    }
}
