using System.Net;
using System.Text;
using System.Text.Json;
using FastMcp.Identity;

namespace FastMcp.Policy;

/// <summary>
/// A compiled policy: ordered rules, first match wins, default deny. Rules are indexed by method and
/// name at compile time, so a decision only visits the rules that could apply, in order, and
/// allocates nothing. Immutable: hot reload compiles a new engine and swaps the reference.
/// </summary>
public sealed class PolicyEngine
{
    /// <summary>Decides requests whose arguments are not valid JSON: nothing about them can be trusted.</summary>
    public static readonly CompiledRule MalformedArgumentsRule = new(-1, "(malformed-arguments)", PolicyAction.Deny,
        "request arguments are not valid JSON", null, [], TimeSpan.Zero, ApprovalMode.Hold, 1, TimeSpan.Zero, [], [], [], [], [], [], [], []);

    /// <summary>
    /// Decides requests whose method or tool/prompt/resource name is too long for the gateway to hold and compare:
    /// treated as "no name", they would slip past every name-scoped deny rule, so they are refused instead.
    /// </summary>
    public static readonly CompiledRule OverlongNameRule = new(-2, "(overlong-name)", PolicyAction.Deny,
        "the method or the tool, prompt or resource name is too long", null, [], TimeSpan.Zero, ApprovalMode.Hold, 1, TimeSpan.Zero, [], [], [], [], [], [], [], []);

    /// <summary>
    /// Decides resource calls whose URI has no single normalized form (<see cref="ResourceUriNormalizer"/>): an
    /// encoded slash or backslash, a malformed percent-encoding, no scheme. Deciding on one reading while the server
    /// acts on another is how a path deny is walked around, so such a call is refused.
    /// </summary>
    public static readonly CompiledRule UnnormalizableUriRule = new(-3, "(unnormalizable-uri)", PolicyAction.Deny,
        "the resource URI cannot be normalized (RFC 3986 section 6): no scheme, a malformed or NUL percent-encoding, a backslash or an encoded slash", null,
        [], TimeSpan.Zero, ApprovalMode.Hold, 1, TimeSpan.Zero, [], [], [], [], [], [], [], []);

    /// <summary>
    /// Decides tasks requests naming a task that is not the caller's (the gateway's task bindings): every caller reaches
    /// the upstream with the gateway's credential, so the gateway, not the upstream, keeps one caller out of another's task.
    /// </summary>
    public static readonly CompiledRule TaskNotYoursRule = new(-5, "(task-not-yours)", PolicyAction.Deny,
        "Task not found", null, [], TimeSpan.Zero, ApprovalMode.Hold, 1, TimeSpan.Zero, [], [], [], [], [], [], [], []);

    /// <summary>
    /// Decides a subscriptions/listen whose resource subscriptions (params.notifications.resourceSubscriptions) cannot be
    /// read as an array of URI strings, name a URI too long to decide, or sit under a member a case-insensitive server reads
    /// as theirs: each URI is decided as a subscription to it, and one the gateway cannot read would not be.
    /// </summary>
    public static readonly CompiledRule UnreadableSubscriptionsRule = new(-6, "(unreadable-subscriptions)", PolicyAction.Deny,
        "the resources this subscriptions/listen subscribes to could not be read to be decided", null,
        [], TimeSpan.Zero, ApprovalMode.Hold, 1, TimeSpan.Zero, [], [], [], [], [], [], [], []);

    /// <summary>
    /// Decides a request whose query cannot be read as the upstream reads it while a rule has query conditions: a bad
    /// percent escape, bytes that are not UTF-8 once decoded, a ';', a parameter a rule names given twice or in another
    /// letter case, or more than <see cref="MaxQueryBytes"/>. Servers differ on such queries, so a decision on one reading
    /// would not hold for the upstream's.
    /// </summary>
    public static readonly CompiledRule UnreadableQueryRule = new(-7, "(unreadable-query)", PolicyAction.Deny,
        "the request target's query could not be read to be decided (a bad percent escape, text that is not UTF-8, a ';', a parameter the policy reads given twice or in another letter case, or a query over 4096 bytes)",
        null, [], TimeSpan.Zero, ApprovalMode.Hold, 1, TimeSpan.Zero, [], [], [], [], [], [], [], []);

