namespace FastMcp.Policy;

/// <summary>The policy section of the configuration: ordered rules, first match wins, default deny.
/// A plain POCO for the gateway's source-generated JSON context; the language is documented in docs/policy.md.</summary>
public sealed class PolicyOptions
{
    public List<RuleOptions> Rules { get; set; } = [];

    /// <summary>"deny" (the default) or "allow": what happens when no rule matches.</summary>
    public string DefaultAction { get; set; } = "deny";

    /// <summary>Message returned with the default deny.</summary>
    public string? DefaultMessage { get; set; }

    /// <summary>Rules for requests the upstream sends the client; absent: every such request is allowed.</summary>
    public ServerRequestPolicyOptions? ServerRequests { get; set; }
}
