using System.Globalization;
using System.Security.Cryptography;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Storage;

namespace FastMcp.Audit.Recording;

/// <summary>
/// Decides, at start, what a crash (or an intruder) left behind and where the chain continues
/// (docs/audit-format.md §8.1). A `.open` segment is sealed as recovered only when it agrees with
/// every signed statement about it: its own checkpoint frames, the `checkpoint` object and
/// `last-seal`, all verified with the public half of the signing key or a configured previous key
/// (a note naming any other key is never relied on). Only a torn tail after the last signed
/// checkpoint is cut as crash debris. Anything that contradicts a signed statement is
/// tampering: the file is renamed aside as evidence, never signed, and the next segment links to
/// the newest verified state with the discrepancy in its header.
/// </summary>
internal sealed class OpenSegmentRecovery
{
    public const string EvidenceSuffix = ".tampered";

    private readonly IAuditFileSystem _fs;
    private readonly string _dir;
    private readonly string _chain;
    private readonly AuditSigner _signer;
    private readonly ChainKeys _keys;
    private readonly int _level;
    private readonly List<string> _evidence = new();
    private readonly List<string> _notes = new();
    private readonly List<string> _tampering = new();

    /// <summary>The newest verified seal: what a new segment normally links to.</summary>
    private Seal? _seal;
    private byte[]? _sealNote;
    /// <summary>The verified checkpoint object (signed by the signing key or a configured previous key).</summary>
    private Checkpoint? _checkpoint;
    private byte[]? _checkpointNote;
    /// <summary>Newest time of any verified signed statement (seal or checkpoint) found.</summary>
    private long _lastSignedMicros;
    /// <summary>The segment that was set aside for tampering, and the newest verified checkpoint of it (the link target).</summary>
    private long _tamperedSegment;
    private Checkpoint? _linkCheckpoint;
    private byte[]? _linkCheckpointNote;
    private SegmentStart? _crash;

    private OpenSegmentRecovery(IAuditFileSystem fs, string dir, string chain, AuditSigner signer, ChainKeys keys, int level)
    {
        _fs = fs; _dir = dir; _chain = chain; _signer = signer; _keys = keys; _level = level;
    }

    /// <summary>Where the chain continues and what the new segment's header says about the start.</summary>
    public sealed record Outcome(long Index, long FirstSequence, byte[] PrevSeal, byte[] PrevHead, SegmentStart Start, AuditStartReport Report);

    /// <summary><paramref name="keys"/>: the signing key's public half and the configured previous keys; notes naming any other key are not relied on.</summary>
    public static Outcome Run(IAuditFileSystem fs, string chainDir, string chain, AuditSigner signer, ChainKeys keys, int level, long nowMicros)
    {
        var r = new OpenSegmentRecovery(fs, chainDir, chain, signer, keys, level);
        return r.Recover(nowMicros);
    }

    private Outcome Recover(long nowMicros)
    {
        long newestSealed = 0;
        var opens = new List<long>();
        foreach (var name in _fs.ListFileNames(_dir))
        {
            if (!SegmentNames.TryParse(name, out long index, out bool sealed_)) continue;
            if (sealed_) newestSealed = Math.Max(newestSealed, index);
            else opens.Add(index);
        }
        opens.Sort();
        LoadSealAnchor(newestSealed);
        LoadCheckpointObject();

        foreach (long index in opens)
        {
            if (_tamperedSegment != 0)
            {
                // Nothing after a tampered segment can link to verified state; keep it as evidence too.
                SetAside(index, $"segment {index} follows the tampered segment {_tamperedSegment}");
                continue;
            }
            InspectOpen(index);
        }

        // A checkpoint that vouches for a segment past everything on disk: the open segment was deleted.
        if (_tamperedSegment == 0 && _checkpoint is { } cp && cp.Segment > (_seal?.Segment ?? 0))
        {
            Tampered(cp.Segment, $"the checkpoint object vouches for segment {cp.Segment} ({cp.SegmentRecords} records, signed {NoteValues.Time(cp.TimeMicros)}) but that segment is missing (deleted)");
            ConsiderLink(cp, _checkpointNote!);
        }
        return Continue(nowMicros);
    }

