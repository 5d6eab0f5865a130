using FastMcp.Audit;
using FastMcp.Audit.Format;
using FastMcp.Audit.Verification;

namespace FastMcp.Gateway.Approvals;

/// <summary>
/// The newest approvals.stateFile generation the audit chain's verified local tail holds, or why it holds none;
/// <paramref name="NoneRecorded"/> when the tail was read whole (no gap, no tampering found at start, at least one sealed
/// segment) and holds no generation at all: a chain from before generations (docs/approvals.md, "Upgrading").
/// </summary>
internal readonly record struct ChainGeneration(long? Generation, string? Problem, bool NoneRecorded = false);

/// <summary>
/// Binds approvals.stateFile to the signed audit chain (docs/approvals.md, "The state file"): every write's generation is
/// recorded as an ApprovalState record, durable and covered by a signed checkpoint, before the file is written, carried
/// into each new segment, and at start the newest one the chain's verified local tail holds is what a file must reach to be
/// trusted.
/// </summary>
internal static class ApprovalStateAnchor
{
    /// <summary>
    /// Sealed segments read back at start at most. Each new segment gets the generation carried into it (and every start
    /// records one), so an honest chain holds it in its newest sealed segment or the one before.
    /// </summary>
    public const int MaxSegmentsSearched = 8;

    public static string Written(long generation, ApprovalStateSnapshot s, string path) =>
        $"{ApprovalStateRecord.GenerationPrefix}{generation}: {s.Pending} pending approval(s) and {s.Grants} open grant(s), about to be written to '{path}'";

    public static string Carried(long generation, long segment) =>
        $"{ApprovalStateRecord.GenerationPrefix}{generation}: the newest written, carried into segment {segment}";

    /// <summary>
    /// The newest generation in the chain's newest sealed segments, each verified against its seal first. None when the
    /// audit log found tampering at this start: records a signed checkpoint vouched for are gone, and with them maybe the
    /// newest generation (cut from the tail after a crash, so that an older file would match what is left).
    /// </summary>
    public static async Task<ChainGeneration> NewestAsync(AuditLog log)
    {
        if (log.StartReport.Tampering is not null)
        {
            return new ChainGeneration(null, "the audit log found tampering at this start (see its AuditTampering record): records a signed checkpoint "
                + "vouched for are gone, and the newest generation may have gone with them");
        }
        long newest = 0;
        bool found = false;
        TailSearchResult result = await log.SearchTailAsync(AuditEventType.ApprovalState, MaxSegmentsSearched, (_, body) =>
        {
            if (ApprovalStateRecord.TryRead(RecordLayout.ReadJson(body), out ApprovalStateRecord.Reading r) && r.Generation > 0)
            {
                found = true;
                newest = Math.Max(newest, r.Generation);
            }
        }).ConfigureAwait(false);
        if (result.Failure is { } failure) return new ChainGeneration(null, $"the audit chain's tail could not be read back: {failure}");
        if (found) return new ChainGeneration(newest, null);
        if (result.Missing is { } missing)
        {
            return new ChainGeneration(null, $"the audit chain's tail holds no approvals.stateFile generation in the {result.SegmentsRead} sealed segment(s) read, "
                + $"and segment {missing} before them is not in the audit folder (removed; no shipping store to read it from)");
        }
        return new ChainGeneration(null, $"the audit chain's tail ({result.SegmentsRead} sealed segment(s) read) holds no approvals.stateFile generation "
            + "(a new audit directory or chain, or a chain from before generations)", NoneRecorded: result.SegmentsRead > 0 && result.FoundInSegment is null);
    }
}
