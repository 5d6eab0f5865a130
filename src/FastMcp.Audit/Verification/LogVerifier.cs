using System.Security.Cryptography;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Reading;
using FastMcp.Audit.Shipping;

namespace FastMcp.Audit.Verification;

/// <summary>
/// Verifies every chain in a store: segment order and links, every segment in full (see
/// <see cref="SegmentWalk"/>), the store's rolling checkpoint and optionally a checkpoint the auditor
/// kept, which proves the log only grew since (no truncation, no rewrite).
/// </summary>
public sealed class LogVerifier
{
    private readonly ISegmentStore store;
    private readonly TrustedKeys keys;

    /// <summary>Verifies with several trusted keys; each segment and note is checked with the key it names.</summary>
    public LogVerifier(ISegmentStore store, TrustedKeys keys)
    {
        this.store = store;
        this.keys = keys;
    }

    public LogVerifier(ISegmentStore store, AuditPublicKey key) : this(store, TrustedKeys.Of(key)) { }

    /// <summary>Called for every verified record body (used by replay); span valid during the call.</summary>
    public SegmentWalk.RecordVisitor? OnRecord { get; set; }

    /// <summary>Bytes of segment data read (for throughput reporting).</summary>
    public long BytesRead { get; private set; }

    /// <summary>
    /// Segments of a chain walked at once (one core each). The findings do not depend on it. Replay
    /// (<see cref="OnRecord"/> set) always walks one segment at a time, in order.
    /// </summary>
    public int Parallelism { get; init; } = 1;

    private readonly record struct SegmentData(long Index, string Key, byte[] Data, bool Open);

    /// <summary>What the segment after a sealed one must start with (its header's link fields).</summary>
    private static SegmentExpectation Following(Seal seal, long index, ReadOnlySpan<byte> sealNote) =>
        new(seal.Chain, index + 1, seal.FirstSequence + seal.RecordCount, SHA256.HashData(sealNote), seal.Head);

    /// <summary>The expectation the segment's own final seal frame implies, unverified; null when it does not end in a readable seal.</summary>
    private static SegmentExpectation? ExpectationAfter(SegmentData segment)
    {
        if (!FrameReader.TryReadLastFrame(segment.Data, out var header, out var payload) || header.Kind != FrameKind.Seal) return null;
        return Seal.TryDecode(payload, out var seal, out _, out _) ? Following(seal!, segment.Index, payload) : null;
    }

    private static bool Same(in SegmentExpectation a, in SegmentExpectation b) =>
        a.Chain == b.Chain && a.Index == b.Index && a.FirstSequence == b.FirstSequence
        && a.PrevSeal.AsSpan().SequenceEqual(b.PrevSeal) && a.PrevHead.AsSpan().SequenceEqual(b.PrevHead);

    /// <summary>Clears what a discarded walk of a segment recorded on the checkpoints that point into it.</summary>
    private static void ForgetCaptures(IReadOnlyList<CheckpointTarget> targets)
    {
        foreach (var t in targets)
        {
            t.Reached = false;
            t.Matched = false;
        }
    }

    /// <summary>The checkpoints of each segment, ordered by segment-records, so a walk compares them in one pass.</summary>
    private static Dictionary<long, List<CheckpointTarget>> BySegment(List<CheckpointTarget> targets)
    {
        var bySegment = new Dictionary<long, List<CheckpointTarget>>();
        foreach (var t in targets)
        {
            if (!bySegment.TryGetValue(t.Checkpoint.Segment, out var list)) bySegment[t.Checkpoint.Segment] = list = new List<CheckpointTarget>();
            list.Add(t);
        }
        foreach (var list in bySegment.Values) list.Sort(static (a, b) => a.Checkpoint.SegmentRecords.CompareTo(b.Checkpoint.SegmentRecords));
        return bySegment;
    }

    private static IReadOnlyList<CheckpointTarget> TargetsOf(Dictionary<long, List<CheckpointTarget>> bySegment, long index) =>
        bySegment.TryGetValue(index, out var list) ? list : [];

    /// <summary>Published checkpoints fetched at once; they are decoded and their signatures checked one by one.</summary>
    private const int PublishedBatch = 256;

