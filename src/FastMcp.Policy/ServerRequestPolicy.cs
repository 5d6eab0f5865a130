using FastMcp.Identity;

namespace FastMcp.Policy;

/// <summary>
/// The compiled policy.serverRequests section: decides each request an upstream sends the client before the client
/// sees it. The rules are compiled and matched by the same compiler and engine as the client rules (the request's
/// <c>params</c> object stands where a call's arguments stand; there is no name); only allow and deny apply, since
/// nobody can approve in the middle of a stream.
/// </summary>
public sealed class ServerRequestPolicy
{
    /// <summary>What runs without the section: every server request allowed (the behaviour before it existed).</summary>
    public static readonly ServerRequestPolicy AllowAll = new(PolicyEngine.CompileRuleSet([], PolicyAction.Allow, null, TimeProvider.System, PolicyEngine.DefaultSensitiveMembers));

    /// <summary>
    /// Decides a server request the gateway cannot read well enough to decide (an input request of a 2026-07-28
    /// input_required result that is not an object with a string method): denied, never passed undecided.
    /// </summary>
    public static readonly CompiledRule UnreadableRequestRule = new(-4, "(unreadable-server-request)", PolicyAction.Deny,
        "the server's request could not be read to be decided", null, [], TimeSpan.Zero, ApprovalMode.Hold, 1, TimeSpan.Zero, [], [], [], [], [], [], [], []);

    /// <summary>The refusal for a server request that cannot be read (see <see cref="UnreadableRequestRule"/>).</summary>
    public static PolicyDecision RefuseUnreadable() => new(PolicyAction.Deny, UnreadableRequestRule, null);

    private readonly PolicyEngine _engine;

    private ServerRequestPolicy(PolicyEngine engine)
    {
        _engine = engine;
        DecidesNothing = engine.Rules.Count == 0 && engine.DefaultAction == PolicyAction.Allow;
    }

    /// <summary>No rule and a default allow: every server request is allowed, so the relay need not read one to decide.</summary>
    public bool DecidesNothing { get; }

    public IReadOnlyList<CompiledRule> Rules => _engine.Rules;
    public PolicyAction DefaultAction => _engine.DefaultAction;

    /// <summary>Compiles the section; null (absent) is <see cref="AllowAll"/>. Errors are placed in "serverRequests".</summary>
    public static ServerRequestPolicy Compile(ServerRequestPolicyOptions? options) => Compile(options, TimeProvider.System);

    /// <summary>The same, deciding "time" conditions by <paramref name="clock"/>.</summary>
    public static ServerRequestPolicy Compile(ServerRequestPolicyOptions? options, TimeProvider clock) =>
        Compile(options, clock, PolicyEngine.DefaultSensitiveMembers);

    /// <summary>The same, containsSensitiveData looking for <paramref name="sensitiveMembers"/> (masking's names).</summary>
    public static ServerRequestPolicy Compile(ServerRequestPolicyOptions? options, TimeProvider clock, FastMcp.Pan.SensitiveMemberNames sensitiveMembers)
    {
        if (options is null) return AllowAll;
        try
        {
            var defaultAction = PolicyCompiler.ParseAction(options.DefaultAction ?? "allow", null, "defaultAction");
            if (defaultAction == PolicyAction.RequireApproval)
                throw new PolicyException(null, "defaultAction", "must be allow or deny");
            List<RuleOptions> rules = options.Rules ?? [];
            for (int i = 0; i < rules.Count; i++) CheckApplies(rules[i], i);
            // The deny message goes to the upstream that asked: it names the gateway's policy, never its internals.
            return new ServerRequestPolicy(PolicyEngine.CompileRuleSet(rules, defaultAction,
                options.DefaultMessage ?? "no server request rule of the gateway's policy allows this request", clock, sensitiveMembers));
        }
        catch (PolicyException e)
        {
            throw e.In("serverRequests");
        }
    }

    /// <summary>Refuses what a client rule may say but a server request rule cannot act on.</summary>
    private static void CheckApplies(RuleOptions? rule, int index)
    {
        if (rule is null) return; // the compiler names it
        string name = string.IsNullOrWhiteSpace(rule.Name) ? $"rules[{index}]" : rule.Name;
        if (rule.Action is "require_approval" or "requireApproval")
            throw new PolicyException(name, "action", "'require_approval' cannot apply to a server's request: nobody can approve in the middle of a stream (use allow or deny)");
        if (rule.Names is { Count: > 0 })
            throw new PolicyException(name, "names", "a server's request names no tool, prompt or resource: match it by methods or arguments (over its params)");
        if (rule.MaskProfile is not null)
            throw new PolicyException(name, "maskProfile", "does not apply to server requests (they are masked by the response masking)");
        if (rule.Approvers is { Count: > 0 })
            throw new PolicyException(name, "approvers", "does not apply to server requests");
        if (rule.Query is { Count: > 0 })
            throw new PolicyException(name, "query", "a server's request has no query (it arrives on a stream, not in a request target): match it by methods or arguments");
        // A server's request arrives on a stream the gateway holds, not from a client address: the stream owner's
        // address was decided when the stream was opened (client rules with "addresses" on GET and the opening call).
        if (rule.Addresses is { Count: > 0 })
            throw new PolicyException(name, "addresses", "a server's request comes from the upstream, not from a client address: put \"addresses\" on the client rules that open the stream");
        if (rule.RateLimitPerMinute is not null || rule.RateLimitBurst is not null)
            throw new PolicyException(name, rule.RateLimitPerMinute is not null ? "rateLimitPerMinute" : "rateLimitBurst", "does not apply to server requests");
    }

    /// <summary>
    /// Decides one server request: <paramref name="methodUtf8"/> its method, <paramref name="paramsJson"/> its params object
    /// (empty when absent), <paramref name="upstream"/> the upstream (or federated member) that sent it, <paramref name="principal"/>
    /// the caller whose stream it would reach. Allocates nothing.
    /// </summary>
    public PolicyDecision Decide(Principal principal, ReadOnlySpan<byte> methodUtf8, ReadOnlySpan<byte> paramsJson, string? upstream) =>
        _engine.Decide(new PolicyRequest(principal, methodUtf8, default, paramsJson, upstream));

    /// <summary>The same, with "time" conditions decided at <paramref name="at"/> instead of the clock's now (<c>fastmcp policy test --at</c>).</summary>
    public PolicyDecision Decide(Principal principal, ReadOnlySpan<byte> methodUtf8, ReadOnlySpan<byte> paramsJson, string? upstream, DateTimeOffset at) =>
        _engine.Decide(new PolicyRequest(principal, methodUtf8, default, paramsJson, upstream) { At = at });

    /// <summary>
    /// The error message the upstream gets for a denied request: the gateway's policy and the rule, nothing else.
    /// </summary>
    public static string DenialMessage(in PolicyDecision decision) => decision.Rule is { } rule
        ? (rule.Message is { } message ? $"{message} (gateway policy, server request rule '{rule.Name}')" : $"denied by the gateway's policy (server request rule '{rule.Name}')")
        : $"{decision.Message} (gateway policy, policy.serverRequests.defaultAction)";
}
