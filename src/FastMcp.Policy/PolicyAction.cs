namespace FastMcp.Policy;

/// <summary>What a matching rule does with the request.</summary>
public enum PolicyAction : byte
{
    Allow,
    Deny,
    /// <summary>Not forwarded until a human approver in the rule's groups approves the exact call.</summary>
    RequireApproval,
}

/// <summary>How a require_approval rule treats the waiting client.</summary>
public enum ApprovalMode : byte
{
    /// <summary>The request waits for the decision (or the timeout), then is forwarded or refused.</summary>
    Hold,
    /// <summary>The request is refused with the approval id; once approved, the identical call is allowed for a window.</summary>
    Grant,
}
