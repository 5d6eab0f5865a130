using FastMcp.Gateway.Approvals;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tasks;

/// <summary>
/// The approval a task's creating call was admitted by, when this replica does not hold it: a peer's grant its lookup found
/// (<see cref="HolderUrl"/> known), or the approval id a sealed id carries from another replica (holder unknown). Only the
/// holder learns of a revocation, so every request on such a task asks it, over the MACed peer protocol, whether that
/// approval still stands for the caller (docs/mcp-handling.md, "Tasks"). Nothing is cached: a revocation reaches the
/// task's next request, as it reaches the next lookup. Only a positive answer admits; a revoked or unknown approval, a
/// peer that fails, and a replica without approvals.peers refuse (fail closed).
/// </summary>
internal readonly record struct RemoteTaskApproval(string Id, string? HolderUrl, string? Rule)
{
    /// <summary>Null: the holder vouched for the approval. Else why the task's request is refused (the -32001 reason).</summary>
    public async ValueTask<string?> ConfirmAsync(ApprovalBroker? broker, Principal caller)
    {
        if (broker?.Peers is not { } peers)
            return $"the approval {Id} that admitted it is held by another replica, and without approvals.peers this one cannot ask whether it still stands";
        (ApprovalStanding standing, string? answeredBy, int failed) = await peers.StandingAsync(Id, caller, Rule, HolderUrl).ConfigureAwait(false);
        return standing switch
        {
            ApprovalStanding.Stands => null,
            ApprovalStanding.Revoked => $"the approval {Id} held by peer {answeredBy} that admitted it was revoked",
            _ when failed > 0 => HolderUrl is { } holder
                ? $"the approval {Id} that admitted it could not be confirmed: its holder, peer {holder}, did not answer (approvals.peers)"
                : $"the approval {Id} that admitted it could not be confirmed: no replica vouched for it and {failed} peer(s) did not answer (approvals.peers)",
            _ => HolderUrl is { } holder
                ? $"the approval {Id} that admitted it is not held by peer {holder} any more: no replica vouches for it (forgotten after approvals.retainDecidedSeconds, or lost in a restart)"
                : $"the approval {Id} that admitted it is held by no replica: no replica vouches for it (forgotten after approvals.retainDecidedSeconds, or lost in a restart)",
        };
    }
}