    /// <summary>Concurrent reads of published checkpoints (one small object each; an object store answers them in parallel).</summary>
    private const int PublishedReads = 16;

    /// <summary>
    /// Every checkpoint published under {chain}/checkpoints/ becomes a target, not only the newest: a chain rolled back
    /// and continued past the newest one still contradicts the older ones (docs/audit-format.md §7.3). One that cannot
    /// be read, does not verify or sits under another sequence's name is an error.
    /// </summary>
    private async Task AddPublishedAsync(ChainFiles files, List<CheckpointTarget> targets, ChainReport chain, CancellationToken ct)
    {
        var published = files.PublishedCheckpoints;
        var notes = new byte[]?[Math.Min(PublishedBatch, published.Count)];
        for (int start = 0; start < published.Count; start += PublishedBatch)
        {
            int count = Math.Min(PublishedBatch, published.Count - start);
            await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = PublishedReads, CancellationToken = ct },
                async (i, token) => notes[i] = await store.GetAsync(published[start + i].Key, token).ConfigureAwait(false)).ConfigureAwait(false);
            for (int i = 0; i < count; i++)
            {
                var (sequence, key) = published[start + i];
                if (notes[i] is not { } bytes || !Checkpoint.TryDecode(bytes, out var cp, out var note, out _))
                    chain.Errors.Add(new Finding("checkpoint", $"the published checkpoint {key} cannot be read", Object: key));
                else if (NoteSignatures.Check(keys, note!, cp!.KeyId, null, "checkpoint", $"the published checkpoint {key}") is { } bad)
                    chain.Errors.Add(new Finding(bad.Code, bad.Message, Object: key));
                else if (cp.Sequence != sequence)
                    chain.Errors.Add(new Finding("checkpoint", $"the published checkpoint {key} holds sequence {cp.Sequence}, not the one its name gives (moved in the store)", cp.Segment, cp.Sequence, Object: key));
                else
                    targets.Add(new CheckpointTarget(cp, "published checkpoint " + key, CheckpointOrigin.Published));
                notes[i] = null;
            }
        }
    }

    public async Task<VerificationReport> VerifyAsync(string location, byte[]? keptCheckpoint, CancellationToken ct = default)
    {
        var report = new VerificationReport { Location = location };
        Checkpoint? kept = null;
        if (keptCheckpoint is not null)
        {
            if (!Checkpoint.TryDecode(keptCheckpoint, out kept, out var note, out var error))
                report.Errors.Add(new Finding("kept-checkpoint", "the kept checkpoint cannot be read: " + error));
            else if (NoteSignatures.Check(keys, note!, kept!.KeyId, null, "kept-checkpoint", "the kept checkpoint") is { } bad)
                report.Errors.Add(new Finding(bad.Code, bad.Message));
            if (report.Errors.Count > 0) return report;
        }
        var chains = await ChainFiles.DiscoverAsync(store, ct).ConfigureAwait(false);
        if (chains.Count == 0) report.Errors.Add(new Finding("empty", $"no audit segments found at {location}"));
        foreach (var files in chains)
        {
            var targets = new List<CheckpointTarget>();
            if (kept is not null && (files.Chain.Length == 0 || kept.Chain == files.Chain)) targets.Add(new CheckpointTarget(kept, "kept checkpoint"));
            report.Chains.Add(await VerifyChainAsync(files, targets, ct).ConfigureAwait(false));
        }
        if (kept is not null)
        {
            var target = report.Chains.Find(c => c.Chain == kept.Chain);
            if (target is null) report.Errors.Add(new Finding("kept-checkpoint", $"no chain '{kept.Chain}' at {location}"));
            report.SinceCheckpoint = target is null ? "chain missing"
                : target.Valid ? $"log grew from {kept.Sequence} to {target.NextSequence} records since the kept checkpoint; nothing before it changed"
                : "log is NOT a continuation of the kept checkpoint";
        }
        return report;
    }

    private async Task<ChainReport> VerifyChainAsync(ChainFiles files, List<CheckpointTarget> targets, CancellationToken ct)
    {
        var chain = new ChainReport { Chain = files.Chain };
        foreach (var (index, dupKey) in files.Duplicates)
            chain.Errors.Add(new Finding("duplicate", $"segment {index} exists twice ({dupKey})", index, Object: dupKey));

        if (files.CheckpointKey is not null)
        {
            var bytes = await store.GetAsync(files.CheckpointKey, ct).ConfigureAwait(false);
            if (bytes is null || !Checkpoint.TryDecode(bytes, out var cp, out var note, out var error))
                chain.Errors.Add(new Finding("checkpoint", "the chain's checkpoint object cannot be read", Object: files.CheckpointKey));
            else if (NoteSignatures.Check(keys, note!, cp!.KeyId, null, "checkpoint", "the chain's checkpoint object") is { } bad)
                chain.Errors.Add(new Finding(bad.Code, bad.Message, Object: files.CheckpointKey));
            else
                targets.Add(new CheckpointTarget(cp!, "checkpoint object " + files.CheckpointKey, CheckpointOrigin.Object));
        }

        await AddPublishedAsync(files, targets, chain, ct).ConfigureAwait(false);

        bool stopped = false;
        // Whether the last verified segment is open (no seal): then nothing can lie in an unshipped segment after it.
        bool endsOpen = false;
        Dictionary<long, List<CheckpointTarget>> bySegment;
        // What the next segment must look like; after the walk, the segment a checkpoint past a sealed end would be in.
        var expect = new SegmentExpectation(files.Chain.Length == 0 ? null : files.Chain, 1, 0, new byte[32], new byte[32]);
        // What the previous segment says about when the writer was last alive, for downtime across restarts.
        long? previousAliveMicros = null;
        string previousEnd = "";
        RecoveryFinding? pendingRecovery = null;
        var generations = new ApprovalGenerationCheck();
        int width = OnRecord is null ? Math.Clamp(Parallelism, 1, 64) : 1;
        var walks = new SegmentWalk[width];
        for (int i = 0; i < width; i++) walks[i] = new SegmentWalk(keys) { OnRecord = OnRecord };
        try
        {
            long last = files.Segments.Count == 0 ? 0 : files.Segments.Keys.Max();
            long index = 1;
            stopped = chain.Errors.Count > 0;
            long firstLocal = files.Segments.Count == 0 ? 0 : files.Segments.Keys.Min();
            if (!stopped && files.LastSealKey is { } lastSealKey && firstLocal != 1 && !await FollowsSetAsideAsync(files, firstLocal, ct).ConfigureAwait(false))
            {
                // A writer's own folder after shipping deleted its older segments: verify it as the chain's tail.
                if (await LocalTailStartAsync(files, lastSealKey, firstLocal, targets, chain, ct).ConfigureAwait(false) is { } tail)
                {
                    expect = tail;
                    index = tail.Index;
                }
                else
                {
                    stopped = true;
                }
            }
            bySegment = BySegment(targets);
            while (index <= last && !stopped)
            {
                // A window of consecutive segments, fetched in order. A missing one ends the window
                // and is reported when the walk reaches it.
                var window = new List<SegmentData>(width);
                for (long j = index; j < index + width && j <= last; j++)
                {
                    if (!files.Segments.TryGetValue(j, out var objectKey)) break;
                    var data = await store.GetAsync(objectKey, ct).ConfigureAwait(false);
                    if (data is null) { if (window.Count == 0) chain.Errors.Add(new Finding("missing-segment", $"segment {j} vanished while reading", j, Object: objectKey)); break; }
                    window.Add(new SegmentData(j, objectKey, data, files.OpenSegments.Contains(j)));
                }
                if (window.Count == 0)
                {
                    if (!stopped && await SetAsideLinkAsync(files, index, expect, targets, chain, ct).ConfigureAwait(false) is { } relinked)
                    {
                        // The writer set this segment aside as tampered; the next one links past it (reported as an error, the walk goes on).
                        expect = relinked;
                        index++;
                        pendingRecovery = null;
                        previousAliveMicros = null;
                        continue;
                    }
                    if (!stopped)
                        chain.Errors.Add(new Finding("missing-segment", $"segment {index} is missing (deleted); segments {index + 1}..{last} cannot link", index));
                    stopped = true;
                    break;
                }

                // Segments after the first are walked against the seal their predecessor ends with,
                // before that predecessor is verified; the walk is kept only if the verified seal is
                // that same seal, and redone otherwise, so the findings are those of a walk in order.
                var provisional = new SegmentExpectation?[window.Count];
                var outcomes = new SegmentOutcome?[window.Count];
                provisional[0] = expect;
                for (int k = 1; k < window.Count; k++) provisional[k] = ExpectationAfter(window[k - 1]);
                if (window.Count == 1)
                {
                    outcomes[0] = walks[0].Walk(window[0].Data, expect, mayBeOpen: window[0].Open, TargetsOf(bySegment, window[0].Index));
                }
                else
                {
                    Parallel.For(0, window.Count, new ParallelOptions { MaxDegreeOfParallelism = width }, k =>
                    {
                        if (provisional[k] is { } e) outcomes[k] = walks[k].Walk(window[k].Data, e, mayBeOpen: window[k].Open, TargetsOf(bySegment, window[k].Index));
                    });
                }

                foreach (var item in window)
                {
                    int k = (int)(item.Index - index);
                    if (item.Open && item.Index != last) { chain.Errors.Add(new Finding("unsealed", $"segment {item.Index} is open but later segments exist", item.Index, Object: item.Key)); stopped = true; break; }
                    var outcome = outcomes[k];
                    if (outcome is null || !Same(provisional[k]!.Value, expect))
                    {
                        ForgetCaptures(TargetsOf(bySegment, item.Index));
                        outcome = walks[0].Walk(item.Data, expect, mayBeOpen: item.Open, TargetsOf(bySegment, item.Index));
                    }
                    BytesRead += item.Data.Length;
                    foreach (var w in outcome.Warnings) chain.Warnings.Add(w with { Object = item.Key });
                    chain.CheckpointsVerified += outcome.Checkpoints;
                    if (outcome.Error is { } error)
                    {
                        chain.Errors.Add(error with { Object = item.Key });
                        stopped = true;
                        break;
                    }
                    ReportStart(chain, item, outcome.Header!, ref pendingRecovery, previousAliveMicros, previousEnd);
                    if (outcome.ApprovalStates is { } states)
                        foreach (var (sequence, state) in states)
                            if (generations.Next(item.Index, sequence, state) is { } fall) chain.Errors.Add(fall with { Object = item.Key });
                    if (files.Chain.Length == 0 && chain.Chain.Length == 0) chain.Chain = outcome.Header!.Chain;
                    expect = expect with { Chain = outcome.Header!.Chain };
                    chain.SegmentsVerified++;
                    chain.VerifiedSegments.Add(item.Index);
                    chain.RecordsVerified += outcome.Records;
                    chain.NextSequence = outcome.NextSequence;
                    endsOpen = outcome.Seal is null;
                    if (outcome.Seal is { } seal)
                    {
                        if (seal.Recovered)
                        {
                            pendingRecovery = new RecoveryFinding(item.Index, outcome.Records, outcome.CoveredRecords, outcome.Records - outcome.CoveredRecords, outcome.LastCheckpointMicros, seal.SealedMicros)
                            {
                                LostRecords = Math.Max(0, outcome.Acknowledged - outcome.NextSequence),
                            };
                            chain.Recoveries.Add(pendingRecovery);
                            // The recovery seal was made at the restart; the writer was last seen alive at its last checkpoint.
                            previousAliveMicros = outcome.LastCheckpointMicros ?? outcome.Header!.CreatedMicros;
                            previousEnd = $"segment {item.Index} was left open by a crash";
                        }
                        else
                        {
                            pendingRecovery = null;
                            previousAliveMicros = seal.SealedMicros;
                            previousEnd = $"segment {item.Index} was sealed";
                        }
                        expect = Following(seal, item.Index, outcome.SealNote!);
                    }
                }
                index += window.Count;
            }
        }
        finally
        {
            foreach (var w in walks) w.Dispose();
        }

        if (!stopped) CheckTargets(chain, targets, expect, endsOpen);
        return chain;
    }

    /// <summary>
    /// Each checkpoint against what the walk found at its position. One past the end of the log is a truncation,
    /// except published ones that can only be the running writer's open segment, which is shipped once sealed:
    /// every checkpoint past the end is a published one, all in the segment right after the last sealed one and
    /// starting exactly where it ends, and the store's <c>checkpoint</c> object lies inside the log (docs/audit-format.md
    /// §7.3). A store missing a sealed segment shows a checkpoint in a later segment, or the <c>checkpoint</c> object
    /// (replaced only once its segment shipped) past the end or gone.
    /// </summary>
    private static void CheckTargets(ChainReport chain, List<CheckpointTarget> targets, SegmentExpectation next, bool endsOpen)
    {
        long lastSegment = endsOpen ? next.Index : next.Index - 1;
        bool Beyond(Checkpoint cp) => cp.Sequence > chain.NextSequence || (cp.Sequence == chain.NextSequence && cp.Segment > lastSegment);
        bool InNextSegment(Checkpoint cp) => !endsOpen && cp.Segment == next.Index && cp.Sequence - cp.SegmentRecords == next.FirstSequence;

        // Once a segment shipped, the store holds a checkpoint object (replaced only after its segment shipped):
        // without one inside the log, a store that lost its newest sealed segment would pass for a running gateway.
        bool openSegment = next.Index == 1;
        foreach (var t in targets)
            if (t.Source == CheckpointOrigin.Object && t.Reached && t.Checkpoint.Chain == chain.Chain) openSegment = true;
        foreach (var t in targets)
        {
            var cp = t.Checkpoint;
            if (t.Reached || t.SetAside is not null || cp.Chain != chain.Chain || !Beyond(cp)) continue;
            if (t.Source != CheckpointOrigin.Published || !InNextSegment(cp)) openSegment = false;
        }

        int unshipped = 0;
        Checkpoint? newestUnshipped = null;
        foreach (var t in targets)
        {
            var cp = t.Checkpoint;
            if (t.SetAside is not null && !t.Reached)
                chain.Errors.Add(new Finding("checkpoint-set-aside", $"{t.Origin} (segment {cp.Segment}, sequence {cp.Sequence}) cannot be checked: {t.SetAside}", cp.Segment, cp.Sequence));
            else if (cp.Chain != chain.Chain)
                chain.Errors.Add(new Finding("checkpoint", $"{t.Origin} is for chain '{cp.Chain}'"));
            else if (!t.Reached && Beyond(cp) && openSegment)
            {
                unshipped++;
                if (newestUnshipped is null || cp.Sequence > newestUnshipped.Sequence) newestUnshipped = cp;
            }
            else if (!t.Reached && Beyond(cp))
            {
                string hint = t.Source == CheckpointOrigin.Kept && InNextSegment(cp)
                    ? $"; if segment {cp.Segment} is the open segment of a gateway that is still running, it is shipped once sealed: verify again then"
                    : "";
                chain.Errors.Add(new Finding("truncated-log", $"{t.Origin} (segment {cp.Segment}, {cp.Sequence} records, signed {NoteValues.Time(cp.TimeMicros)}) is beyond the end of the log ({chain.NextSequence} records in {chain.SegmentsVerified} segments): records or segments were removed from the tail{hint}", cp.Segment, cp.Sequence));
            }
            else if (!t.Reached)
                chain.Errors.Add(new Finding("checkpoint-mismatch", $"{t.Origin} (segment {cp.Segment}, {cp.SegmentRecords} records into it, sequence {cp.Sequence}, signed {NoteValues.Time(cp.TimeMicros)}): the log runs past sequence {cp.Sequence} but segment {cp.Segment} never holds {cp.SegmentRecords} records there, so history was rewritten (a chain rolled back and continued, or a second writer on the chain id)", cp.Segment, cp.Sequence));
            else if (t.SegmentKeyId != cp.KeyId)
                chain.Errors.Add(new Finding("key-mismatch", $"{t.Origin} at sequence {cp.Sequence} names key {cp.KeyId}, segment {cp.Segment}'s header names {t.SegmentKeyId}", cp.Segment, cp.Sequence));
            else if (!t.Matched)
                chain.Errors.Add(new Finding("checkpoint-mismatch", t.Source == CheckpointOrigin.Published
                    ? $"{t.Origin} (segment {cp.Segment}, sequence {cp.Sequence}, signed {NoteValues.Time(cp.TimeMicros)}): the log's head or root there differs, so history was rewritten (a chain rolled back and continued past it, or a second writer on the chain id)"
                    : $"{t.Origin} at sequence {cp.Sequence}: the log's head or root there differs (history was rewritten)", cp.Segment, cp.Sequence));
            else
                chain.CheckpointsVerified++;
        }
        if (newestUnshipped is { } newest)
        {
            string store = next.Index == 1 ? "the store holds no segment of it yet" : $"the store ends with the seal of segment {next.Index - 1}, exactly where segment {next.Index} starts";
            chain.Warnings.Add(new Finding("open-segment-not-shipped",
                $"{unshipped} published checkpoint(s), the newest at sequence {newest.Sequence} (signed {NoteValues.Time(newest.TimeMicros)}), lie in segment {next.Index}, which is not in the store; {store}. " +
                $"While the gateway writing chain '{chain.Chain}' runs, that is its open segment, shipped once sealed. If that gateway has stopped, or segment {next.Index} does not arrive once sealed, " +
                (newest.Sequence > next.FirstSequence ? $"records {next.FirstSequence}..{newest.Sequence - 1}" : $"segment {next.Index}") + " were deleted before shipping: verify again after the segment is sealed",
                next.Index, newest.Sequence));
        }
    }

    /// <summary>
    /// True when the first local segment continues past a predecessor the writer set aside as tampered: the gap
    /// is evidence, not shipping, and the walk reports it as such (never as a local tail).
    /// </summary>
    private async Task<bool> FollowsSetAsideAsync(ChainFiles files, long firstLocal, CancellationToken ct)
    {
        if (firstLocal <= 1) return false;
        var data = await store.GetAsync(files.Segments[firstLocal], ct).ConfigureAwait(false);
        if (data is null) return false;
        using var frames = new FrameReader();
        frames.Reset(data);
        return frames.Next(out var frame, out _) == FrameReadStatus.Ok && frame.Header.Kind == FrameKind.Header &&
            SegmentHeader.TryDecode(frame.Payload.Span, out var header, out _) &&
            header!.StartState is { Recovery: StartRecovery.Tampered } start && start.RecoveredSegment == firstLocal - 1;
    }

    /// <summary>
    /// The folder is a writer's own and its first segments were shipped (and deleted locally): the walk starts at
    /// the first local segment. Its link back is verified when <c>last-seal</c> (signed) is the seal of the segment
    /// just before; otherwise the first local header's link is taken as given, and the report says so. Checkpoints
    /// about shipped segments cannot be checked here and are reported as such. Null: stop (an error was added).
    /// </summary>
    private async Task<SegmentExpectation?> LocalTailStartAsync(ChainFiles files, string lastSealKey, long firstLocal, List<CheckpointTarget> targets,
        ChainReport chain, CancellationToken ct)
    {
        var bytes = await store.GetAsync(lastSealKey, ct).ConfigureAwait(false);
        Seal? seal = null;
        AuditNote? note = null;
        string? error = "it vanished while reading";
        if (bytes is null || !Seal.TryDecode(bytes, out seal, out note, out error))
        {
            chain.Errors.Add(new Finding("last-seal", $"last-seal cannot be read: {error}", Object: lastSealKey));
            return null;
        }
        if (NoteSignatures.Check(keys, note!, seal!.KeyId, null, "seal", "last-seal") is { } bad)
        {
            chain.Errors.Add(new Finding(bad.Code, bad.Message, Object: lastSealKey));
            return null;
        }
        if (files.Chain.Length > 0 && seal.Chain != files.Chain)
        {
            chain.Errors.Add(new Finding("last-seal", $"last-seal is for chain '{seal.Chain}'", Object: lastSealKey));
            return null;
        }
        if (chain.Chain.Length == 0) chain.Chain = seal.Chain;
        SegmentExpectation afterLastSeal = Following(seal, seal.Segment, bytes);
        SegmentExpectation start;
        string where = $"shipped to the object store ({store.Describe(files.Prefix)} holds only the local tail)";
        if (firstLocal == 0)
        {
            // Everything sealed has shipped: the local state is last-seal, which the checkpoint object must equal.
            start = afterLastSeal;
            chain.NextSequence = afterLastSeal.FirstSequence;
            chain.Warnings.Add(new Finding("local-tail",
                $"no segment is in this folder: segments 1..{seal.Segment} were {where}; the chain ends at last-seal (signed, segment {seal.Segment}, sequence {afterLastSeal.FirstSequence}). Verify the store for the segments themselves",
                seal.Segment, Object: lastSealKey));
        }
        else if (firstLocal == seal.Segment + 1)
        {
            start = afterLastSeal;
            chain.Warnings.Add(new Finding("local-tail",
                $"segments 1..{seal.Segment} are not in this folder: they were {where}; segment {firstLocal} is verified against last-seal (signed seal of segment {seal.Segment})",
                firstLocal, Object: lastSealKey));
        }
        else
        {
            var data = await store.GetAsync(files.Segments[firstLocal], ct).ConfigureAwait(false);
            using var frames = new FrameReader();
            frames.Reset(data ?? []);
            if (data is null || frames.Next(out var frame, out _) != FrameReadStatus.Ok || frame.Header.Kind != FrameKind.Header ||
                !SegmentHeader.TryDecode(frame.Payload.Span, out var header, out _))
            {
                chain.Errors.Add(new Finding("header", $"segment {firstLocal} has no readable header", firstLocal, Object: files.Segments[firstLocal]));
                return null;
            }
            start = new SegmentExpectation(header!.Chain, firstLocal, header.FirstSequence, header.PrevSeal, header.PrevHead);
            chain.Warnings.Add(new Finding("local-tail",
                $"segments 1..{firstLocal - 1} are not in this folder: they were {where}; segment {firstLocal}'s link to segment {firstLocal - 1} is taken as given here and only the whole chain in the store proves it",
                firstLocal, Object: files.Segments[firstLocal]));
        }
        // Checkpoints about shipped segments: the last-seal state itself can be compared; older ones only in the store.
        for (int i = targets.Count - 1; i >= 0; i--)
        {
            var cp = targets[i].Checkpoint;
            if (cp.Segment >= start.Index) continue;
            if (cp.Segment == seal.Segment && cp.Sequence == afterLastSeal.FirstSequence)
            {
                if (cp.Head.AsSpan().SequenceEqual(seal.Head) && cp.Root.AsSpan().SequenceEqual(seal.Root))
                {
                    targets[i].Reached = true;
                    targets[i].Matched = true;
                    targets[i].SegmentKeyId = cp.KeyId == seal.KeyId ? cp.KeyId : seal.KeyId;
                    continue;
                }
                chain.Errors.Add(new Finding("checkpoint-mismatch", $"{targets[i].Origin} at sequence {cp.Sequence} differs from last-seal's head or root (history was rewritten)", cp.Segment, cp.Sequence));
            }
            else
            {
                chain.Warnings.Add(new Finding("checkpoint-shipped", $"{targets[i].Origin} (segment {cp.Segment}, sequence {cp.Sequence}) is about a shipped segment: check it against the store", cp.Segment, cp.Sequence));
            }
            targets.RemoveAt(i);
        }
        return start;
    }

    /// <summary>
    /// Segment <paramref name="index"/> is missing. When the next segment's header says the writer set
    /// it aside as tampered, verifies the link it continues from (a signed checkpoint of the missing
    /// segment, or the seal before it), reports the tampering and returns the expectation for the next
    /// segment; null when the gap is unexplained.
    /// </summary>
    private async Task<SegmentExpectation?> SetAsideLinkAsync(ChainFiles files, long index, SegmentExpectation expect, List<CheckpointTarget> targets, ChainReport chain, CancellationToken ct)
    {
        if (!files.Segments.TryGetValue(index + 1, out var nextKey)) return null;
        var data = await store.GetAsync(nextKey, ct).ConfigureAwait(false);
        if (data is null) return null;
        if (SetAsideLink.Resolve(keys, index, expect, data) is not { } resolved) return null;
        if (resolved.Error is { } linkError)
        {
            chain.Errors.Add(new Finding("tampered", linkError, index + 1, Object: nextKey));
            return null;
        }
        string link;
        SegmentExpectation next = resolved.Next!.Value;
        if (resolved.LinkCheckpoint is { } cp)
        {
            link = $"the signed checkpoint of segment {index} at sequence {cp.Sequence} (signed {NoteValues.Time(cp.TimeMicros)}); records {expect.FirstSequence}..{cp.Sequence - 1} are vouched for only by that checkpoint's head and root";
            foreach (var t in targets)
            {
                if (t.Checkpoint.Segment != index) continue;
                if (t.Checkpoint.SegmentRecords == cp.SegmentRecords)
                {
                    t.Reached = true;
                    t.Matched = t.Checkpoint.Sequence == cp.Sequence && t.Checkpoint.Head.AsSpan().SequenceEqual(cp.Head) && t.Checkpoint.Root.AsSpan().SequenceEqual(cp.Root);
                }
                else
                {
                    t.SetAside = $"segment {index} was set aside as tampered";
                }
            }
        }
        else
        {
            link = index == 1 ? "the start of the chain" : $"the seal of segment {index - 1}";
            foreach (var t in targets) if (t.Checkpoint.Segment == index) t.SetAside = $"segment {index} was set aside as tampered";
        }
        chain.Errors.Add(new Finding("tampered", $"segment {index} is missing: at restart the writer found it tampered ({resolved.Tampering}) and set it aside unsealed; segment {index + 1} continues from {link}", index, Object: nextKey));
        return next;
    }

    /// <summary>What a segment's header says about its start (version 2): tampering, crash recovery details, downtime before it.</summary>
    private static void ReportStart(ChainReport chain, SegmentData item, SegmentHeader header, ref RecoveryFinding? pendingRecovery, long? previousAliveMicros, string previousEnd)
    {
        var start = header.StartState;
        if (start?.Tampering is { } tampering && start.Recovery != StartRecovery.Tampered)
            chain.Errors.Add(new Finding("tampered", $"at the start of segment {item.Index} the writer found tampering: {tampering}", item.Index, Object: item.Key));
        if (start is { Recovery: StartRecovery.Crash })
        {
            if (pendingRecovery is { } r && r.Segment == start.RecoveredSegment)
            {
                r.CutBytes = start.CutBytes;
                // The writer may also have known a checkpoint object the segment's own frames do not hold.
                r.LostRecords = Math.Max(r.LostRecords ?? 0, start.LostRecords);
                if (r.CoveredRecords != start.CoveredRecords || r.UncoveredRecords != start.UncoveredRecords)
                    chain.Warnings.Add(new Finding("recovery", $"segment {item.Index}'s header counts {start.CoveredRecords} covered and {start.UncoveredRecords} uncovered records in segment {r.Segment}, the log shows {r.CoveredRecords} and {r.UncoveredRecords}", item.Index, Object: item.Key));
            }
            else
            {
                chain.Warnings.Add(new Finding("recovery", $"segment {item.Index}'s header says segment {start.RecoveredSegment} was recovered after a crash, but the segment before it is not sealed as recovered", item.Index, Object: item.Key));
            }
        }
        if (start is { LostRecords: > 0 })
            chain.Warnings.Add(new Finding("lost-records", $"at the start of segment {item.Index} the writer found at least {start.LostRecords} acknowledged records lost by the crash (batched durability)", item.Index, Object: item.Key));
        pendingRecovery = null;
        long? lastAlive = previousAliveMicros ?? (start is { Recovery: StartRecovery.Tampered } ? start.LastSignedMicros : null);
        if (previousAliveMicros is null && lastAlive is not null) previousEnd = $"segment {start!.RecoveredSegment} was set aside as tampered";
        if (lastAlive is { } alive)
        {
            long gapLimit = header.CheckpointIntervalMs * 1000 * 2 + 5_000_000;
            long silent = header.CreatedMicros - alive;
            if (silent > gapLimit)
                chain.Warnings.Add(new Finding("downtime", $"no signed checkpoint from {NoteValues.Time(alive)} until segment {item.Index} started at {NoteValues.Time(header.CreatedMicros)} ({silent / 1_000_000} s): {previousEnd}, the writer was down", item.Index, Object: item.Key));
        }
    }
}
