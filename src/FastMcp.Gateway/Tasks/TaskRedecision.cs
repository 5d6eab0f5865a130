using System.Net;
using System.Text;
using FastMcp.Gateway.Approvals;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Tasks;

/// <summary>
/// A task does not outlive the decision that allowed the call creating it (docs/mcp-handling.md, "Tasks"): a request on
/// an owned task is admitted only while that call, by this caller, would be allowed now. The binding's last verdict stands
/// while the engine in force and the caller's principal are the ones it was taken under (two reference compares; a policy
/// with time conditions decides every time). Otherwise the kept call (<see cref="TaskCreatingCall"/>) is put to the
/// policy again with the tasks request's own query and client address and the clock now, its arguments withheld when
/// they were not kept. A revoked grant that admitted the call stops the task whatever the policy says; an approval this
/// replica does not hold (a peer's grant, or the one a sealed id names) is handed back as <see cref="RemoteTaskApproval"/>,
/// for the caller to confirm with its holder before the request goes on. Allocates nothing unless the verdict changes
/// (once per reload or token per binding), the approval is held elsewhere, or the request is refused.
/// </summary>
internal static class TaskRedecision
{
    public const string NoCallCarried =
        "the task's sealed id carries no creating call (an fmt1. id of an earlier version) and this replica never saw that call, so it cannot decide it: create the task again";

    /// <summary>
    /// Null: the request on the task may go on, its answers masked with <paramref name="maskProfile"/> (null: the default),
    /// once <paramref name="remote"/>, when set, is confirmed by its holder. Else why the creating call is no longer allowed.
    /// <paramref name="approvals"/>: this replica's approvals (null: none), which decide an approval a sealed id names when held here.
    /// </summary>
    public static string? Admit(TaskBinding binding, PolicyEngine? engine, Principal caller, string upstream, ReadOnlySpan<byte> query, IPAddress? address,
        ApprovalBroker? approvals, out string? maskProfile, out RemoteTaskApproval? remote)
    {
        TaskVerdict verdict = binding.Verdict;
        maskProfile = verdict.MaskProfile;
        remote = null;
        TaskCreatingCall? call = binding.Call;
        // Hold mode ends executed; grant mode stays approved until revoked (a closed window ends new calls, not this one).
        if (call?.Approval is { State: ApprovalState.Revoked } revoked) return $"the {revoked.AuditName} that admitted it was revoked";
        // An approval held elsewhere is asked after, on every request (the verdict below caches the policy, not the approval).
        if (call is not null && HeldElsewhere(call, approvals, caller, out remote) is { } refusal) return refusal;
        // Without a policy stage nothing was decided, and nothing is decided again.
        if (engine is null) return null;
        // Bound on presentation of a sealed id that carries no call: nothing to decide it on, so it is refused, never left
        // to the tasks/ rules alone (fail closed).
        if (call is null) return NoCallCarried;
        if (verdict.Stands(engine, caller)) return null;

        Span<byte> method = stackalloc byte[McpCallDecision.MaxMethodBytes * 3];
        Span<byte> target = stackalloc byte[McpCallDecision.MaxNameBytes * 3];
        int m = Encoding.UTF8.GetBytes(call.Method, method);
        int t = call.Target is null ? 0 : Encoding.UTF8.GetBytes(call.Target, target);
        PolicyDecision decision = McpCallDecision.Decide(engine, caller, method[..m], target[..t], call.Arguments, upstream, query, address,
            argumentsWithheld: call.ArgumentsWithheld);
        string? profile;
        switch (decision.Action)
        {
            case PolicyAction.Allow:
                profile = decision.MaskProfile;
                break;
            case PolicyAction.RequireApproval when call.Approval is { State: ApprovalState.Approved or ApprovalState.Executed } approval
                && string.Equals(approval.RuleName, decision.Rule!.Name, StringComparison.Ordinal):
                // The same rule still asks for approval, and this call had it.
                profile = decision.MaskProfile;
                break;
            case PolicyAction.RequireApproval when call.Approval is null && call.ApprovalId is not null
                && string.Equals(call.Rule, decision.Rule!.Name, StringComparison.Ordinal):
                // Bound on presentation: the sealed id attests that approval ApprovalId admitted the call under this rule; it
                // stands if this replica holds it so (HeldElsewhere), else only once its holder vouches for it (remote).
                profile = decision.MaskProfile;
                break;
            case PolicyAction.RequireApproval:
                return $"{Describe(call)}: now needs approval by rule '{decision.Rule!.Name}'";
            default:
                return $"{Describe(call)}: {(decision.IsDefault ? "denied by the default" : $"denied by rule '{decision.Rule!.Name}'")}";
        }
        maskProfile = profile;
        // Kept for the next request unless the clock decides (then every request decides, and nothing is kept).
        if (!engine.ReadsClock) binding.Verdict = new TaskVerdict(engine, caller, profile);
        return null;
    }

    /// <summary>
    /// The approval that admitted the call, when this replica does not hold it: a peer's grant (its stand-in names the holder),
    /// or one a sealed id names that is not held here for this caller and rule (its holder unknown). One named by a sealed
    /// id and held here is decided here: a revoked one refuses (the reason), a standing one needs nothing more.
    /// </summary>
    private static string? HeldElsewhere(TaskCreatingCall call, ApprovalBroker? approvals, Principal caller, out RemoteTaskApproval? remote)
    {
        remote = null;
        if (call.Approval is { PeerUrl: { } holder } peerGrant)
        {
            remote = new RemoteTaskApproval(peerGrant.Id, holder, peerGrant.RuleName);
            return null;
        }
        if (call.Approval is not null || call.ApprovalId is not { } id) return null;
        switch (approvals?.Standing(id, caller.Issuer, caller.Subject, call.Rule) ?? ApprovalStanding.Unknown)
        {
            case ApprovalStanding.Stands:
                return null;
            case ApprovalStanding.Revoked:
                return $"the approval {id} that admitted it was revoked";
            default:
                remote = new RemoteTaskApproval(id, null, call.Rule);
                return null;
        }
    }

    private static string Describe(TaskCreatingCall call) =>
        call.Target is null ? $"the {call.Method} that created the task" : $"the {call.Method} '{call.Target}' that created the task";
}