    private Outcome Continue(long nowMicros)
    {
        string sealedAt = _seal is null ? "" : $"; previous seal: segment {_seal.Segment} at {NoteValues.Time(_seal.SealedMicros)}";
        string silence = _lastSignedMicros > 0
            ? $"; last signed checkpoint or seal {NoteValues.Time(_lastSignedMicros)}, {(nowMicros - _lastSignedMicros) / 1000} ms before this start"
            : "";
        string notes = _notes.Count == 0 ? "" : "; " + string.Join("; ", _notes);
        long lastSigned = _lastSignedMicros > 0 ? _lastSignedMicros : nowMicros;
        if (_tamperedSegment != 0)
        {
            string tampering = string.Join("; ", _tampering);
            long index = _tamperedSegment + 1;
            if (_linkCheckpoint is { } cp)
            {
                var start = new SegmentStart(StartRecovery.Tampered, _tamperedSegment, 0, 0, 0, 0, lastSigned, _linkCheckpointNote, tampering);
                string summary = $"TAMPERING: {tampering}; set aside unsealed as {string.Join(", ", _evidence)}; continuing from the signed checkpoint of segment {cp.Segment} at sequence {cp.Sequence} ({NoteValues.Time(cp.TimeMicros)}){silence}{notes}";
                return new Outcome(index, cp.Sequence, SHA256.HashData(_linkCheckpointNote!), cp.Head, start, Report(summary, tampering));
            }
            var (first, prevSeal, prevHead) = AfterSeal();
            var sealStart = new SegmentStart(StartRecovery.Tampered, _tamperedSegment, 0, 0, 0, 0, lastSigned, null, tampering);
            string text = $"TAMPERING: {tampering}; set aside unsealed as {string.Join(", ", _evidence)}; no signed checkpoint of segment {_tamperedSegment} exists, continuing from {(_seal is null ? "the chain start" : $"the seal of segment {_seal.Segment}")}{silence}{notes}";
            return new Outcome(index, first, prevSeal, prevHead, sealStart, Report(text, tampering));
        }
        // Tampering with a signed note (checkpoint object, last-seal) that left the segments consistent: reported, the chain continues normally.
        string? noteTampering = _tampering.Count == 0 ? null : string.Join("; ", _tampering);
        string tamperingText = noteTampering is null ? ""
            : _evidence.Count == 0 ? $"TAMPERING: {noteTampering}; "
            : $"TAMPERING: {noteTampering}; set aside as {string.Join(", ", _evidence)}; ";
        var (firstSequence, seal, head) = AfterSeal();
        long next = (_seal?.Segment ?? 0) + 1;
        if (_crash is { } crash)
        {
            string summary = $"{tamperingText}crash recovery of segment {crash.RecoveredSegment}: {crash.CoveredRecords + crash.UncoveredRecords} records kept, " +
                $"{crash.CoveredRecords} covered by a signed checkpoint, {crash.UncoveredRecords} written after the last signed checkpoint (not covered by any signature before this recovery), " +
                $"{crash.CutBytes} bytes of torn tail cut" +
                (crash.LostRecords > 0 ? $"; at least {crash.LostRecords} acknowledged records lost (answered before they were durable: batched durability)" : "") +
                $"{silence}{notes}";
            return new Outcome(next, firstSequence, seal, head, crash with { LastSignedMicros = lastSigned, Tampering = noteTampering }, Report(summary, noteTampering));
        }
        string clean = $"{tamperingText}clean start{sealedAt}{silence}{notes}";
        return new Outcome(next, firstSequence, seal, head, SegmentStart.Clean(lastSigned) with { Tampering = noteTampering }, Report(clean, noteTampering));
    }

