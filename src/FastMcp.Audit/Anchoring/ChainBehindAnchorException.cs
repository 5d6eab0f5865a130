namespace FastMcp.Audit.Anchoring;

/// <summary>
/// The local chain ends before a checkpoint already published outside the host: records were
/// deleted here (or the volume was replaced). The writer refuses to continue, since continuing
/// would hide the loss behind new, validly signed segments.
/// </summary>
public sealed class ChainBehindAnchorException(string message) : IOException(message);
