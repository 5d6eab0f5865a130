namespace FastMcp.Audit.Replay;

/// <summary>One record selected for the timeline; <see cref="Verified"/> is null when replay ran without a key.</summary>
public sealed record ReplayEntry(string Chain, long Segment, long Sequence, long TimeMicros, byte[] Json)
{
    /// <summary>With a key: true only when the record's segment verified in full and no finding names it.</summary>
    public bool? Verified { get; set; }
}
