namespace FastMcp.Policy;

/// <summary>Turns <see cref="PolicyOptions"/> into compiled rules, refusing anything invalid with the rule and field named.</summary>
internal static class PolicyCompiler
{
    /// <param name="sensitiveMembers">The member names containsSensitiveData looks for: masking's list (masking.sensitiveMembers).</param>
    public static CompiledRule[] CompileRules(PolicyOptions options, FastMcp.Pan.SensitiveMemberNames sensitiveMembers) =>
        CompileRules(options.Rules ?? [], sensitiveMembers);

    public static CompiledRule[] CompileRules(List<RuleOptions> options, FastMcp.Pan.SensitiveMemberNames sensitiveMembers)
    {
        var rules = new CompiledRule[options.Count];
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < options.Count; i++)
        {
            var o = options[i] ?? throw new PolicyException($"rules[{i}]", null, "rule is null");
            if (string.IsNullOrWhiteSpace(o.Name))
                throw new PolicyException($"rules[{i}]", "name", "required");
            string rule = o.Name;
            if (!names.Add(rule))
                throw new PolicyException(rule, "name", "another rule has the same name");
            var action = ParseAction(o.Action, rule, "action");
            if (o.MaskProfile is not null && string.IsNullOrWhiteSpace(o.MaskProfile))
                throw new PolicyException(rule, "maskProfile", "is blank");
            // A deny rule forwards nothing to mask; a require_approval rule's profile masks the call once approved or granted.
            if (o.MaskProfile is not null && action == PolicyAction.Deny)
                throw new PolicyException(rule, "maskProfile", "only applies to allow and require_approval rules (it chooses how the exchange it forwards is masked)");
            if (action != PolicyAction.RequireApproval && o.Approvers is { Count: > 0 })
                throw new PolicyException(rule, "approvers", "only applies to require_approval rules");
            if (action == PolicyAction.RequireApproval && o.ApprovalTimeoutSeconds is < 1 or > 86_400)
                throw new PolicyException(rule, "approvalTimeoutSeconds", "must be 1..86400");
            if (action != PolicyAction.RequireApproval && (o.ApprovalMode is not null || o.RequiredApprovals is not null || o.GrantWindowSeconds is not null))
                throw new PolicyException(rule, o.ApprovalMode is not null ? "approvalMode" : o.RequiredApprovals is not null ? "requiredApprovals" : "grantWindowSeconds",
                    "only applies to require_approval rules");
            ApprovalMode mode = o.ApprovalMode switch
            {
                null or "hold" => ApprovalMode.Hold,
                "grant" => ApprovalMode.Grant,
                _ => throw new PolicyException(rule, "approvalMode", $"'{o.ApprovalMode}' is not one of hold, grant"),
            };
            if (o.RequiredApprovals is < 1 or > 10)
                throw new PolicyException(rule, "requiredApprovals", "must be 1..10");
            if (o.GrantWindowSeconds is not null && mode != ApprovalMode.Grant)
                throw new PolicyException(rule, "grantWindowSeconds", "only applies to approvalMode \"grant\"");
            if (o.GrantWindowSeconds is < 1 or > 86_400)
                throw new PolicyException(rule, "grantWindowSeconds", "must be 1..86400");

            if ((o.RateLimitPerMinute is not null || o.RateLimitBurst is not null) && action != PolicyAction.Allow)
                throw new PolicyException(rule, o.RateLimitPerMinute is not null ? "rateLimitPerMinute" : "rateLimitBurst", "only applies to allow rules");
            if (o.RateLimitBurst is not null && o.RateLimitPerMinute is null)
                throw new PolicyException(rule, "rateLimitBurst", "needs rateLimitPerMinute");
            if (o.RateLimitPerMinute is < 1 or > 60_000_000)
                throw new PolicyException(rule, "rateLimitPerMinute", "must be 1..60000000");
            if (o.RateLimitBurst is < 1 or > 60_000_000)
                throw new PolicyException(rule, "rateLimitBurst", "must be 1..60000000");

            var arguments = new ArgumentCondition[o.Arguments?.Count ?? 0];
            for (int j = 0; j < arguments.Length; j++)
            {
                var condition = o.Arguments![j] ?? throw new PolicyException(rule, $"arguments[{j}]", "condition is null");
                arguments[j] = ArgumentCondition.Compile(condition, rule, $"arguments[{j}]", sensitiveMembers);
            }
            rules[i] = new CompiledRule(i, rule, action, o.Message, o.MaskProfile,
                Strings(o.Approvers, rule, "approvers"), TimeSpan.FromSeconds(o.ApprovalTimeoutSeconds),
                mode, o.RequiredApprovals ?? 1, TimeSpan.FromSeconds(o.GrantWindowSeconds ?? 600),
                Strings(o.Subjects, rule, "subjects"), Strings(o.Groups, rule, "groups"), Strings(o.AllGroups, rule, "allGroups"),
                Strings(o.Scopes, rule, "scopes"), Strings(o.Clients, rule, "clients"),
                Globs(o.Methods, rule, "methods"), Globs(o.Names, rule, "names"), arguments)
            {
                RateLimitPerMinute = o.RateLimitPerMinute ?? 0,
                RateLimitBurst = o.RateLimitBurst ?? o.RateLimitPerMinute ?? 0,
                Upstreams = Strings(o.Upstreams, rule, "upstreams"),
                QueryConditions = CompileQuery(o.Query, rule),
                Networks = CompileAddresses(o.Addresses, rule),
                Time = o.Time is null ? null : TimeCondition.Compile(o.Time, rule),
            };
        }
        return rules;
    }

    public static PolicyAction ParseAction(string? text, string? rule, string field) => text switch
    {
        "allow" => PolicyAction.Allow,
        "deny" => PolicyAction.Deny,
        "require_approval" or "requireApproval" => PolicyAction.RequireApproval,
        _ => throw new PolicyException(rule, field, $"'{text}' is not one of allow, deny, require_approval"),
    };

    private static QueryCondition[] CompileQuery(Dictionary<string, ArgumentConditionOptions>? query, string rule)
    {
        if (query is null || query.Count == 0)
            return [];
        var conditions = new QueryCondition[query.Count];
        int i = 0;
        foreach (var (parameter, condition) in query)
        {
            if (string.IsNullOrEmpty(parameter))
                throw new PolicyException(rule, "query", "a parameter name is empty");
            conditions[i++] = QueryCondition.Compile(parameter, condition, rule);
        }
        return conditions;
    }

    private static System.Net.IPNetwork[] CompileAddresses(List<string>? addresses, string rule)
    {
        if (addresses is null || addresses.Count == 0)
            return [];
        var networks = new System.Net.IPNetwork[addresses.Count];
        for (int j = 0; j < addresses.Count; j++)
            networks[j] = IpNetworks.TryParse(addresses[j], out string? error) ?? throw new PolicyException(rule, $"addresses[{j}]", error!);
        return IpNetworks.WithMappedForms(networks);
    }

    private static string[] Strings(List<string>? values, string rule, string field)
    {
        if (values is null)
            return [];
        for (int j = 0; j < values.Count; j++)
            if (string.IsNullOrWhiteSpace(values[j]))
                throw new PolicyException(rule, $"{field}[{j}]", "is blank");
        return [.. values];
    }

    private static Utf8Glob[] Globs(List<string>? values, string rule, string field)
    {
        if (values is null)
            return [];
        var globs = new Utf8Glob[values.Count];
        for (int j = 0; j < values.Count; j++)
        {
            if (string.IsNullOrEmpty(values[j]))
                throw new PolicyException(rule, $"{field}[{j}]", "is empty");
            globs[j] = Utf8Glob.Parse(values[j], out string? error);
            if (error is not null)
                throw new PolicyException(rule, $"{field}[{j}]", error);
        }
        return globs;
    }
}
