namespace FastMcp.Audit.Verification;

/// <summary>One problem or remark, located as precisely as the verifier can.</summary>
public sealed record Finding(string Code, string Message, long? Segment = null, long? Sequence = null, long? Offset = null, string? Object = null);

/// <summary>The result for one chain.</summary>
public sealed class ChainReport
{
    public string Chain { get; set; } = "";
    public int SegmentsVerified { get; set; }
    public long RecordsVerified { get; set; }
    /// <summary>The sequence after the last verified record (= number of records in the chain).</summary>
    public long NextSequence { get; set; }
    public int CheckpointsVerified { get; set; }
    /// <summary>Segments whose own walk found no error (replay marks their records verified unless a finding names them).</summary>
    public HashSet<long> VerifiedSegments { get; } = new();
    /// <summary>Segments sealed by crash recovery, with what a signature covered before the crash and what was cut.</summary>
    public List<RecoveryFinding> Recoveries { get; } = new();
    public List<Finding> Errors { get; } = new();
    public List<Finding> Warnings { get; } = new();
    public bool Valid => Errors.Count == 0;
}

/// <summary>
/// A segment sealed by crash recovery (`recovered: yes`). Records up to <see cref="CoveredRecords"/> were
/// covered by a signed checkpoint before the crash; the <see cref="UncoveredRecords"/> after it were first
/// signed by the recovery seal, so anyone who could write the file before the restart could have made them.
/// </summary>
public sealed record RecoveryFinding(
    long Segment, long Records, long CoveredRecords, long UncoveredRecords, long? LastCheckpointMicros, long SealedMicros)
{
    /// <summary>Bytes of torn tail cut, as the next segment's header states (null when it does not say: version 1 header or no next segment).</summary>
    public long? CutBytes { get; set; }
    /// <summary>Acknowledged records the crash lost, as far as the writer could tell (next segment's header).</summary>
    public long? LostRecords { get; set; }
}

/// <summary>The verifier's overall result. Exit code 0 when <see cref="Valid"/>, else 1.</summary>
public sealed class VerificationReport
{
    public string Location { get; set; } = "";
    public List<ChainReport> Chains { get; } = new();
    public List<Finding> Errors { get; } = new();
    /// <summary>The kept checkpoint's result, when --since-checkpoint was given.</summary>
    public string? SinceCheckpoint { get; set; }
    public bool Valid => Errors.Count == 0 && Chains.Count > 0 && Chains.TrueForAll(c => c.Valid);

    /// <summary>The first error anywhere, which the text report leads with.</summary>
    public Finding? FirstError
    {
        get
        {
            if (Errors.Count > 0) return Errors[0];
            foreach (var c in Chains) if (c.Errors.Count > 0) return c.Errors[0];
            return null;
        }
    }
}
