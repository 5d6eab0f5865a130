namespace FastMcp.Audit;

/// <summary>What an audit record describes. The numeric values are part of the segment format (byte 16 of a record body).</summary>
public enum AuditEventType : byte
{
    McpExchange,
    Denied,
    AuthenticationFailed,
    ApprovalRequested,
    ApprovalGranted,
    ApprovalDenied,
    ApprovalExpired,
    ConfigurationReloaded,
    AuditStarted,
    AuditStopped,
    AuditOutage,
    AuditRecovered,
    /// <summary>At start the writer found the log contradicting a signed checkpoint or seal; what it found and what it set aside.</summary>
    AuditTampering,
    /// <summary>At start a grant-mode approval (pending, or an open grant) was taken back from approvals.stateFile.</summary>
    ApprovalRestored,
    /// <summary>An approver took back an open grant before its window closed: the identical call needs a new approval.</summary>
    ApprovalRevoked,
    /// <summary>
    /// approvals.stateFile: the generation about to be written (success true, before the file), carried into a new segment,
    /// or a file refused at start (success false).
    /// </summary>
    ApprovalState,
    /// <summary>
    /// An answer of the admin listener that showed call data or tool definitions (the approvals API, /tools/observed), or a
    /// refused approval decision: who asked, which path and query, from where, the status; or, in aggregate, the requests
    /// refused over the per-caller record budget.
    /// </summary>
    AdminRequest,
}