    /// <summary>
    /// Decides a tools/call, on an upstream whose tool pins are enforced, of a tool the pins file does not name: its
    /// definition was never reviewed (docs/policy.md, "Tool definition pinning").
    /// </summary>
    public static readonly CompiledRule ToolNotPinnedRule = new(-8, "(tool-not-pinned)", PolicyAction.Deny,
        "this tool's definition has not been reviewed (it is not pinned)", null, [], TimeSpan.Zero, ApprovalMode.Hold, 1, TimeSpan.Zero, [], [], [], [], [], [], [], []);

    /// <summary>
    /// Decides a tools/call, on an upstream whose tool pins are enforced, of a pinned tool whose last definition the
    /// upstream listed differs from its pin: the server changed a reviewed tool.
    /// </summary>
    public static readonly CompiledRule ToolDefinitionChangedRule = new(-9, "(tool-definition-changed)", PolicyAction.Deny,
        "this tool's definition changed since it was reviewed (it differs from its pin)", null, [], TimeSpan.Zero, ApprovalMode.Hold, 1, TimeSpan.Zero, [], [], [], [], [], [], [], []);

    /// <summary>
    /// Decides a call put to the policy again without its arguments (<see cref="PolicyRequest.ArgumentsWithheld"/>: a task's
    /// creating call whose arguments the gateway did not keep) when the first rule that could decide it reads them: whether
    /// it matches cannot be known, so the call is refused rather than guessed.
    /// </summary>
    public static readonly CompiledRule ArgumentsNotKeptRule = new(-10, "(arguments-not-kept)", PolicyAction.Deny,
        "the call's arguments were not kept, and a rule reading them would decide it", null, [], TimeSpan.Zero, ApprovalMode.Hold, 1, TimeSpan.Zero, [], [], [], [], [], [], [], []);

    /// <summary>
    /// Decides a tasks request on a task whose creating call the policy in force no longer allows to the caller (after a
    /// reload, a token with other claims, or a revoked grant): the task does not outlive the decision that allowed it.
    /// </summary>
    public static readonly CompiledRule TaskCallNotAllowedRule = new(-11, "(task-call-not-allowed)", PolicyAction.Deny,
        "the call that created this task is no longer allowed", null, [], TimeSpan.Zero, ApprovalMode.Hold, 1, TimeSpan.Zero, [], [], [], [], [], [], [], []);

    /// <summary>
    /// Decides a client's notifications/cancelled whose params.requestId names no request the same caller (subject and issuer,
    /// in the same session) has in flight through the gateway to that upstream: every caller reaches a sessionless upstream
    /// with the gateway's credential, so the gateway, not the upstream, keeps one caller from cancelling another's call.
    /// </summary>
    public static readonly CompiledRule CancelNotYoursRule = new(-12, "(cancel-not-yours)", PolicyAction.Deny,
        "the request this cancels is not one of the caller's in flight", null, [], TimeSpan.Zero, ApprovalMode.Hold, 1, TimeSpan.Zero, [], [], [], [], [], [], [], []);

    /// <summary>
    /// Decides a client's notifications/cancelled of its own call at an upstream without a session while another caller has a
    /// call in flight there under the same id: the upstream correlates by id alone and could stop the other caller's call.
    /// </summary>
    public static readonly CompiledRule CancelAmbiguousRule = new(-13, "(cancel-ambiguous)", PolicyAction.Deny,
        "another caller has a request with this id in flight at this upstream", null, [], TimeSpan.Zero, ApprovalMode.Hold, 1, TimeSpan.Zero, [], [], [], [], [], [], [], []);

    /// <summary>The refusal for a cancellation another caller's call under the same id makes ambiguous (see <see cref="CancelAmbiguousRule"/>).</summary>
    public static PolicyDecision RefuseCancelAmbiguous() => new(PolicyAction.Deny, CancelAmbiguousRule, null);

