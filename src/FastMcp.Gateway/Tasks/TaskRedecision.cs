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
/// they were not kept. A revoked grant that admitted the call stops the task whatever the policy says. Allocates nothing
/// unless the verdict changes (once per reload or token per binding) or the request is refused.
/// </summary>
internal static class TaskRedecision
{
    public const string NoCallCarried =
        "the task's sealed id carries no creating call (an fmt1. id of an earlier version) and this replica never saw that call, so it cannot decide it: create the task again";

    /// <summary>
    /// Null: the request on the task may go on, its answers masked with <paramref name="maskProfile"/> (null: the default).
    /// Else why the creating call is no longer allowed.
    /// </summary>
    public static string? Admit(TaskBinding binding, PolicyEngine? engine, Principal caller, string upstream, ReadOnlySpan<byte> query, IPAddress? address,
        out string? maskProfile)
    {
        TaskVerdict verdict = binding.Verdict;
        maskProfile = verdict.MaskProfile;
        TaskCreatingCall? call = binding.Call;
        // Hold mode ends executed; grant mode stays approved until revoked (a closed window ends new calls, not this one).
        if (call?.Approval is { State: ApprovalState.Revoked } revoked) return $"the {revoked.AuditName} that admitted it was revoked";
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
                // Bound on presentation: the sealed id attests that approval ApprovalId admitted the call under this rule
                // (the approval lives on the replica that held it, which alone learns of its revocation).
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

    private static string Describe(TaskCreatingCall call) =>
        call.Target is null ? $"the {call.Method} that created the task" : $"the {call.Method} '{call.Target}' that created the task";
}
