using System.Security.Cryptography;
using FastMcp.Audit.Crypto;
using FastMcp.Audit.Format;
using FastMcp.Audit.Shipping;

namespace FastMcp.Audit.Verification;

/// <summary>
/// Verifies every chain in a store: segment order and links, every segment in full (see
/// <see cref="SegmentWalk"/>), the store's rolling checkpoint and optionally a checkpoint the auditor
/// kept, which proves the log only grew since (no truncation, no rewrite).
/// </summary>
public sealed class LogVerifier(ISegmentStore store, AuditPublicKey key)
{
    /// <summary>Called for every verified record body (used by replay); span valid during the call.</summary>
    public SegmentWalk.RecordVisitor? OnRecord { get; set; }

    /// <summary>Bytes of segment data read (for throughput reporting).</summary>
    public long BytesRead { get; private set; }

    public async Task<VerificationReport> VerifyAsync(string location, byte[]? keptCheckpoint, CancellationToken ct = default)
    {
        var report = new VerificationReport { Location = location };
        Checkpoint? kept = null;
        if (keptCheckpoint is not null)
        {
            if (!Checkpoint.TryDecode(keptCheckpoint, out kept, out var note, out var error))
                report.Errors.Add(new Finding("kept-checkpoint", "the kept checkpoint cannot be read: " + error));
            else if (!key.Verify(note!.SignedBytes, note.Signature))
                report.Errors.Add(new Finding("kept-checkpoint", "the kept checkpoint's signature is invalid (forged, or another key)"));
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
            else if (!key.Verify(note!.SignedBytes, note.Signature))
                chain.Errors.Add(new Finding("checkpoint-signature", "the chain's checkpoint signature is invalid (forged or signed by another key)", Object: files.CheckpointKey));
            else
                targets.Add(new CheckpointTarget(cp!, "checkpoint object " + files.CheckpointKey));
        }

        using var walk = new SegmentWalk(key) { OnRecord = OnRecord };
        var expect = new SegmentExpectation(files.Chain.Length == 0 ? null : files.Chain, 1, 0, new byte[32], new byte[32]);
        long last = files.Segments.Count == 0 ? 0 : files.Segments.Keys.Max();
        for (long index = 1; index <= last && chain.Errors.Count == 0; index++)
        {
            if (!files.Segments.TryGetValue(index, out var objectKey))
            {
                chain.Errors.Add(new Finding("missing-segment", $"segment {index} is missing (deleted); segments {index + 1}..{last} cannot link", index));
                break;
            }
            var data = await store.GetAsync(objectKey, ct).ConfigureAwait(false);
            if (data is null) { chain.Errors.Add(new Finding("missing-segment", $"segment {index} vanished while reading", index, Object: objectKey)); break; }
            BytesRead += data.Length;
            bool open = files.OpenSegments.Contains(index);
            if (open && index != last) { chain.Errors.Add(new Finding("unsealed", $"segment {index} is open but later segments exist", index, Object: objectKey)); break; }
            var outcome = walk.Walk(data, expect, mayBeOpen: open, targets);
            foreach (var w in outcome.Warnings) chain.Warnings.Add(w with { Object = objectKey });
            chain.CheckpointsVerified += outcome.Checkpoints;
            if (outcome.Error is { } error)
            {
                chain.Errors.Add(error with { Object = objectKey });
                break;
            }
            if (files.Chain.Length == 0 && chain.Chain.Length == 0) chain.Chain = outcome.Header!.Chain;
            expect = expect with { Chain = outcome.Header!.Chain };
            chain.SegmentsVerified++;
            chain.RecordsVerified += outcome.Records;
            chain.NextSequence = outcome.NextSequence;
            if (outcome.Seal is { } seal)
            {
                if (seal.Recovered) chain.Recoveries.Add(index);
                expect = new SegmentExpectation(seal.Chain, index + 1, seal.FirstSequence + seal.RecordCount, SHA256.HashData(outcome.SealNote!), seal.Head);
            }
        }

        if (chain.Errors.Count == 0)
        {
            foreach (var t in targets)
            {
                var cp = t.Checkpoint;
                if (cp.Chain != chain.Chain)
                    chain.Errors.Add(new Finding("checkpoint", $"{t.Origin} is for chain '{cp.Chain}'"));
                else if (!t.Reached)
                    chain.Errors.Add(new Finding("truncated-log", $"{t.Origin} (segment {cp.Segment}, {cp.Sequence} records, signed {NoteValues.Time(cp.TimeMicros)}) is beyond the end of the log ({chain.NextSequence} records in {chain.SegmentsVerified} segments): records or segments were removed from the tail", cp.Segment, cp.Sequence));
                else if (!t.Matched)
                    chain.Errors.Add(new Finding("checkpoint-mismatch", $"{t.Origin} at sequence {cp.Sequence}: the log's head or root there differs (history was rewritten)", cp.Segment, cp.Sequence));
                else
                    chain.CheckpointsVerified++;
            }
        }
        return chain;
    }
}