    /// <summary>The refusal for a cancellation of a request that is not the caller's in flight (see <see cref="CancelNotYoursRule"/>).</summary>
    public static PolicyDecision RefuseCancelNotYours() => new(PolicyAction.Deny, CancelNotYoursRule, null);

    /// <summary>The refusal for a task whose creating call is no longer allowed (see <see cref="TaskCallNotAllowedRule"/>).</summary>
    public static PolicyDecision RefuseTaskCallNotAllowed() => new(PolicyAction.Deny, TaskCallNotAllowedRule, null);

    /// <summary>The refusal for a tool that is not pinned (see <see cref="ToolNotPinnedRule"/>).</summary>
    public static PolicyDecision RefuseToolNotPinned() => new(PolicyAction.Deny, ToolNotPinnedRule, null);

    /// <summary>The refusal for a tool whose definition differs from its pin (see <see cref="ToolDefinitionChangedRule"/>).</summary>
    public static PolicyDecision RefuseToolDefinitionChanged() => new(PolicyAction.Deny, ToolDefinitionChangedRule, null);

    /// <summary>The longest query (bytes after '?') the policy reads while a rule has query conditions; a longer one is unreadable.</summary>
    public const int MaxQueryBytes = 4096;

    /// <summary>The refusal for a query that cannot be read (see <see cref="UnreadableQueryRule"/>).</summary>
    public static PolicyDecision RefuseUnreadableQuery() => new(PolicyAction.Deny, UnreadableQueryRule, null);

    /// <summary>The refusal for a listen whose subscriptions cannot be read (see <see cref="UnreadableSubscriptionsRule"/>).</summary>
    public static PolicyDecision RefuseUnreadableSubscriptions() => new(PolicyAction.Deny, UnreadableSubscriptionsRule, null);

    /// <summary>The refusal for a task the caller does not own (see <see cref="TaskNotYoursRule"/>).</summary>
    public static PolicyDecision RefuseTaskNotYours() => new(PolicyAction.Deny, TaskNotYoursRule, null);

    /// <summary>The refusal for a resource URI that cannot be normalized (see <see cref="UnnormalizableUriRule"/>).</summary>
    public static PolicyDecision RefuseUnnormalizableUri() => new(PolicyAction.Deny, UnnormalizableUriRule, null);

    /// <summary>The refusal for a method or name the caller could not hold (see <see cref="OverlongNameRule"/>).</summary>
    public static PolicyDecision RefuseOverlongName() => new(PolicyAction.Deny, OverlongNameRule, null);

    private sealed class MethodBucket(Utf8KeyTable<int[]> names, int[] otherNames)
    {
        /// <summary>Exact name → rules that match this method and that name, decided at compile time.</summary>
        public Utf8KeyTable<int[]> Names { get; } = names;
        /// <summary>Rules matching this method whose name condition is absent or a glob: checked at run time.</summary>
        public int[] OtherNames { get; } = otherNames;
    }

    private enum Check : byte { None, Name, MethodAndName }

    private readonly CompiledRule[] _rules;
    private readonly Utf8KeyTable<MethodBucket> _methods;
    private readonly int[] _otherMethods;
    private readonly PolicyAction _defaultAction;
    private readonly string? _defaultMessage;
    // The parameters some rule's query conditions name (decoded, UTF-8, distinct); empty: the query is never read.
    private readonly byte[][] _queryNames;

    // Read only while some rule has a time condition: a policy without one never asks the clock.
    private readonly TimeProvider _clock;
    private readonly bool _readsClock;

    private PolicyEngine(CompiledRule[] rules, PolicyAction defaultAction, string? defaultMessage, TimeProvider clock)
    {
        _rules = rules;
        _clock = clock;
        _readsClock = Array.Exists(rules, static r => r.HasTimeCondition);
        _queryNames = QueryNames(rules);
        _defaultAction = defaultAction;
        _defaultMessage = defaultMessage;
        (_methods, _otherMethods) = BuildIndex(rules);
    }

    public IReadOnlyList<CompiledRule> Rules => _rules;