    private AuditStartReport Report(string summary, string? tampering) => new() { Summary = summary, Tampering = tampering, Evidence = _evidence.ToArray() };

    private (long FirstSequence, byte[] PrevSeal, byte[] PrevHead) AfterSeal() =>
        _seal is null ? (0, new byte[32], new byte[32]) : (_seal.FirstSequence + _seal.RecordCount, SHA256.HashData(_sealNote!), _seal.Head);

    // ---- the signed statements the open segment is judged against ----

    /// <summary>The newest seal from the newest sealed segment or last-seal (kept after shipping deleted local segments), verified.</summary>
    private void LoadSealAnchor(long newestSealed)
    {
        if (newestSealed > 0)
        {
            var note = SegmentFiles.FindSealNote(_fs.ReadAllBytes(Path.Combine(_dir, SegmentNames.Sealed(newestSealed))));
            if (note is null || !Seal.TryDecode(note, out var seal, out var parsed, out _))
                throw new AuditTamperingException($"segment {newestSealed} in {_dir} has no valid seal; refusing to continue the chain");
            if (seal!.Segment != newestSealed || seal.Chain != _chain)
                throw new AuditTamperingException($"{SegmentNames.Sealed(newestSealed)} holds the seal of chain '{seal.Chain}' segment {seal.Segment}; refusing to continue the chain");
            switch (_keys.Check(seal.KeyId, parsed!))
            {
                case NoteTrust.Forged:
                    throw new AuditTamperingException($"the seal of segment {newestSealed} does not verify with the signing key (forged); refusing to continue the chain from it");
                case NoteTrust.UnknownKey:
                    // Continuing would link the new segment to a state nobody can vouch for (anyone can name their own key).
                    throw new AuditTamperingException($"the seal of segment {newestSealed} {ChainKeys.Unknown(seal.KeyId)}; refusing to continue the chain from it. " +
                        $"After a signing-key rotation add the previous public key to audit.previousPublicKeys; otherwise {SegmentNames.Sealed(newestSealed)} was planted");
            }
            Anchor(seal, note);
        }
        string lastSealPath = Path.Combine(_dir, SegmentNames.LastSealName);
        if (!_fs.Exists(lastSealPath)) return;
        var kept = _fs.ReadAllBytes(lastSealPath);
        if (!Seal.TryDecode(kept, out var keptSeal, out var keptNote, out var error) || keptSeal!.Chain != _chain)
        {
            if (_seal is null)
                throw new AuditTamperingException("last-seal cannot be read or names another chain and no sealed segment is left locally to continue from; refusing to continue the chain");
            Tampered(0, "last-seal cannot be read or names another chain: " + (error ?? keptSeal!.Chain));
            SetAsideFile(lastSealPath);
            return;
        }
        var trust = _keys.Check(keptSeal.KeyId, keptNote!);
        if (trust != NoteTrust.Verified)
        {
            string why = trust == NoteTrust.Forged
                ? $"last-seal (segment {keptSeal.Segment}) does not verify with the signing key (forged)"
                : $"last-seal (segment {keptSeal.Segment}) {ChainKeys.Unknown(keptSeal.KeyId)}";
            // With the sealed segments shipped away, last-seal is the only link to the chain so far.
            if (_seal is null)
                throw new AuditTamperingException($"{why}, and no sealed segment is left locally to continue from; refusing to continue the chain" +
                    (trust == NoteTrust.UnknownKey ? ". After a signing-key rotation add the previous public key to audit.previousPublicKeys" : ""));
            Tampered(0, why);
            SetAsideFile(lastSealPath);
            return;
        }
        if (_seal is null || keptSeal.Segment > _seal.Segment) Anchor(keptSeal, kept);
        else if (keptSeal.Segment == _seal.Segment && !kept.AsSpan().SequenceEqual(_sealNote))
            Tampered(0, $"last-seal and {SegmentNames.Sealed(_seal.Segment)} hold different seals for segment {_seal.Segment}");
    }

