namespace FastMcp.Policy;

/// <summary>What a matching rule does with the request.</summary>
public enum PolicyAction : byte
{
    Allow,
    Deny,
    /// <summary>Hold the call for a human approver (answered with a JSON-RPC error until approvals exist).</summary>
    RequireApproval,
}