    /// <summary>Some rule has a time condition: the same request can be decided differently later (computed once, at compile time).</summary>
    public bool ReadsClock => _readsClock;

    /// <summary>Some rule has query conditions: every decision reads the request target's query (and refuses one it cannot read).</summary>
    public bool ReadsQuery => _queryNames.Length > 0;

    private static byte[][] QueryNames(CompiledRule[] rules)
    {
        var names = new List<byte[]>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in rules)
            foreach (var condition in rule.QueryConditions)
                if (seen.Add(Encoding.UTF8.GetString(condition.Name)))
                    names.Add(condition.Name);
        return [.. names];
    }
    public PolicyAction DefaultAction => _defaultAction;

    /// <summary>Compiles and validates a policy. Throws <see cref="PolicyException"/> naming the rule and field of the first error.</summary>
    public static PolicyEngine Compile(PolicyOptions options) => Compile(options, TimeProvider.System);

    /// <summary>
    /// The same, deciding "time" conditions by <paramref name="clock"/>, and containsSensitiveData with the default
    /// member names (<see cref="FastMcp.Pan.SensitiveMemberNames.Default"/>).
    /// </summary>
    public static PolicyEngine Compile(PolicyOptions options, TimeProvider clock) => Compile(options, clock, DefaultSensitiveMembers);

    /// <summary>masking.sensitiveMembers when the configuration does not change it.</summary>
    public static readonly FastMcp.Pan.SensitiveMemberNames DefaultSensitiveMembers = new(FastMcp.Pan.SensitiveMemberNames.Default);

    /// <summary>
    /// The same, containsSensitiveData looking for <paramref name="sensitiveMembers"/>: the gateway passes its masking's
    /// names, so the policy sees what masking would blank (a condition is refused when there are none).
    /// </summary>
    public static PolicyEngine Compile(PolicyOptions options, TimeProvider clock, FastMcp.Pan.SensitiveMemberNames sensitiveMembers)
    {
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(sensitiveMembers);
        if (options is null)
            throw new PolicyException(null, null, "no policy");
        var defaultAction = PolicyCompiler.ParseAction(options.DefaultAction ?? "deny", null, "defaultAction");
        if (defaultAction == PolicyAction.RequireApproval)
            throw new PolicyException(null, "defaultAction", "must be allow or deny");
        var rules = PolicyCompiler.CompileRules(options, sensitiveMembers);
        var serverRequests = ServerRequestPolicy.Compile(options.ServerRequests, clock, sensitiveMembers);
        return new PolicyEngine(rules, defaultAction, options.DefaultMessage, clock) { _serverRequests = serverRequests };
    }

    /// <summary>Compiles rules on their own (policy.serverRequests runs its rules through the same engine).</summary>
    internal static PolicyEngine CompileRuleSet(List<RuleOptions> rules, PolicyAction defaultAction, string? defaultMessage, TimeProvider clock,
        FastMcp.Pan.SensitiveMemberNames sensitiveMembers) =>
        new(PolicyCompiler.CompileRules(rules, sensitiveMembers), defaultAction, defaultMessage, clock);

    /// <summary>policy.serverRequests: the decision on requests upstreams send the client. Swapped with this engine on reload.</summary>
    public ServerRequestPolicy ServerRequests => _serverRequests ?? ServerRequestPolicy.AllowAll;

    // Null on the engines a ServerRequestPolicy holds (built while AllowAll itself is being built).
    private ServerRequestPolicy? _serverRequests;

    /// <summary>Decides one request: the first rule whose conditions all hold, else the default.</summary>
    public PolicyDecision Decide(in PolicyRequest request)
    {
        // Read only when a rule reads it: without query conditions the query changes nothing.
        if (_queryNames.Length > 0 && !QueryText.IsReadable(request.Query, _queryNames))
            return RefuseUnreadableQuery();
        try
        {
            if (_methods.TryGetValue(request.Method, out var bucket))
            {
                if (!request.Name.IsEmpty && bucket.Names.TryGetValue(request.Name, out var exact))
                    return First(exact, request, Check.None);
                return First(bucket.OtherNames, request, Check.Name);
            }
            return First(_otherMethods, request, Check.MethodAndName);
        }
        catch (JsonException)
        {
            return new PolicyDecision(PolicyAction.Deny, MalformedArgumentsRule, null);
        }
    }

    private PolicyDecision First(int[] candidates, in PolicyRequest request, Check check)
    {
        var principal = request.Principal;
        DateTime now = _readsClock ? (request.At ?? _clock.GetUtcNow()).UtcDateTime : default;
        foreach (int index in candidates)
        {
            var rule = _rules[index];
            if (check == Check.MethodAndName && !rule.MatchesMethod(request.Method))
                continue;
            if (check != Check.None && !rule.MatchesName(request.Name))
                continue;
            if (!rule.MatchesUpstream(request.Upstream))
                continue;
            if (!rule.MatchesPrincipal(principal))
                continue;
            if (rule.HasAddressCondition && !rule.MatchesAddress(request.Address))
                continue;
            if (rule.HasTimeCondition && !rule.Time!.Matches(now))
                continue;
            if (rule.HasArgumentConditions && !request.ArgumentsWithheld && !rule.MatchesArguments(request.Arguments, request.Cards, request.ArgumentsOffset, request.ArgumentsWellFormed))
                continue;
            if (rule.HasQueryConditions && !rule.MatchesQuery(request.Query))
                continue;
            // Every other condition holds: whether this rule decides depends on arguments that are not there.
            if (rule.HasArgumentConditions && request.ArgumentsWithheld)
                return new PolicyDecision(PolicyAction.Deny, ArgumentsNotKeptRule, null);
            return new PolicyDecision(rule.Action, rule, null);
        }
        return new PolicyDecision(_defaultAction, null, _defaultMessage);
    }

    /// <summary>
    /// List filtering: may <paramref name="principal"/> call <paramref name="callMethodUtf8"/> (tools/call,
    /// prompts/get, resources/read) on <paramref name="nameUtf8"/> with at least some arguments? Rules are walked in
    /// order as for a decision; a rule with argument conditions is "maybe": an allowing one makes the item visible,
    /// a denying one is passed over (other arguments may reach a later rule). Approval-gated items are visible.
    /// </summary>
    public bool IsVisible(Principal principal, ReadOnlySpan<byte> callMethodUtf8, ReadOnlySpan<byte> nameUtf8) =>
        IsVisible(principal, callMethodUtf8, nameUtf8, null);

    /// <summary>The same for an item listed by the upstream named <paramref name="upstream"/> (rules with "upstreams" compare it).</summary>
    public bool IsVisible(Principal principal, ReadOnlySpan<byte> callMethodUtf8, ReadOnlySpan<byte> nameUtf8, string? upstream) =>
        IsVisible(principal, callMethodUtf8, nameUtf8, upstream, default);

    /// <summary>
    /// The same for a list asked for with <paramref name="query"/> (the list request's target query, '?' included or not):
    /// the calls made through it would carry the same query, so query conditions are decided on it, not treated as "maybe".
    /// A query the policy cannot read hides everything (the list request itself was refused).
    /// </summary>
    public bool IsVisible(Principal principal, ReadOnlySpan<byte> callMethodUtf8, ReadOnlySpan<byte> nameUtf8, string? upstream, ReadOnlySpan<byte> query) =>
        IsVisible(principal, callMethodUtf8, nameUtf8, upstream, query, null);

    /// <summary>
    /// The same for a list asked for from <paramref name="address"/> (the client address; null: unknown): the calls made
    /// through it come from there, so "addresses" and "time" (now, by the engine's clock) are decided, not treated as "maybe".
    /// </summary>
    public bool IsVisible(Principal principal, ReadOnlySpan<byte> callMethodUtf8, ReadOnlySpan<byte> nameUtf8, string? upstream, ReadOnlySpan<byte> query,
        IPAddress? address)
    {
        ArgumentNullException.ThrowIfNull(principal);
        DateTime now = _readsClock ? _clock.GetUtcNow().UtcDateTime : default;
        query = QueryText.WithoutQuestionMark(query);
        if (_queryNames.Length > 0 && !QueryText.IsReadable(query, _queryNames))
            return false;
        int[] candidates;
        Check check;
        if (_methods.TryGetValue(callMethodUtf8, out var bucket))
        {
            if (!nameUtf8.IsEmpty && bucket.Names.TryGetValue(nameUtf8, out var exact))
                (candidates, check) = (exact, Check.None);
            else
                (candidates, check) = (bucket.OtherNames, Check.Name);
        }
        else
        {
            (candidates, check) = (_otherMethods, Check.MethodAndName);
        }
        foreach (int index in candidates)
        {
            var rule = _rules[index];
            if (check == Check.MethodAndName && !rule.MatchesMethod(callMethodUtf8))
                continue;
            if (check != Check.None && !rule.MatchesName(nameUtf8))
                continue;
            if (!rule.MatchesUpstream(upstream))
                continue;
            if (!rule.MatchesPrincipal(principal))
                continue;
            if (rule.HasAddressCondition && !rule.MatchesAddress(address))
                continue;
            if (rule.HasTimeCondition && !rule.Time!.Matches(now))
                continue;
            if (rule.HasQueryConditions && !rule.MatchesQuery(query))
                continue;
            if (rule.HasArgumentConditions && rule.Action == PolicyAction.Deny)
                continue;
            return rule.Action != PolicyAction.Deny;
        }
        return _defaultAction != PolicyAction.Deny;
    }

    private static (Utf8KeyTable<MethodBucket>, int[]) BuildIndex(CompiledRule[] rules)
    {
        var methodKeys = new List<string>(McpMethodNames.Known);
        var seenMethods = new HashSet<string>(methodKeys, StringComparer.Ordinal);
        foreach (var rule in rules)
            foreach (var glob in rule.MethodPatterns)
            {
                string literal = Encoding.UTF8.GetString(glob.Literal);
                if (glob.IsExact && seenMethods.Add(literal))
                    methodKeys.Add(literal);
            }

        var buckets = new List<KeyValuePair<string, MethodBucket>>(methodKeys.Count);
        var matching = new List<int>();
        var nameKeys = new List<string>();
        var seenNames = new HashSet<string>(StringComparer.Ordinal);
        var byName = new List<KeyValuePair<string, int[]>>();
        var list = new List<int>();
        foreach (string method in methodKeys)
        {
            byte[] methodBytes = Encoding.UTF8.GetBytes(method);
            matching.Clear();
            nameKeys.Clear();
            seenNames.Clear();
            foreach (var rule in rules)
            {
                if (!rule.MatchesMethod(methodBytes))
                    continue;
                matching.Add(rule.Index);
                // Only names some rule of this method spells out get an entry; any other name can only
                // be matched by glob or name-less rules, which OtherNames holds.
                foreach (var glob in rule.NamePatterns)
                {
                    string literal = Encoding.UTF8.GetString(glob.Literal);
                    if (glob.IsExact && seenNames.Add(literal))
                        nameKeys.Add(literal);
                }
            }

            byName.Clear();
            foreach (string name in nameKeys)
            {
                byte[] nameBytes = Encoding.UTF8.GetBytes(name);
                list.Clear();
                foreach (int index in matching)
                    if (rules[index].MatchesName(nameBytes))
                        list.Add(index);
                byName.Add(new(name, [.. list]));
            }
            list.Clear();
            foreach (int index in matching)
                if (!rules[index].HasNameCondition || Array.Exists(rules[index].NamePatterns, static g => !g.IsExact))
                    list.Add(index);
            buckets.Add(new(method, new MethodBucket(new Utf8KeyTable<int[]>(byName), [.. list])));
        }

        list.Clear();
        foreach (var rule in rules)
            if (!rule.HasMethodCondition || Array.Exists(rule.MethodPatterns, static g => !g.IsExact))
                list.Add(rule.Index);
        return (new Utf8KeyTable<MethodBucket>(buckets), [.. list]);
    }
}