    private void Anchor(Seal seal, byte[] note)
    {
        _seal = seal;
        _sealNote = note;
        _lastSignedMicros = Math.Max(_lastSignedMicros, seal.SealedMicros);
    }

    private void LoadCheckpointObject()
    {
        string path = Path.Combine(_dir, SegmentNames.CheckpointName);
        if (!_fs.Exists(path)) return;
        var bytes = _fs.ReadAllBytes(path);
        if (!Checkpoint.TryDecode(bytes, out var cp, out var note, out var error) || cp!.Chain != _chain)
        {
            Tampered(0, "the checkpoint object cannot be read or names another chain: " + (error ?? cp!.Chain));
            SetAsideFile(path);
            return;
        }
        var trust = _keys.Check(cp.KeyId, note!);
        if (trust != NoteTrust.Verified)
        {
            // Kept as evidence: left in place, the next checkpoint would overwrite it.
            Tampered(0, trust == NoteTrust.Forged
                ? $"the checkpoint object (segment {cp.Segment}, sequence {cp.Sequence}) does not verify with the signing key (forged)"
                : $"the checkpoint object (segment {cp.Segment}, sequence {cp.Sequence}) {ChainKeys.Unknown(cp.KeyId)}");
            SetAsideFile(path);
            return;
        }
        _checkpoint = cp;
        _checkpointNote = bytes;
        _lastSignedMicros = Math.Max(_lastSignedMicros, cp.TimeMicros);
        if (_seal is { } seal && cp.Segment == seal.Segment && (cp.SegmentRecords > seal.RecordCount ||
            (cp.SegmentRecords == seal.RecordCount && !cp.Head.AsSpan().SequenceEqual(seal.Head))))
            Tampered(0, $"the checkpoint object ({cp.SegmentRecords} records of segment {cp.Segment}) contradicts that segment's seal ({seal.RecordCount} records)");
    }

    // ---- the open segment ----

