using System.Buffers.Text;
using FastMcp.Audit;
using FastMcp.Audit.Format;
using FastMcp.Audit.Verification;

namespace FastMcp.Gateway.Approvals;

/// <summary>The newest approvals.stateFile generation the audit chain's verified local tail holds, or why it holds none.</summary>
internal readonly record struct ChainGeneration(long? Generation, string? Problem);

/// <summary>
/// Binds approvals.stateFile to the signed audit chain (docs/approvals.md, "The state file"): every write's generation is
/// recorded as an ApprovalState record before the file is written, carried into each new segment, and at start the newest
/// one the chain's verified local tail holds is what a file must reach to be trusted.
/// </summary>
internal static class ApprovalStateAnchor
{
    // ApprovalState records are written by the gateway alone, with no caller's text in them: the generation is read back
    // from the start of their detail (a refusal's detail starts otherwise and is never taken for one).
    private static ReadOnlySpan<byte> DetailStart => "\"detail\":\"approvals.stateFile generation "u8;
    private const string DetailPrefix = "approvals.stateFile generation ";

    /// <summary>
    /// Sealed segments read back at start at most. Each new segment gets the generation carried into it (and every start
    /// records one), so an honest chain holds it in its newest sealed segment or the one before.
    /// </summary>
    public const int MaxSegmentsSearched = 8;

    public static string Written(long generation, ApprovalStateSnapshot s, string path) =>
        $"{DetailPrefix}{generation}: {s.Pending} pending approval(s) and {s.Grants} open grant(s), about to be written to '{path}'";

    public static string Carried(long generation, long segment) =>
        $"{DetailPrefix}{generation}: the newest written, carried into segment {segment}";

    /// <summary>The newest generation in the chain's newest sealed segments, each verified against its seal first.</summary>
    public static async Task<ChainGeneration> NewestAsync(AuditLog log)
    {
        long newest = 0;
        bool found = false;
        TailSearchResult result = await log.SearchTailAsync(AuditEventType.ApprovalState, MaxSegmentsSearched, (_, body) =>
        {
            if (TryRead(RecordLayout.ReadJson(body), out long generation))
            {
                found = true;
                newest = Math.Max(newest, generation);
            }
        }).ConfigureAwait(false);
        if (result.Failure is { } failure) return new ChainGeneration(null, $"the audit chain's tail could not be read back: {failure}");
        if (!found)
        {
            return new ChainGeneration(null, $"the audit chain's tail ({result.SegmentsRead} sealed segment(s) read) holds no approvals.stateFile generation "
                + "(a new audit directory or chain, or a chain from before generations)");
        }
        return new ChainGeneration(newest, null);
    }

    private static bool TryRead(ReadOnlySpan<byte> json, out long generation)
    {
        generation = 0;
        int at = json.IndexOf(DetailStart);
        if (at < 0) return false;
        ReadOnlySpan<byte> digits = json[(at + DetailStart.Length)..];
        return Utf8Parser.TryParse(digits, out generation, out int used) && used > 0 && generation > 0 && used < digits.Length && digits[used] == (byte)':';
    }
}
