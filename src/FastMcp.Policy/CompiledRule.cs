using System.Net;
using FastMcp.Identity;

namespace FastMcp.Policy;

/// <summary>A rule after compilation: its outcome (public) and its matchers (internal, allocation-free).</summary>
public sealed class CompiledRule
{
    private readonly string[] _subjects, _anyGroups, _allGroups, _scopes, _clients;
    private readonly Utf8Glob[] _methods, _names;
    private readonly ArgumentCondition[] _arguments;

    internal CompiledRule(int index, string name, PolicyAction action, string? message, string? maskProfile,
        string[] approvers, TimeSpan approvalTimeout, ApprovalMode approvalMode, int requiredApprovals, TimeSpan grantWindow,
        string[] subjects, string[] anyGroups, string[] allGroups, string[] scopes, string[] clients,
        Utf8Glob[] methods, Utf8Glob[] names, ArgumentCondition[] arguments)
    {
        Index = index;
        Name = name;
        Action = action;
        Message = message;
        MaskProfile = maskProfile;
        Approvers = approvers;
        ApprovalTimeout = approvalTimeout;
        ApprovalMode = approvalMode;
        RequiredApprovals = requiredApprovals;
        GrantWindow = grantWindow;
        _subjects = subjects;
        _anyGroups = anyGroups;
        _allGroups = allGroups;
        _scopes = scopes;
        _clients = clients;
        _methods = methods;
        _names = names;
        _arguments = arguments;
        // Built once so a decision never formats a string.
        DefaultMessage = action switch
        {
            PolicyAction.Deny => $"denied by policy rule '{name}'",
            PolicyAction.RequireApproval => $"approval required by policy rule '{name}'",
            _ => $"allowed by policy rule '{name}'",
        };
    }

    /// <summary>Position in the policy (0-based): earlier rules win.</summary>
    public int Index { get; }
    public string Name { get; }
    public PolicyAction Action { get; }
    public string? Message { get; }
    /// <summary>allow, require_approval: the masking profile of the exchanges this rule forwards (a held call once approved, a granted one).</summary>
    public string? MaskProfile { get; }
    /// <summary>require_approval: groups whose members may approve (empty: any approver).</summary>
    public string[] Approvers { get; }
    /// <summary>require_approval: how long a held call waits before it is denied.</summary>
    public TimeSpan ApprovalTimeout { get; }
    /// <summary>require_approval: hold the request, or refuse it and grant the identical call once approved.</summary>
    public ApprovalMode ApprovalMode { get; }
    /// <summary>require_approval: distinct approvers needed.</summary>
    public int RequiredApprovals { get; }
    /// <summary>require_approval, grant mode: how long an approval admits the identical call.</summary>
    public TimeSpan GrantWindow { get; }
    public bool HasArgumentConditions => _arguments.Length > 0;
    /// <summary>Conditions on the request target's query (empty: the rule does not read it).</summary>
    internal QueryCondition[] QueryConditions { get; init; } = [];
    public bool HasQueryConditions => QueryConditions.Length > 0;
    /// <summary>allow: calls per subject per minute this rule allows (0: no budget of its own).</summary>
    public int RateLimitPerMinute { get; internal init; }
    /// <summary>allow: the budget's bucket size (calls at once per subject).</summary>
    public int RateLimitBurst { get; internal init; }
    internal string DefaultMessage { get; }
    internal bool HasMethodCondition => _methods.Length > 0;
    internal bool HasNameCondition => _names.Length > 0;
    internal Utf8Glob[] MethodPatterns => _methods;
    internal Utf8Glob[] NamePatterns => _names;

    internal bool MatchesPrincipal(Principal p)
    {
        if (_subjects.Length > 0 && Array.IndexOf(_subjects, p.Subject) < 0)
            return false;
        if (_clients.Length > 0 && (p.ClientId is null || Array.IndexOf(_clients, p.ClientId) < 0))
            return false;
        if (_anyGroups.Length > 0)
        {
            bool any = false;
            foreach (var g in _anyGroups)
            {
                if (p.IsInGroup(g))
                {
                    any = true;
                    break;
                }
            }
            if (!any)
                return false;
        }
        foreach (var g in _allGroups)
            if (!p.IsInGroup(g))
                return false;
        foreach (var s in _scopes)
            if (!p.HasScope(s))
                return false;
        return true;
    }

    /// <summary>Networks the client address must be in (with their IPv4-mapped forms; empty: any address).</summary>
    internal IPNetwork[] Networks { get; init; } = [];
    public bool HasAddressCondition => Networks.Length > 0;

    /// <summary>The "time" condition (null: any time).</summary>
    internal TimeCondition? Time { get; init; }
    public bool HasTimeCondition => Time is not null;

    /// <summary>
    /// The client is in one of the rule's networks. An unknown address (null) cannot be placed: it matches a deny or
    /// require_approval rule and no allow rule, so not knowing where a call comes from never lets it through.
    /// </summary>
    internal bool MatchesAddress(IPAddress? address) =>
        address is null ? Action != PolicyAction.Allow : IpNetworks.Contains(Networks, address);

    /// <summary>Upstream names this rule is scoped to (empty: any upstream).</summary>
    public string[] Upstreams { get; internal init; } = [];

    /// <summary>Compared by value; the gateway passes its route's name string, so nothing is allocated.</summary>
    internal bool MatchesUpstream(string? upstream)
    {
        if (Upstreams.Length == 0)
            return true;
        if (upstream is null)
            return false;
        foreach (var u in Upstreams)
            if (string.Equals(u, upstream, StringComparison.Ordinal))
                return true;
        return false;
    }

    internal bool MatchesMethod(ReadOnlySpan<byte> method)
    {
        if (_methods.Length == 0)
            return true;
        foreach (var glob in _methods)
            if (glob.IsMatch(method))
                return true;
        return false;
    }

    internal bool MatchesName(ReadOnlySpan<byte> name)
    {
        if (_names.Length == 0)
            return true;
        if (name.IsEmpty)
            return false;
        foreach (var glob in _names)
            if (glob.IsMatch(name))
                return true;
        return false;
    }

    internal bool MatchesArguments(ReadOnlySpan<byte> arguments, FastMcp.Pan.MessageCardScan? cards = null, int argumentsOffset = 0, bool wellFormed = false)
    {
        foreach (var condition in _arguments)
            if (!condition.Evaluate(arguments, uncomparableMatches: Action != PolicyAction.Allow, cards, argumentsOffset, wellFormed))
                return false;
        return true;
    }

    /// <summary>Every query condition holds on <paramref name="query"/> (the text after '?', checked readable by the engine).</summary>
    internal bool MatchesQuery(ReadOnlySpan<byte> query)
    {
        foreach (var condition in QueryConditions)
            if (!condition.Evaluate(query))
                return false;
        return true;
    }

    public override string ToString() => $"#{Index} {Name} ({Action})";
}