    private void InspectOpen(long index)
    {
        string path = Path.Combine(_dir, SegmentNames.Open(index));
        var data = _fs.ReadAllBytes(path);
        using var reader = new FrameReader();
        using var cursor = new ChainCursor();
        // The writer keeps an open segment zero-filled ahead of its end: zeros after the last frame are its end.
        reader.Reset(data, zeroTailIsEnd: true);
        var status = reader.Next(out var first, out _);
        if (status != FrameReadStatus.Ok || first.Header.Kind != FrameKind.Header)
        {
            if (_checkpoint is { } vouched && vouched.Segment >= index)
            {
                Reject(index, $"segment {index} has no readable header, but the checkpoint object vouches for {vouched.SegmentRecords} records in segment {vouched.Segment}");
                return;
            }
            // Not even the header was durable: nothing in it was ever acknowledged.
            _fs.Delete(path);
            _notes.Add($"segment {index} had no complete header and was discarded ({data.Length} bytes)");
            return;
        }
        var headerNote = first.Payload.ToArray();
        if (!SegmentHeader.TryDecode(headerNote, out var header, out var error) || header!.Segment != index || header.Chain != _chain)
        {
            Reject(index, $"segment {index}'s header is not a header of chain '{_chain}' segment {index}: {error ?? $"chain '{header!.Chain}' segment {header.Segment}"}");
            return;
        }
        if (LinkProblem(index, header) is { } link)
        {
            Reject(index, link);
            return;
        }

        var headerHash = SHA256.HashData(headerNote);
        cursor.StartSegment(headerNote, header.FirstSequence);
        var chain = new byte[32];
        long covered = 0, keptLength = reader.Position, acknowledged = 0;
        bool objectReached = false, objectMatched = false;
        string? tampering = null, cutReason = null;
        byte[]? sealNote = null;
        Capture();
        while (tampering is null && sealNote is null)
        {
            long offset = reader.Position;
            status = reader.Next(out var frame, out error);
            if (status == FrameReadStatus.End) break;
            if (status != FrameReadStatus.Ok)
            {
                // An incomplete frame, or one whose CRC fails: what a crash during a write leaves.
                cutReason = $"{(status == FrameReadStatus.Torn ? "incomplete" : "unreadable")} frame at offset {offset}: {error}";
                break;
            }
            switch (frame.Header.Kind)
            {
                case FrameKind.Records:
                {
                    // A complete frame with a good CRC is never a torn write: any inconsistency in it was made.
                    var it = new RecordIterator(frame.Payload.Span);
                    for (int i = 0; i < frame.Header.RecordCount && tampering is null; i++)
                    {
                        long seq = cursor.NextSequence;
                        if (!it.TryNext(out var body, out var stored, out error)) tampering = $"record {seq} at offset {offset}: {error}";
                        else if (!cursor.Append(body, chain, out error)) tampering = $"offset {offset}: {error}";
                        else if (!stored.SequenceEqual(chain)) tampering = $"record {seq} at offset {offset}: chain hash mismatch";
                        else Capture();
                    }
                    if (tampering is null && !it.AtEnd) tampering = $"records frame at offset {offset} has bytes after its last record";
                    break;
                }
                case FrameKind.Checkpoint:
                    tampering = CheckFrame(index, header, frame.Payload.Span, cursor, offset, ref covered, ref acknowledged);
                    break;
                case FrameKind.Seal:
                    tampering = CheckSeal(index, header, frame.Payload.Span, cursor, headerHash, offset);
                    if (tampering is null && reader.Position != data.Length) tampering = $"bytes after the seal at offset {offset}";
                    if (tampering is null) sealNote = frame.Payload.ToArray();
                    break;
                default:
                    tampering = $"a second header frame at offset {offset}";
                    break;
            }
            if (tampering is null) keptLength = reader.Position;
        }
        if (tampering is not null)
        {
            Reject(index, $"segment {index}: {tampering}");
            return;
        }
        if (_checkpoint is { } cpObj && cpObj.Segment == index)
        {
            if (!objectReached)
            {
                Reject(index, $"the checkpoint object vouches for {cpObj.SegmentRecords} records in segment {index} (sequence {cpObj.Sequence}, signed {NoteValues.Time(cpObj.TimeMicros)}), the open segment holds {cursor.SegmentRecords} (records were removed)");
                return;
            }
            if (!objectMatched)
            {
                Reject(index, $"the checkpoint object at sequence {cpObj.Sequence} of segment {index} (signed {NoteValues.Time(cpObj.TimeMicros)}) differs from the open segment's records there (history was rewritten)");
                return;
            }
            covered = Math.Max(covered, cpObj.SegmentRecords);
            acknowledged = Math.Max(acknowledged, cpObj.AcknowledgedOrSequence);
        }
        if (_checkpoint is { } later && later.Segment > index)
        {
            Reject(index, $"the checkpoint object vouches for segment {later.Segment}, later than the open segment {index}");
            return;
        }

        if (sealNote is not null)
        {
            // Sealed, but the rename to .seg was lost: finish it.
            _fs.Rename(path, Path.Combine(_dir, SegmentNames.Sealed(index)));
            Seal.TryDecode(sealNote, out var s, out _, out _);
            Anchor(s!, sealNote);
            _notes.Add($"segment {index} was already sealed; renamed");
            return;
        }
        if (_seal is { } already && already.Segment >= index)
        {
            Reject(index, $"segment {index} is open but a seal for segment {already.Segment} exists");
            return;
        }
        // Answered before they were durable (batched durability) and not in the file: lost by the crash.
        long lost = Math.Max(0, acknowledged - cursor.NextSequence);
        SealRecovered(index, keptLength, ActiveSegment.TornBytes(data, keptLength), covered, cursor.SegmentRecords, lost, cutReason);

        void Capture()
        {
            if (objectReached || _checkpoint is not { } cp || cp.Segment != index || cp.SegmentRecords != cursor.SegmentRecords) return;
            objectReached = true;
            objectMatched = cp.Sequence == cursor.NextSequence && cp.Head.AsSpan().SequenceEqual(cursor.Head) && cp.Root.AsSpan().SequenceEqual(cursor.Merkle.GetRoot());
        }
    }

