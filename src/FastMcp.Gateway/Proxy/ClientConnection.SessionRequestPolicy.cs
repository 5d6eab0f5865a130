using System.Runtime.CompilerServices;
using System.Text;
using FastMcp.Gateway.Stages;
using FastMcp.Http;
using FastMcp.Mcp;
using FastMcp.Policy;
using HttpMethod = FastMcp.Http.HttpMethod;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// No request reaches an upstream without a decision: a GET (the session's event stream) and a DELETE (the end of the
/// session) are decided by the client rules as the session's initialize would be now (PolicyAuthorization.DecideSessionRequest).
/// Refused: 403 with a JSON-RPC error (id null: there is none), a Denied record, counted with the other denials. An allowed
/// GET stream is watched for a reload that revokes its caller (StreamPolicyWatch).
/// </summary>
internal sealed partial class ClientConnection
{
    // The policy the last GET was allowed under: its stream is decided again only once another is in force.
    private PolicyEngine? _sessionRequestEngine;

    // Made at the first GET stream watched for a policy reload.
    private StreamPolicyWatch? _policyWatch;

    /// <summary>
    /// Decides this GET or DELETE for <paramref name="upstream"/>; the decision is the exchange's (its records and metrics
    /// name it). True when allowed, or when the gateway has no policy stage (pass-through decides nothing).
    /// </summary>
    private bool SessionRequestAllowed(string? upstream, out PolicyDecision decision)
    {
        decision = default;
        if (_rt.Authorization is not { } authorization) return true;
        PolicyEngine engine = authorization.Engine;
        decision = PolicyAuthorization.DecideSessionRequest(engine, _exchange.Principal!, upstream, _request.Query, _exchange.ClientAddress);
        _exchange.Decision = decision;
        _sessionRequestEngine = engine;
        return decision.Action == PolicyAction.Allow;
    }

    /// <summary>A refused GET or DELETE: nothing goes upstream, and the client gets 403.</summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RefuseSessionRequestAsync(PolicyDecision decision) =>
        await RefuseAsync(default, default, 403, PolicyAuthorization.ClientErrorCode(decision), RefusalMessage(decision), RefusalReason(decision)).ConfigureAwait(false);

    /// <summary>
    /// What the client reads. require_approval refuses too: a GET stream or a DELETE cannot be held while an approver
    /// decides (the client would time out, and an approval would admit a request already gone).
    /// </summary>
    private static byte[] RefusalMessage(in PolicyDecision decision) => decision.Action == PolicyAction.RequireApproval
        ? Encoding.UTF8.GetBytes($"{decision.Message} (rule '{decision.Rule?.Name}' requires approval, which a GET or DELETE cannot wait for)")
        : Encoding.UTF8.GetBytes(decision.Message);

    /// <summary>The Denied record's detail.</summary>
    private string RefusalReason(in PolicyDecision decision) => decision.Action == PolicyAction.RequireApproval
        ? $"denied by {decision.Rule?.Name}: require_approval cannot hold a {(_request.Method == HttpMethod.Get ? "GET" : "DELETE")}"
        : $"denied by {decision.Rule?.Name ?? "default"}";

    /// <summary>
    /// A federated GET or DELETE decided for one member (<see cref="Exchange.Route"/>): allowed, or refused with a Denied
    /// record for that member (which gets nothing on the caller's behalf; the decision stays the exchange's). AuditRefused:
    /// that record could not be written.
    /// </summary>
    [AsyncMethodBuilder(typeof(Async.PooledValueTaskMethodBuilder<>))]
    private async ValueTask<(bool Allowed, bool AuditRefused)> DecideMemberSessionRequestAsync(string member)
    {
        if (SessionRequestAllowed(member, out PolicyDecision decision)) return (true, false);
        Admin.GatewayCounters.Add(ref _rt.Counters.PolicyDenied);
        if (_rt.Audit is not { } audit) return (false, false);
        try
        {
            await audit.RecordDenialAsync(_exchange, _auditScratch, RemoteAddress, default, RefusalReason(decision)).ConfigureAwait(false);
            return (false, false);
        }
        catch (FastMcp.Audit.AuditUnavailableException)
        {
            return (false, true);
        }
    }

    /// <summary>
    /// A federated GET or DELETE just allowed on a member (<see cref="Exchange.Decision"/>): the allowing rule's budget
    /// (rateLimitPerMinute) is charged once per request, not once per member, as a fan-out message's is. False: past it.
    /// </summary>
    private bool TakeSessionRequestBudget(HashSet<CompiledRule> charged) =>
        _exchange.Decision is not { Rule: { } rule } decision || !charged.Add(rule) || TakeRuleBudget(decision);

    /// <summary>No member of a federated path may have this GET or DELETE (each refusal recorded): 403 with the first refusal's message.</summary>
    private ValueTask<bool> AnswerNoMemberAllowedAsync(PolicyDecision first)
    {
        _exchange.Decision = first;
        return AnswerAsync(403, PolicyAuthorization.ClientErrorCode(first), RefusalMessage(first), closeAfter: false);
    }

    /// <summary>
    /// Starts watching an allowed GET stream for a reload that revokes its caller (null: nothing to watch). On a plain path
    /// <paramref name="masked"/> is the exchange whose masking a new decision picks again.
    /// </summary>
    private StreamPolicyWatch? WatchStreamPolicy(Exchange? masked = null)
    {
        if (_request.Method != HttpMethod.Get || _rt.Authorization is null || _sessionRequestEngine is not { } engine) return null;
        StreamPolicyWatch watch = _policyWatch ??= new StreamPolicyWatch(_rt);
        watch.Begin(engine, _exchange.Principal!, _request, _exchange.ClientAddress, RemoteAddress, masked);
        return watch;
    }

    /// <summary>
    /// The masking of an allowed GET or DELETE (<see cref="Exchange.Decision"/>), set as the exchange's: the allowing rule's
    /// profile, else the default. It is the request rule for the request's header fields and masks everything the GET's
    /// stream relays, as a POST's profile masks its exchange. Null (and nothing set) when the rule names a profile the
    /// masking in force lacks: the request is refused.
    /// </summary>
    private PanMasking? PickSessionRequestMasking()
    {
        string? profile = _exchange.Decision is { Action: PolicyAction.Allow } allowed ? allowed.MaskProfile : null;
        if (!PanMasking.TryPick(_rt.Masking, profile, out PanMasking? picked)) return null;
        _exchange.Masking = picked;
        return picked;
    }

    /// <summary>An allowed GET or DELETE whose rule's profile is gone: refused (403), never masked with something looser.</summary>
    private ValueTask<bool> RefuseMissingProfileAsync() =>
        RefuseAsync(default, default, 403, JsonRpcErrorCodes.Forbidden, "the masking profile this call needs is not configured"u8.ToArray(),
            $"masking profile '{_exchange.Decision?.MaskProfile}' missing");
}
