namespace FastMcp.Policy;

/// <summary>
/// One rule. Every condition that is set must hold for the rule to match (lists are "any of" unless
/// named otherwise); an unset condition matches everything.
/// </summary>
public sealed class RuleOptions
{
    /// <summary>Unique name, reported with decisions and in errors.</summary>
    public string Name { get; set; } = "";

    /// <summary>"allow", "deny" or "require_approval".</summary>
    public string Action { get; set; } = "";

    /// <summary>Message returned to the client on deny (and shown to approvers on require_approval).</summary>
    public string? Message { get; set; }

    /// <summary>Masking profile applied to the exchange when this rule allows it.</summary>
    public string? MaskProfile { get; set; }

    /// <summary>Subject is one of these (exact or glob).</summary>
    public List<string> Subjects { get; set; } = [];

    /// <summary>Caller is in at least one of these groups.</summary>
    public List<string> Groups { get; set; } = [];

    /// <summary>Caller is in every one of these groups.</summary>
    public List<string> AllGroups { get; set; } = [];

    /// <summary>Caller's token carries every one of these scopes.</summary>
    public List<string> Scopes { get; set; } = [];

    /// <summary>Client id is one of these (exact or glob).</summary>
    public List<string> Clients { get; set; } = [];

    /// <summary>MCP method is one of these (exact, or glob such as "tools/*").</summary>
    public List<string> Methods { get; set; } = [];

    /// <summary>Tool or prompt name, or resource URI, matches one of these globs. A request without a name never matches a rule that sets this.</summary>
    public List<string> Names { get; set; } = [];

    /// <summary>The call goes to one of these upstreams (names from the gateway's "upstreams"; "default" is the
    /// upstream of "upstream" + "endpointPath"). Empty: any upstream.</summary>
    public List<string> Upstreams { get; set; } = [];

    /// <summary>The client address (clientAddress's resolved address, the audit's origin.address) is in one of these CIDRs or
    /// is one of these addresses, IPv4 or IPv6. Empty: from anywhere.</summary>
    public List<string> Addresses { get; set; } = [];

    /// <summary>The gateway's clock at decision time is inside this window. Absent: at any time.</summary>
    public TimeConditionOptions? Time { get; set; }

    /// <summary>Conditions on the call's arguments; all must hold.</summary>
    public List<ArgumentConditionOptions> Arguments { get; set; } = [];

    /// <summary>Conditions on the request target's query: parameter name → one condition on its decoded value (no pointer,
    /// no numeric bounds); all must hold. While any rule sets one, a query the gateway cannot read is refused.</summary>
    public Dictionary<string, ArgumentConditionOptions>? Query { get; set; }

    /// <summary>require_approval: groups whose members may approve (empty: any approver).</summary>
    public List<string> Approvers { get; set; } = [];

    /// <summary>require_approval: how long the call may wait for a decision before it is denied.</summary>
    public int ApprovalTimeoutSeconds { get; set; } = 300;

    /// <summary>require_approval: "hold" (the call waits for the decision; the default) or "grant"
    /// (the call is refused with the approval id; once approved, the identical call from the same
    /// identity is allowed for <see cref="GrantWindowSeconds"/>).</summary>
    public string? ApprovalMode { get; set; }

    /// <summary>require_approval: how many distinct approvers must approve (default 1).</summary>
    public int? RequiredApprovals { get; set; }

    /// <summary>require_approval in grant mode: how long an approval lets the identical call through (default 600).</summary>
    public int? GrantWindowSeconds { get; set; }

    /// <summary>allow: calls this rule may allow per subject per minute on average (a token bucket); beyond it the
    /// gateway answers 429. Absent: no budget of its own.</summary>
    public int? RateLimitPerMinute { get; set; }

    /// <summary>allow with rateLimitPerMinute: calls allowed at once per subject (the bucket size; default rateLimitPerMinute).</summary>
    public int? RateLimitBurst { get; set; }
}
