using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Approvals;

/// <summary>Where an approval is in its life: pending until approved (by enough approvers), denied, expired or cancelled; a grant may be revoked.</summary>
internal enum ApprovalState
{
    Pending,
    Approved,
    Denied,
    Expired,
    /// <summary>The held client went away, or the gateway stopped, before a decision.</summary>
    Cancelled,
    /// <summary>Approved and forwarded (hold mode): the call ran.</summary>
    Executed,
    /// <summary>Grant mode: an approver took the grant back before its window closed; the identical call needs a new approval.</summary>
    Revoked,
}

/// <summary>One approver's vote.</summary>
internal sealed record ApprovalVote(string Approver, DateTime AtUtc, string? Comment);

/// <summary>
/// A call a require_approval rule stopped: who asked, what exactly (method, name, masked arguments and
/// params, and the digest of the canonical request), which rule, and the decision as it forms. Mutated only
/// under the broker's decision lock.
/// </summary>
internal sealed class PendingApproval
{
    private readonly TaskCompletionSource<ApprovalState> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public PendingApproval(string id, Principal requester, CompiledRule rule, string[] approverGroups, string method, string? target,
        string maskedArguments, string maskedParams, string digest, DateTime createdUtc, string clientAddress)
        : this(id, requester, rule.Name, rule.Message, rule.ApprovalMode, rule.RequiredApprovals, rule.GrantWindow, approverGroups, method, target,
            maskedArguments, maskedParams, digest, createdUtc, clientAddress)
    {
        ExpiresUtc = createdUtc + rule.ApprovalTimeout;
    }

    /// <summary>
    /// An approval as it was when opened, the rule's terms included (approvals.stateFile restores it so): a rule changed since
    /// does not change what approvers were asked to decide. ExpiresUtc is set by the caller.
    /// </summary>
    public PendingApproval(string id, Principal requester, string ruleName, string? message, ApprovalMode mode, int requiredApprovals, TimeSpan grantWindow,
        string[] approverGroups, string method, string? target, string maskedArguments, string maskedParams, string digest, DateTime createdUtc, string clientAddress)
    {
        Id = id;
        Requester = requester;
        RuleName = ruleName;
        Message = message;
        Mode = mode;
        RequiredApprovals = requiredApprovals;
        GrantWindow = grantWindow;
        ApproverGroups = approverGroups;
        Method = method;
        Target = target;
        MaskedArguments = maskedArguments;
        MaskedParams = maskedParams;
        Digest = digest;
        CreatedUtc = createdUtc;
        ClientAddress = clientAddress;
    }

    public string Id { get; }

    /// <summary>
    /// Set when this object only stands for an approval another replica holds (approvals.peers): its admin URL. Such an
    /// object is never published here; an execution it admits is reported to the holder.
    /// </summary>
    public string? PeerUrl { get; init; }

    /// <summary>How audit details name the approval: its id, and the peer that holds it when another replica does.</summary>
    public string AuditName => PeerUrl is null ? $"approval {Id}" : $"approval {Id} held by peer {PeerUrl}";

    /// <summary>The name of the upstream the call goes to: a grant admits the identical call to this upstream only.</summary>
    public string? Upstream { get; init; }

    /// <summary>That upstream's URL (recorded with the approval's audit records).</summary>
    public string? UpstreamUrl { get; init; }

    /// <summary>The request target's query the upstream gets ("?…", card numbers masked; empty without one): the digest binds it.</summary>
    public string Query { get; init; } = "";

    /// <summary>The client's header fields forwarded under forwardHeaders, as the digest's headers line writes them ("" without any).</summary>
    public string Headers { get; init; } = "";

    /// <summary>The cookies forwarded under forwardCookies, as the digest's cookies line writes them (names, keyed MACs; "" without any).</summary>
    public string Cookies { get; init; } = "";

    /// <summary>
    /// The headers line as this approval's ApprovalRequested record holds it (audit.redactHeaders fields as MACs), for the
    /// records of its decision; null until that record is written (then, with redaction on, they carry no headers).
    /// </summary>
    public string? RecordedHeaders { get; set; }
    public Principal Requester { get; }
    public string RuleName { get; }
    public string? Message { get; }
    public ApprovalMode Mode { get; }
    public int RequiredApprovals { get; }
    public TimeSpan GrantWindow { get; }
    /// <summary>Members of any of these groups may approve (never the requester).</summary>
    public string[] ApproverGroups { get; }
    public string Method { get; }
    public string? Target { get; }
    /// <summary>The call's arguments as JSON, card numbers masked.</summary>
    public string MaskedArguments { get; }
    /// <summary>Every member of params the digest binds (all but _meta.progressToken), canonical JSON, card numbers masked.</summary>
    public string MaskedParams { get; }
    /// <summary>"sha256:" + hex of the canonical request (docs/approvals.md): the approval covers exactly this.</summary>
    public string Digest { get; }
    public DateTime CreatedUtc { get; }
    /// <summary>When a pending approval expires (the rule's timeout; a peer's approval carries the holder's own).</summary>
    public DateTime ExpiresUtc { get; init; }
    public string ClientAddress { get; }

    public ApprovalState State { get; set; }
    private readonly List<ApprovalVote> _votes = [];

    /// <summary>Approvals given so far, in order (a copy: the API reads while approvers vote).</summary>
    public ApprovalVote[] Votes
    {
        get { lock (_votes) return [.. _votes]; }
    }

    public int VoteCount
    {
        get { lock (_votes) return _votes.Count; }
    }

    public void AddVote(ApprovalVote vote)
    {
        lock (_votes) _votes.Add(vote);
    }
    /// <summary>Who denied (deny), or the last approver (approve).</summary>
    public string? DecidedBy { get; set; }
    public string? Reason { get; set; }
    public DateTime? DecidedUtc { get; set; }
    /// <summary>Grant mode: until when the identical call from the requester is let through.</summary>
    public DateTime? GrantUntilUtc { get; set; }
    /// <summary>Times the approved call was forwarded.</summary>
    public int Executions { get; set; }
    /// <summary>Grant mode: who revoked the grant, and when (Reason holds why).</summary>
    public string? RevokedBy { get; set; }
    public DateTime? RevokedUtc { get; set; }

    /// <summary>Completes with the final state when the approval is decided (hold mode waits on it).</summary>
    public Task<ApprovalState> Outcome => _outcome.Task;

    public void Complete(ApprovalState state) => _outcome.TrySetResult(state);

    public bool IsTerminal => State is not ApprovalState.Pending;

    /// <summary>Approvers so far, comma-separated, as recorded in the audit log.</summary>
    public string ApproverList()
    {
        ApprovalVote[] votes = Votes;
        var names = new string[votes.Length];
        for (int i = 0; i < names.Length; i++) names[i] = votes[i].Approver;
        return string.Join(',', names);
    }

    public bool MayApprove(Principal approver)
    {
        if (ApproverGroups.Length == 0) return false;
        foreach (string g in ApproverGroups)
            if (approver.IsInGroup(g)) return true;
        return false;
    }
}