    /// <summary>The header must link to the verified seal before it (when that seal is known locally).</summary>
    private string? LinkProblem(long index, SegmentHeader header)
    {
        if (_seal is { } seal && seal.Segment == index - 1)
        {
            if (header.FirstSequence != seal.FirstSequence + seal.RecordCount || !header.PrevSeal.AsSpan().SequenceEqual(SHA256.HashData(_sealNote!)) || !header.PrevHead.AsSpan().SequenceEqual(seal.Head))
                return $"segment {index}'s header does not link to the signed seal of segment {seal.Segment}";
        }
        else if (_seal is null && index == 1)
        {
            if (header.FirstSequence != 0 || header.PrevSeal.AsSpan().IndexOfAnyExcept((byte)0) >= 0 || header.PrevHead.AsSpan().IndexOfAnyExcept((byte)0) >= 0)
                return "segment 1's header does not start the chain (sequence 0, zero links)";
        }
        else if (_seal is null || _seal.Segment < index - 1)
        {
            _notes.Add($"the seal before segment {index} is not available locally; its header link could not be checked");
        }
        return null;
    }

    private string? CheckFrame(long index, SegmentHeader header, ReadOnlySpan<byte> payload, ChainCursor cursor, long offset, ref long covered, ref long acknowledged)
    {
        if (!Checkpoint.TryDecode(payload, out var cp, out var note, out var error)) return $"checkpoint frame at offset {offset} cannot be read: {error}";
        switch (_keys.Check(cp!.KeyId, note!))
        {
            case NoteTrust.Forged: return $"checkpoint frame at offset {offset} does not verify with the signing key (forged)";
            case NoteTrust.UnknownKey: return $"checkpoint frame at offset {offset} {ChainKeys.Unknown(cp.KeyId)}";
        }
        if (cp.Chain == _chain && cp.Segment == index) ConsiderLink(cp, payload.ToArray());
        if (cp.Chain != _chain || cp.Segment != index || cp.Sequence != cursor.NextSequence || cp.SegmentRecords != cursor.SegmentRecords)
            return $"the signed checkpoint at offset {offset} vouches for segment {cp.Segment} sequence {cp.Sequence}, the records before it end at sequence {cursor.NextSequence} (records were removed or inserted)";
        if (!cp.Head.AsSpan().SequenceEqual(cursor.Head) || !cp.Root.AsSpan().SequenceEqual(cursor.Merkle.GetRoot()))
            return $"the signed checkpoint at sequence {cp.Sequence} (offset {offset}) differs from the records before it (history was rewritten)";
        covered = cursor.SegmentRecords;
        acknowledged = Math.Max(acknowledged, cp.AcknowledgedOrSequence);
        _lastSignedMicros = Math.Max(_lastSignedMicros, cp.TimeMicros);
        return null;
    }

    private string? CheckSeal(long index, SegmentHeader header, ReadOnlySpan<byte> payload, ChainCursor cursor, byte[] headerHash, long offset)
    {
        if (!Seal.TryDecode(payload, out var seal, out var note, out var error)) return $"seal at offset {offset} cannot be read: {error}";
        switch (_keys.Check(seal!.KeyId, note!))
        {
            case NoteTrust.Forged: return $"the seal at offset {offset} does not verify with the signing key (forged)";
            case NoteTrust.UnknownKey: return $"the seal at offset {offset} {ChainKeys.Unknown(seal.KeyId)}";
        }
        if (seal.Chain != _chain || seal.Segment != index || seal.FirstSequence != header.FirstSequence || seal.RecordCount != cursor.SegmentRecords ||
            !seal.Head.AsSpan().SequenceEqual(cursor.Head) || !seal.Root.AsSpan().SequenceEqual(cursor.Merkle.GetRoot()) || !seal.HeaderHash.AsSpan().SequenceEqual(headerHash))
            return $"the signed seal at offset {offset} differs from the segment's header or records";
        if (_seal is { } known && known.Segment == index && !payload.SequenceEqual(_sealNote))
            return "its seal differs from last-seal";
        return null;
    }

