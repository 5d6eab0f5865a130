namespace FastMcp.Audit;

/// <summary>
/// The audit log found evidence of tampering at start that it cannot continue past (for example the
/// newest seal, the only state a new segment could link to, does not verify). The gateway must not
/// start: recording on top of an unverifiable state would launder it.
/// </summary>
public sealed class AuditTamperingException(string message) : Exception(message);
