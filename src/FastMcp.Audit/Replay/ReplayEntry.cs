namespace FastMcp.Audit.Replay;

/// <summary>One record selected for the timeline.</summary>
public sealed record ReplayEntry(string Chain, long Sequence, long TimeMicros, byte[] Json);