    /// <summary>An honest crash: cut the torn tail, seal what is left as recovered.</summary>
    private void SealRecovered(long index, long keptLength, long cutBytes, long covered, long records, long lost, string? cutReason)
    {
        using var seg = ActiveSegment.Resume(_fs, _dir, _signer, _level, index, out bool hadSeal, out long resumeCut)
            ?? throw new InvalidOperationException($"segment {index} vanished during recovery");
        if (hadSeal || resumeCut != cutBytes || seg.RecordCount != records || seg.CommittedLength != keptLength)
            throw new InvalidOperationException($"recovery of segment {index} disagrees with its inspection ({seg.RecordCount} records / {seg.CommittedLength} bytes vs {records} / {keptLength}); refusing to seal");
        var sealNote = seg.SealAndRename(recovered: true, AuditLog.NowMicros());
        _fs.ReplaceDurably(Path.Combine(_dir, SegmentNames.LastSealName), sealNote);
        long lastSigned = _lastSignedMicros;
        Seal.TryDecode(sealNote, out var seal, out _, out _);
        Anchor(seal!, sealNote);
        _lastSignedMicros = lastSigned; // the recovery seal is not evidence that the writer was alive before the crash
        _crash = new SegmentStart(StartRecovery.Crash, index, covered, records - covered, cutBytes, lost, 0, null, null);
        if (cutReason is not null) _notes.Add("cut at the " + cutReason);
    }

    // ---- tampering ----

    private void Reject(long index, string reason)
    {
        if (_seal is { } newer && newer.Segment >= index)
        {
            // Older than the newest seal: the chain does not pass through it; keep it as evidence and go on.
            Tampered(0, reason);
            SetAsideFile(Path.Combine(_dir, SegmentNames.Open(index)));
            return;
        }
        Tampered(index, reason);
        SetAside(index, null);
    }

    /// <summary>Records a finding; a non-zero <paramref name="segment"/> is the segment that cannot be sealed.</summary>
    private void Tampered(long segment, string reason)
    {
        _tampering.Add(reason);
        if (segment != 0 && _tamperedSegment == 0) _tamperedSegment = segment;
    }

    /// <summary>The newest verified checkpoint of the tampered segment is the state the next segment links to.</summary>
    private void ConsiderLink(Checkpoint cp, byte[] note)
    {
        if (_linkCheckpoint is null || cp.Sequence > _linkCheckpoint.Sequence)
        {
            _linkCheckpoint = cp;
            _linkCheckpointNote = note;
            _lastSignedMicros = Math.Max(_lastSignedMicros, cp.TimeMicros);
        }
    }

    private void SetAside(long index, string? reason)
    {
        if (reason is not null) _tampering.Add(reason);
        if (_tamperedSegment == 0) _tamperedSegment = index;
        // The checkpoint object's vouching for this segment is the best link when no frame in it verified.
        if (index == _tamperedSegment && _checkpoint is { } cp && cp.Segment == index) ConsiderLink(cp, _checkpointNote!);
        SetAsideFile(Path.Combine(_dir, SegmentNames.Open(index)));
    }

    /// <summary>Renames a file to NAME.tampered (or .tampered.2, ...): kept as evidence, never deleted or signed.</summary>
    private void SetAsideFile(string path)
    {
        string target = path + EvidenceSuffix;
        for (int n = 2; _fs.Exists(target); n++) target = path + EvidenceSuffix + "." + n.ToString(CultureInfo.InvariantCulture);
        _fs.Rename(path, target);
        _evidence.Add(Path.GetFileName(target));
    }
}
