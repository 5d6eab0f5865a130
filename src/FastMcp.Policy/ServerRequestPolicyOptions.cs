namespace FastMcp.Policy;

/// <summary>
/// policy.serverRequests: the rules for requests an upstream sends the client (sampling/createMessage,
/// elicitation/create, roots/list, ping, ...). Same rule language as the client rules, first match wins; the
/// default is allow when the section is absent, so deployments written before it keep working (docs/policy.md).
/// </summary>
public sealed class ServerRequestPolicyOptions
{
    public List<RuleOptions> Rules { get; set; } = [];

    /// <summary>"allow" (the default) or "deny": what happens to a server request no rule matches.</summary>
    public string DefaultAction { get; set; } = "allow";

    /// <summary>Message sent to the upstream with the default deny.</summary>
    public string? DefaultMessage { get; set; }
}
