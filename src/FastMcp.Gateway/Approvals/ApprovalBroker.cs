using System.Security.Cryptography;
using FastMcp.Audit;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;
using FastMcp.Identity;
using FastMcp.Policy;

namespace FastMcp.Gateway.Approvals;

/// <summary>The answer to an approver's action: an HTTP status, an error sentence when refused, and the approval.</summary>
internal readonly record struct ApprovalActionResult(int Status, string? Error, PendingApproval? Approval)
{
    public static ApprovalActionResult Ok(PendingApproval a) => new(200, null, a);
    public static ApprovalActionResult Refused(int status, string error, PendingApproval? a = null) => new(status, error, a);
}

/// <summary>
/// Holds the approvals of this gateway process: creates them for calls a require_approval rule
/// stopped, takes approvers' decisions (each one durably recorded before it takes effect),
/// expires them, and keeps grant-mode windows. State lives in memory, and with approvals.stateFile its grant-mode
/// part (pending approvals, open grants) is written to that file on every change: docs/approvals.md says what a
/// restart does to each.
/// </summary>
internal sealed class ApprovalBroker : IAsyncDisposable
{
    private readonly ApprovalOptions _options;
    private readonly AuditRecording? _audit;
    private readonly ApprovalWebhook? _webhook;
    // A failing state file fails each client call that starts or uses a grant: one line per interval (each counted in WriteFailures).
    private readonly ThrottledWarning _stateWriteLine = new(LogRateLimit.IntervalMs);
    private readonly Func<IEnumerable<string>> _ruleApproverGroups;
    private readonly Dictionary<string, PendingApproval> _byId = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    // Set by CancelAllAsync (the gateway stops): no approval is added after it.
    private bool _stopping;
    // Decisions (approve, deny, revoke, expire, cancel) run one at a time: each is recorded before it applies.
    private readonly SemaphoreSlim _decisions = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sweeper;

    public ApprovalBroker(ApprovalOptions options, AuditRecording? audit, ApprovalWebhook? webhook, Func<IEnumerable<string>> ruleApproverGroups)
    {
        _options = options;
        _audit = audit;
        _webhook = webhook;
        _ruleApproverGroups = ruleApproverGroups;
        _sweeper = SweepAsync();
    }

    public ApprovalOptions Options => _options;

    /// <summary>The other replicas, asked for what this one does not hold (approvals.peers); null without any.</summary>
    public ApprovalPeers? Peers { get; init; }

    /// <summary>Where grant-mode approvals and open grants are kept across a restart (approvals.stateFile); null without one.</summary>
    public ApprovalStateFile? StateFile { get; init; }

    /// <summary>The webhook approval events are announced to; null when none is configured.</summary>
    public ApprovalWebhook? Webhook => _webhook;

    /// <summary>State files refused at start because they did not verify (fastmcp_approval_state_refused_total).</summary>
    public long StateRefused => Volatile.Read(ref _stateRefused);
    private long _stateRefused;

    /// <summary>Grants revoked by approvers (fastmcp_approvals_revoked_total).</summary>
    public long Revoked => Volatile.Read(ref _revoked);
    private long _revoked;

    /// <summary>Groups allowed to decide for a rule: its own approvers, or the configured approver groups.</summary>
    public string[] ApproverGroupsFor(CompiledRule rule) => rule.Approvers.Length > 0 ? rule.Approvers : [.. _options.ApproverGroups];

    /// <summary>May this identity use the approvals API at all (list, show, decide)?</summary>
    public bool IsApprover(Principal p)
    {
        if (p.IsAnonymous) return false;
        foreach (string g in _options.ApproverGroups)
            if (p.IsInGroup(g)) return true;
        foreach (string g in _ruleApproverGroups())
            if (p.IsInGroup(g)) return true;
        return false;
    }

    /// <summary>
    /// May this approver see this approval? Only members of the groups that may decide it (the rule's approvers, or
    /// the configured approver groups when the rule names none): an approval shows the call's arguments.
    /// </summary>
    public bool MaySee(Principal p, PendingApproval a) => a.MayApprove(p);

    public PendingApproval Create(Principal requester, CompiledRule rule, string method, string? target, string maskedArguments, string maskedParams, string digest,
        string clientAddress, Upstream.UpstreamRoute? route = null, string maskedQuery = "", string forwardedHeaders = "", string forwardedCookies = "") =>
        new(NewId(), requester, rule, ApproverGroupsFor(rule), method, target, maskedArguments, maskedParams, digest, DateTime.UtcNow, clientAddress)
        {
            Upstream = route?.Name,
            UpstreamUrl = route?.Describe(),
            Query = maskedQuery,
            Headers = forwardedHeaders,
            Cookies = forwardedCookies,
        };

    /// <summary>
    /// Makes a recorded approval visible to approvers. Null on success, else why it was refused (bounds, or a grant-mode
    /// approval that could not be saved: its id is given to the client only once it is in approvals.stateFile).
    /// </summary>
    public async ValueTask<string?> TryPublishAsync(PendingApproval a)
    {
        if (TryAdd(a) is { } refusal) return refusal;
        if (Persists(a))
        {
            try
            {
                await SaveStateAsync().ConfigureAwait(false);
            }
            catch (IOException e)
            {
                lock (_gate) _byId.Remove(a.Id);
                if (_stateWriteLine.TryTake(out int held)) Log.Error($"approval {a.Id} not started: {FastMcp.Http.PlainError.Describe(e)}" + LogRateLimit.Held(held));
                return "it could not be saved (approvals.stateFile); call again later";
            }
        }
        _webhook?.Publish("approval.requested", a);
        return null;
    }

    private string? TryAdd(PendingApproval a)
    {
        lock (_gate)
        {
            int pending = 0, mine = 0;
            foreach (PendingApproval p in _byId.Values)
            {
                if (p.State != ApprovalState.Pending) continue;
                pending++;
                if (p.Requester.Subject == a.Requester.Subject) mine++;
            }
            // Once the stop has cancelled what was pending, an approval added later would be held past it, unanswered.
            if (_stopping) return "the gateway is stopping: call again later";
            if (pending >= _options.MaxPending) return "too many approvals are pending on this gateway";
            if (mine >= _options.MaxPendingPerSubject) return "you have too many approvals pending";
            _byId.Add(a.Id, a);
        }
        return null;
    }

    public PendingApproval? Get(string id)
    {
        lock (_gate) return _byId.GetValueOrDefault(id);
    }

    public List<PendingApproval> List(bool includeDecided)
    {
        var list = new List<PendingApproval>();
        lock (_gate)
        {
            foreach (PendingApproval p in _byId.Values)
                if (includeDecided || p.State == ApprovalState.Pending) list.Add(p);
        }
        list.Sort(static (a, b) => a.CreatedUtc.CompareTo(b.CreatedUtc));
        return list;
    }

    /// <summary>Grant mode: a pending approval for the identical call by the same identity (asked again before the decision).</summary>
    public PendingApproval? FindPending(Principal requester, string ruleName, string digest, string? upstream = null)
    {
        lock (_gate)
        {
            foreach (PendingApproval p in _byId.Values)
                if (p.State == ApprovalState.Pending && p.Mode == ApprovalMode.Grant && Same(p, requester, ruleName, digest, upstream)) return p;
        }
        return null;
    }

    /// <summary>Grant mode: an approval whose window admits this identical call from this identity now.</summary>
    public PendingApproval? FindGrant(Principal requester, string ruleName, string digest, string? upstream = null)
    {
        DateTime now = DateTime.UtcNow;
        lock (_gate)
        {
            foreach (PendingApproval p in _byId.Values)
                if (p.State == ApprovalState.Approved && p.GrantUntilUtc > now && Same(p, requester, ruleName, digest, upstream)) return p;
        }
        return null;
    }

    /// <summary>
    /// Stands for an approval a peer holds (its id, expiry, and for a grant its approvers and window), so that this
    /// replica admits or refuses the call exactly as with its own; never published here.
    /// </summary>
    public PendingApproval FromPeer(string url, PeerLookupAnswer answer, Principal requester, CompiledRule rule, string method, string? target, string maskedArguments,
        string maskedParams, string digest, string clientAddress, Upstream.UpstreamRoute? route, string maskedQuery, string forwardedHeaders, string forwardedCookies)
    {
        var a = new PendingApproval(answer.Id!, requester, rule, ApproverGroupsFor(rule), method, target, maskedArguments, maskedParams, digest, DateTime.UtcNow, clientAddress)
        {
            PeerUrl = url,
            ExpiresUtc = DateTime.UnixEpoch.AddMilliseconds(answer.ExpiresAtMs),
            Upstream = route?.Name,
            UpstreamUrl = route?.Describe(),
            Query = maskedQuery,
            Headers = forwardedHeaders,
            Cookies = forwardedCookies,
        };
        if (answer.State == "grant")
        {
            foreach (string approver in answer.Approvers) a.AddVote(new ApprovalVote(approver, DateTime.UtcNow, null));
            a.State = ApprovalState.Approved;
            a.DecidedBy = answer.DecidedBy;
            a.GrantUntilUtc = DateTime.UnixEpoch.AddMilliseconds(answer.GrantUntilMs);
        }
        return a;
    }

    /// <summary>What this replica answers a peer's lookup: its live grant for the call, else its pending approval, else none.</summary>
    public PeerLookupAnswer AnswerLookup(PeerLookup lookup)
    {
        var requester = new Principal(lookup.Subject, [], [], null, lookup.Issuer, DateTimeOffset.UtcNow.AddMinutes(1));
        if (FindGrant(requester, lookup.Rule, lookup.Digest, lookup.Upstream) is { } grant)
        {
            var answer = new PeerLookupAnswer { State = "grant", Id = grant.Id, ExpiresAtMs = UnixMs(grant.ExpiresUtc), GrantUntilMs = UnixMs(grant.GrantUntilUtc!.Value), DecidedBy = grant.DecidedBy };
            foreach (ApprovalVote v in grant.Votes) answer.Approvers.Add(v.Approver);
            return answer;
        }
        if (FindPending(requester, lookup.Rule, lookup.Digest, lookup.Upstream) is { } pending)
            return new PeerLookupAnswer { State = "pending", Id = pending.Id, ExpiresAtMs = UnixMs(pending.ExpiresUtc) };
        return new PeerLookupAnswer();
    }

    /// <summary>
    /// A peer forwarded a call this replica's grant admitted: counted and announced as a local execution is. False when no such
    /// grant is held. A grant revoked since still counts it: the peer's lookup admitted the call before the revocation applied.
    /// </summary>
    public bool TakePeerExecution(PeerExecuted executed)
    {
        if (Get(executed.Id) is not { Mode: ApprovalMode.Grant, State: ApprovalState.Approved or ApprovalState.Revoked } grant
            || grant.Requester.Subject != executed.Subject || grant.Requester.Issuer != executed.Issuer) return false;
        MarkExecuted(grant, executed.HttpStatus);
        return true;
    }

    /// <summary>
    /// Does approval <paramref name="id"/>, held here, still stand for this identity under this rule (null: any rule)? Approved
    /// (a grant, even past its window: a closed window ends new calls, not the tasks it admitted) or executed (a held call)
    /// stands; revoked does not; anything else, or an approval not held here or held for someone else, is Unknown.
    /// </summary>
    public ApprovalStanding Standing(string id, string? issuer, string subject, string? rule)
    {
        if (Get(id) is not { PeerUrl: null } a || a.Requester.Subject != subject || a.Requester.Issuer != issuer
            || (rule is not null && a.RuleName != rule)) return ApprovalStanding.Unknown;
        return a.State switch
        {
            ApprovalState.Approved or ApprovalState.Executed => ApprovalStanding.Stands,
            ApprovalState.Revoked => ApprovalStanding.Revoked,
            _ => ApprovalStanding.Unknown,
        };
    }

    /// <summary>What this replica answers a peer asking whether one of its approvals still stands (a task it admitted, served there).</summary>
    public PeerStandingAnswer AnswerStanding(PeerStanding asked) => new()
    {
        State = Standing(asked.Id, asked.Issuer, asked.Subject, asked.Rule) switch
        {
            ApprovalStanding.Stands => "approved",
            ApprovalStanding.Revoked => "revoked",
            _ => "none",
        },
    };

    private static long UnixMs(DateTime utc) => (long)(utc - DateTime.UnixEpoch).TotalMilliseconds;

    // The same call to another upstream is another call (routes: docs/configuration.md).
    private static bool Same(PendingApproval p, Principal requester, string ruleName, string digest, string? upstream) =>
        p.Requester.Subject == requester.Subject && p.Requester.Issuer == requester.Issuer && p.RuleName == ruleName && p.Digest == digest && p.Upstream == upstream;

    public async Task<ApprovalActionResult> ApproveAsync(string id, Principal approver, string? comment, string clientAddress)
    {
        await _decisions.WaitAsync().ConfigureAwait(false);
        try
        {
            PendingApproval? a = Get(id);
            if (a is null) return ApprovalActionResult.Refused(404, $"no approval '{id}' on this gateway (unknown, or lost in a restart)");
            if (a.State != ApprovalState.Pending) return ApprovalActionResult.Refused(409, $"approval is already {Describe(a.State)}", a);
            if (DateTime.UtcNow >= a.ExpiresUtc) return ApprovalActionResult.Refused(409, "approval has expired", a);
            if (SameIdentity(approver, a.Requester)) return ApprovalActionResult.Refused(403, "requesters cannot approve their own calls");
            if (!a.MayApprove(approver)) return ApprovalActionResult.Refused(403, $"only members of [{string.Join(", ", a.ApproverGroups)}] may approve this call");
            foreach (ApprovalVote v in a.Votes)
                if (v.Approver == approver.Subject) return ApprovalActionResult.Refused(409, "you already approved this call; another approver is needed", a);

            var vote = new ApprovalVote(approver.Subject, DateTime.UtcNow, comment);
            bool complete = a.VoteCount + 1 >= a.RequiredApprovals;
            string detail = $"approval {a.Id} for {a.Requester.Subject}: approved by {approver.Subject} ({a.VoteCount + 1} of {a.RequiredApprovals})"
                + (complete ? a.Mode == ApprovalMode.Grant ? $"; identical call allowed until {Iso(DateTime.UtcNow + a.GrantWindow)}" : "; call released" : "")
                + (string.IsNullOrEmpty(comment) ? "" : $"; comment: {comment}");
            string? failure = await RecordAsync(a, AuditEventType.ApprovalGranted, approver, clientAddress, detail, approverField: approver.Subject).ConfigureAwait(false);
            if (failure is not null) return ApprovalActionResult.Refused(503, failure, a);

            a.AddVote(vote);
            if (complete)
            {
                a.State = ApprovalState.Approved;
                a.DecidedBy = approver.Subject;
                a.DecidedUtc = vote.AtUtc;
                if (a.Mode == ApprovalMode.Grant) a.GrantUntilUtc = vote.AtUtc + a.GrantWindow;
            }
            // Queued before the held call is released: released first, it could be forwarded and announced
            // approval.executed before this approval.approved (a webhook receiver saw them out of order).
            _webhook?.Publish("approval.approved", a);
            if (complete) a.Complete(ApprovalState.Approved);
            await SaveAfterChangeAsync(a).ConfigureAwait(false);
            return ApprovalActionResult.Ok(a);
        }
        finally
        {
            _decisions.Release();
        }
    }

    public async Task<ApprovalActionResult> DenyAsync(string id, Principal approver, string reason, string clientAddress)
    {
        await _decisions.WaitAsync().ConfigureAwait(false);
        try
        {
            PendingApproval? a = Get(id);
            if (a is null) return ApprovalActionResult.Refused(404, $"no approval '{id}' on this gateway (unknown, or lost in a restart)");
            if (a.State != ApprovalState.Pending) return ApprovalActionResult.Refused(409, $"approval is already {Describe(a.State)}", a);
            if (SameIdentity(approver, a.Requester)) return ApprovalActionResult.Refused(403, "requesters cannot decide their own calls");
            if (!a.MayApprove(approver)) return ApprovalActionResult.Refused(403, $"only members of [{string.Join(", ", a.ApproverGroups)}] may decide this call");

            string? failure = await RecordAsync(a, AuditEventType.ApprovalDenied, approver, clientAddress,
                $"approval {a.Id} for {a.Requester.Subject}: denied by {approver.Subject}: {reason}", approverField: approver.Subject).ConfigureAwait(false);
            if (failure is not null) return ApprovalActionResult.Refused(503, failure, a);

            a.State = ApprovalState.Denied;
            a.DecidedBy = approver.Subject;
            a.Reason = reason;
            a.DecidedUtc = DateTime.UtcNow;
            a.Complete(ApprovalState.Denied);
            await SaveAfterChangeAsync(a).ConfigureAwait(false);
            _webhook?.Publish("approval.denied", a);
            return ApprovalActionResult.Ok(a);
        }
        finally
        {
            _decisions.Release();
        }
    }

    /// <summary>
    /// Takes back an open grant before its window closes: recorded first (refused with 503 and not applied when it cannot be),
    /// then the identical call is no longer admitted here, nor on a replica asking this one (peers never keep a grant: each
    /// call asks). A call already admitted goes on. Any approver who may decide the approval may revoke it, the requester too
    /// when one of them: revoking only takes access away.
    /// </summary>
    public async Task<ApprovalActionResult> RevokeAsync(string id, Principal approver, string reason, string clientAddress)
    {
        await _decisions.WaitAsync().ConfigureAwait(false);
        try
        {
            PendingApproval? a = Get(id);
            if (a is null) return ApprovalActionResult.Refused(404, $"no approval '{id}' on this gateway (unknown, or lost in a restart)");
            if (!a.MayApprove(approver)) return ApprovalActionResult.Refused(403, $"only members of [{string.Join(", ", a.ApproverGroups)}] may revoke this grant");
            if (a.Mode != ApprovalMode.Grant) return ApprovalActionResult.Refused(409, "only a grant-mode approval can be revoked: a hold-mode one admits its one held call", a);
            if (a.State != ApprovalState.Approved) return ApprovalActionResult.Refused(409, $"approval is {Describe(a.State)}: only an open grant can be revoked", a);
            DateTime now = DateTime.UtcNow;
            if (a.GrantUntilUtc is not { } until || until <= now)
                return ApprovalActionResult.Refused(409, $"the grant's window closed at {(a.GrantUntilUtc is { } closed ? Iso(closed) : "its decision")}: nothing left to revoke", a);

            string detail = $"approval {a.Id} for {a.Requester.Subject}: revoked by {approver.Subject} after {a.Executions} execution(s), identical call no longer allowed "
                + $"(grant was open until {Iso(until)}); digest {a.Digest}; reason: {reason}";
            string? failure = await RecordAsync(a, AuditEventType.ApprovalRevoked, approver, clientAddress, detail, approverField: approver.Subject).ConfigureAwait(false);
            if (failure is not null) return ApprovalActionResult.Refused(503, failure, a);

            // Under the gate FindGrant reads: from here no lookup, local or a peer's, finds the grant.
            lock (_gate)
            {
                a.State = ApprovalState.Revoked;
                a.RevokedBy = approver.Subject;
                a.RevokedUtc = DateTime.UtcNow;
                a.Reason = reason;
            }
            Interlocked.Increment(ref _revoked);
            await SaveAfterRevocationAsync(a).ConfigureAwait(false);
            _webhook?.Publish("approval.revoked", a);
            return ApprovalActionResult.Ok(a);
        }
        finally
        {
            _decisions.Release();
        }
    }

    /// <summary>Ends a pending approval without a decision (held client gone, gateway stopping).</summary>
    public async Task CancelAsync(PendingApproval a, string reason)
    {
        await _decisions.WaitAsync().ConfigureAwait(false);
        try
        {
            if (a.State != ApprovalState.Pending) return;
            await EndAsync(a, ApprovalState.Cancelled, $"approval {a.Id} for {a.Requester.Subject}: cancelled: {reason}", reason).ConfigureAwait(false);
        }
        finally
        {
            _decisions.Release();
        }
    }

    /// <summary>
    /// Its caller withdrew the held call (notifications/cancelled) before it was written to the upstream: a pending approval
    /// is cancelled as <see cref="CancelAsync"/> does, and so is an approved one in hold mode (its call will never run).
    /// Decided otherwise (denied, expired, executed), it stays as it is.
    /// </summary>
    public async Task WithdrawAsync(PendingApproval a, string reason)
    {
        await _decisions.WaitAsync().ConfigureAwait(false);
        try
        {
            if (a.State != ApprovalState.Pending && !(a.State == ApprovalState.Approved && a.Mode == ApprovalMode.Hold)) return;
            await EndAsync(a, ApprovalState.Cancelled, $"approval {a.Id} for {a.Requester.Subject}: cancelled: {reason}", reason).ConfigureAwait(false);
        }
        finally
        {
            _decisions.Release();
        }
    }

    /// <summary>Called when an approved call was forwarded; the exchange records carry the approval itself.</summary>
    public void MarkExecuted(PendingApproval a, int httpStatus)
    {
        // A peer's grant: the holder counts the execution and announces it (best effort, never delays the answer).
        if (a.PeerUrl is { } peer)
        {
            Peers?.TellExecuted(peer, a, httpStatus);
            return;
        }
        lock (_gate)
        {
            a.Executions++;
            if (a.Mode == ApprovalMode.Hold) a.State = ApprovalState.Executed;
        }
        // The count is saved off the answer's path; a later write or the final one at stop carries it if this one fails.
        if (Persists(a)) _ = Task.Run(() => SaveAfterChangeAsync(a));
        _webhook?.Publish("approval.executed", a, httpStatus);
    }

    /// <summary>
    /// On shutdown: every pending approval is cancelled and recorded, so no held call waits for a decision that cannot come;
    /// with approvals.stateFile grant-mode approvals are kept there instead, for the next start to serve.
    /// </summary>
    public async Task CancelAllAsync(string reason)
    {
        // Under the gate that adds approvals: each one is either listed here and cancelled, or refused by TryAdd.
        lock (_gate) _stopping = true;
        int kept = 0;
        foreach (PendingApproval a in List(includeDecided: false))
        {
            if (Persists(a)) kept++;
            else await CancelAsync(a, reason).ConfigureAwait(false);
        }
        if (kept > 0) Log.Info($"approvals: {kept} pending grant-mode approval(s) kept in approvals.stateFile for the next start");
    }

    private async Task EndAsync(PendingApproval a, ApprovalState state, string detail, string reason)
    {
        // Expiry and cancellation happen whether or not the audit can record them: a held call must
        // not wait forever. A failed record is logged and counts as an audit outage.
        await RecordAsync(a, AuditEventType.ApprovalExpired, null, a.ClientAddress, detail, approverField: null).ConfigureAwait(false);
        a.State = state;
        a.Reason = reason;
        a.DecidedUtc = DateTime.UtcNow;
        a.Complete(state);
        await SaveAfterChangeAsync(a).ConfigureAwait(false);
        _webhook?.Publish(state == ApprovalState.Expired ? "approval.expired" : "approval.cancelled", a);
    }

    /// <summary>Does approvals.stateFile keep this approval? Grant mode only: a held call's connection does not outlive the process.</summary>
    private bool Persists(PendingApproval a) => StateFile is not null && a.Mode == ApprovalMode.Grant && a.PeerUrl is null;

    /// <summary>
    /// Saves after a decision or an execution. The change already applies (it is recorded in the audit log): a failure to
    /// save is logged and counted, and at worst the next start lacks it (a grant lost, never one made).
    /// </summary>
    private async Task SaveAfterChangeAsync(PendingApproval a)
    {
        if (!Persists(a)) return;
        try
        {
            await SaveStateAsync().ConfigureAwait(false);
        }
        catch (IOException e)
        {
            if (_stateWriteLine.TryTake(out int held))
                Log.Error($"approval {a.Id}: {FastMcp.Http.PlainError.Describe(e)}; the change applies, but a restart before the next successful write loses it" + LogRateLimit.Held(held));
        }
    }

    /// <summary>
    /// Saves after a revocation. Unlike any other change, a file left as it was would give the revoked grant back at the next
    /// start. When the write fails after its generation was recorded, the chain is ahead of the file and a start refuses the
    /// file (approvals and grants lost, never the revoked grant kept). When even the record could not be made, the file is
    /// removed instead, and only when that fails too does the bound remain, logged.
    /// </summary>
    private async Task SaveAfterRevocationAsync(PendingApproval a)
    {
        if (!Persists(a)) return;
        try
        {
            await SaveStateAsync().ConfigureAwait(false);
        }
        catch (IOException e)
        {
            // The chain already holds the generation of the write that failed: a start refuses the older file on disk.
            if (StateFile!.DiskBehindChain)
                Log.Error($"approval {a.Id} revoked: {FastMcp.Http.PlainError.Describe(e)}; the file on disk is older than the generation the audit chain recorded, so a start refuses it (no approval or grant restored) rather than bring the grant back");
            else if (await StateFile.TryRemoveAsync().ConfigureAwait(false))
                Log.Error($"approval {a.Id} revoked: {FastMcp.Http.PlainError.Describe(e)}; the file was removed instead, so a restart before the next successful write restores no approval or grant");
            else
                Log.Error($"approval {a.Id} revoked: {FastMcp.Http.PlainError.Describe(e)}, and the file could not be removed: a restart before the next successful write would restore the revoked grant");
        }
    }

    private Task SaveStateAsync() => StateFile!.SaveAsync(SnapshotState, AnchorAsync);

    /// <summary>The file's body now, as generation <paramref name="generation"/>: grant-mode approvals still pending and grants whose window is open.</summary>
    private ApprovalStateSnapshot SnapshotState(long generation)
    {
        DateTime now = DateTime.UtcNow;
        var kept = new List<PendingApproval>();
        int pending = 0;
        lock (_gate)
        {
            foreach (PendingApproval p in _byId.Values)
            {
                if (p.Mode != ApprovalMode.Grant) continue;
                if ((p.State == ApprovalState.Pending && p.ExpiresUtc > now) || (p.State == ApprovalState.Approved && p.GrantUntilUtc > now)) kept.Add(p);
            }
            kept.Sort(static (x, y) => x.CreatedUtc.CompareTo(y.CreatedUtc));
            foreach (PendingApproval p in kept)
                if (p.State == ApprovalState.Pending) pending++;
            return new ApprovalStateSnapshot(ApprovalStateJson.Write(kept, now, generation, _audit?.Log.ChainId ?? ""), pending, kept.Count - pending);
        }
    }

    /// <summary>Records the generation about to be written (record first, then file); the write does not happen when it cannot be recorded.</summary>
    private async ValueTask AnchorAsync(long generation, ApprovalStateSnapshot snapshot)
    {
        if (_audit is null) return;
        try
        {
            await _audit.RecordApprovalStateAsync(true, ApprovalStateAnchor.Written(generation, snapshot, StateFile!.Path)).ConfigureAwait(false);
            Volatile.Write(ref _anchoredSegment, _audit.Log.CurrentSegment);
        }
        catch (AuditUnavailableException e)
        {
            throw new IOException($"the audit log cannot record its generation {generation}, so it is not written: {FastMcp.Http.PlainError.Describe(e)}", e);
        }
    }

    // The segment the newest ApprovalState record went into; the sweeper carries the generation into each later one.
    private long _anchoredSegment;

    /// <summary>
    /// Once the audit log has moved to a new segment, records the newest generation in it too, so that the chain's local
    /// tail holds it however long no approval changes (shipping removes old segments from the host).
    /// </summary>
    private async Task CarryGenerationAsync()
    {
        if (StateFile is not { } file || _audit is null) return;
        long segment = _audit.Log.CurrentSegment, generation = file.AnchoredGeneration;
        if (generation == 0 || segment == Volatile.Read(ref _anchoredSegment)) return;
        try
        {
            await _audit.RecordApprovalStateAsync(true, ApprovalStateAnchor.Carried(generation, segment)).ConfigureAwait(false);
            Volatile.Write(ref _anchoredSegment, segment);
        }
        catch (AuditUnavailableException)
        {
            // Tried again on the next tick; the outage itself is recorded by the log.
        }
    }

    /// <summary>
    /// At start, before any call is served: takes back the approvals approvals.stateFile holds (those whose approval or
    /// grant time is over are dropped), records each in the audit log, and writes the file anew, so that a file that cannot
    /// be written is a start error. A file that does not verify restores nothing (logged, counted).
    /// </summary>
    public async Task RestoreAsync()
    {
        if (StateFile is not { } file) return;
        ApprovalStateLoad load = file.Load();
        ChainGeneration chain = _audit is null ? new ChainGeneration(null, "no audit log") : await ApprovalStateAnchor.NewestAsync(_audit.Log).ConfigureAwait(false);
        if (load.Refusal is { } why)
        {
            Interlocked.Increment(ref _stateRefused);
            Log.Error($"approvals.stateFile: '{file.Path}' does not verify: {why}; nothing restored from it, starting with no approvals (the file is kept as '{load.KeptAs}')");
            await RecordRefusalAsync($"approvals.stateFile '{file.Path}' refused at start: it does not verify: {why}; nothing restored (kept as '{load.KeptAs}')").ConfigureAwait(false);
        }
        else if (load.Legacy && chain.NoneRecorded)
        {
            // The first start after upgrading: the chain never recorded a generation, so no write of this file was ever
            // bound to it and none can be newer than this one. Trusted as the version before trusted it, once: this start
            // records generation 1, and from then on a file without a generation is refused.
            Log.Warn($"approvals.stateFile: '{file.Path}' was written before generations and the audit chain holds none ({chain.Problem}); "
                + "restoring it this once (first start after upgrading), and a file without a generation is refused from now on");
            await RecordStateAsync(true, $"approvals.stateFile '{file.Path}' written before generations accepted at start, once: the audit chain holds no generation "
                + "(first start after upgrading); a file without one is refused from this start on").ConfigureAwait(false);
        }
        else if (load.Legacy)
        {
            string before = chain.Generation is { } recorded
                ? $"it was written before generations (it has none), and the audit chain recorded generation {recorded}: a copy from before the upgrade put back"
                : $"it was written before generations (it has none), and the chain cannot show that it never recorded one: {chain.Problem}";
            load = await RefuseVerifiedAsync(file, load, before).ConfigureAwait(false);
        }
        else if (load.Verified && Unvouched(load, chain) is { } stale)
        {
            // It verifies (the gateway wrote it), but not as the newest state the chain says was written: an older copy put
            // back, or a file the chain cannot vouch for. Trusting it could bring back what was revoked or decided since.
            load = await RefuseVerifiedAsync(file, load, stale).ConfigureAwait(false);
        }
        else if (load.Verified && load.Generation > chain.Generation)
        {
            // Record first (durable and under a signed checkpoint), then file: a file ahead of the chain is one whose records
            // the chain's tail no longer shows without its start having found tampering (a disk that lost acknowledged writes,
            // or the tail rolled back with an older checkpoint object). It is the newest state there is, so it is the one to trust.
            Log.Warn($"approvals.stateFile: '{file.Path}' is generation {load.Generation}, the audit chain's newest is {chain.Generation}: "
                + "the records of the newer writes are not in the chain's tail (lost by the disk, or the tail rolled back with its checkpoint); restoring the file");
        }
        file.ContinueFrom(Math.Max(load.Generation, chain.Generation ?? 0));
        DateTime now = DateTime.UtcNow;
        int restored = 0, dropped = 0;
        foreach (PendingApproval a in load.Approvals)
        {
            bool live = a.State == ApprovalState.Pending ? a.ExpiresUtc > now : a.GrantUntilUtc > now;
            if (!live || Get(a.Id) is not null)
            {
                dropped++;
                // So the chain says where an approval the requester was told about went (a closed grant window is never recorded).
                if (!live && a.State == ApprovalState.Pending)
                {
                    await RecordAsync(a, AuditEventType.ApprovalExpired, null, a.ClientAddress,
                        $"approval {a.Id} for {a.Requester.Subject}: expired without a decision after {(a.ExpiresUtc - a.CreatedUtc).TotalSeconds:0} s, while the gateway was stopped "
                        + "(found in approvals.stateFile)", approverField: null).ConfigureAwait(false);
                }
                continue;
            }
            string detail = a.State == ApprovalState.Pending
                ? $"approval {a.Id} for {a.Requester.Subject} restored from approvals.stateFile: pending, {a.VoteCount} of {a.RequiredApprovals} approvals, expires {Iso(a.ExpiresUtc)}; digest {a.Digest}"
                : $"approval {a.Id} for {a.Requester.Subject} restored from approvals.stateFile: approved by {a.ApproverList()}, identical call allowed until {Iso(a.GrantUntilUtc!.Value)}, "
                    + $"{a.Executions} execution(s) so far; digest {a.Digest}";
            // Only what the audit log shows coming back may admit a call.
            if (await RecordAsync(a, AuditEventType.ApprovalRestored, null, a.ClientAddress, detail, a.VoteCount > 0 ? a.ApproverList() : null).ConfigureAwait(false) is not null)
            {
                dropped++;
                continue;
            }
            lock (_gate) _byId.Add(a.Id, a);
            restored++;
        }
        if (restored > 0 || dropped > 0)
            Log.Info($"approvals.stateFile: restored {restored} grant-mode approval(s) and grant(s) from '{file.Path}', dropped {dropped} (expired, or not recorded)");
        await SaveStateAsync().ConfigureAwait(false);
    }

    /// <summary>Why a verified file is not trusted: written for another chain, or older than (or unknown to) the chain's newest generation.</summary>
    private string? Unvouched(ApprovalStateLoad load, ChainGeneration chain)
    {
        string mine = _audit?.Log.ChainId ?? "";
        if (load.Chain != mine) return $"it was written for audit chain '{load.Chain}', and this gateway records chain '{mine}'";
        if (chain.Generation is not { } newest) return $"it is generation {load.Generation}, and {chain.Problem}";
        if (load.Generation < newest)
        {
            return $"it is generation {load.Generation}, older than generation {newest} the audit chain recorded last "
                + "(an older copy put back, or a stop or crash between the record of a write and the write)";
        }
        return null;
    }

    /// <summary>Refuses a file that verified but that the chain does not vouch for: set aside, counted, logged and recorded like one that does not verify.</summary>
    private async Task<ApprovalStateLoad> RefuseVerifiedAsync(ApprovalStateFile file, ApprovalStateLoad load, string why)
    {
        load = file.Refuse(load, why);
        Interlocked.Increment(ref _stateRefused);
        Log.Error($"approvals.stateFile: '{file.Path}' refused: {why}; nothing restored from it, starting with no approvals (the file is kept as '{load.KeptAs}')");
        await RecordRefusalAsync($"approvals.stateFile '{file.Path}' refused at start: {why}; nothing restored (kept as '{load.KeptAs}')").ConfigureAwait(false);
        return load;
    }

    /// <summary>A refused file at start, in the chain (a failure to record it is logged: the refusal stands either way).</summary>
    private Task RecordRefusalAsync(string detail) => RecordStateAsync(false, detail);

    private async Task RecordStateAsync(bool success, string detail)
    {
        if (_audit is null) return;
        try
        {
            await _audit.RecordApprovalStateAsync(success, detail).ConfigureAwait(false);
        }
        catch (AuditUnavailableException)
        {
            Log.Error($"audit log unavailable: the ApprovalState record '{detail}' is not recorded");
        }
    }

    private async Task<string?> RecordAsync(PendingApproval a, AuditEventType type, Principal? actor, string clientAddress, string detail, string? approverField)
    {
        if (_audit is null) return null;
        try
        {
            await _audit.RecordApprovalEventAsync(a, type, actor, clientAddress, detail, approverField).ConfigureAwait(false);
            return null;
        }
        catch (AuditUnavailableException)
        {
            Log.Error($"audit log unavailable: {type} for approval {a.Id} is not recorded");
            return "audit log unavailable: the decision was not recorded, so it was not applied";
        }
    }

    private async Task SweepAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                await CarryGenerationAsync().ConfigureAwait(false);
                DateTime now = DateTime.UtcNow;
                List<PendingApproval> expired = [];
                lock (_gate)
                {
                    List<string>? forget = null;
                    foreach (PendingApproval p in _byId.Values)
                    {
                        if (p.State == ApprovalState.Pending && now >= p.ExpiresUtc) expired.Add(p);
                        // Retained from the last thing that happened to it: the decision, the window's end, or the revocation.
                        DateTime? end = p.State == ApprovalState.Revoked ? p.RevokedUtc : p.GrantUntilUtc > p.DecidedUtc ? p.GrantUntilUtc : p.DecidedUtc;
                        if (p.State != ApprovalState.Pending && end is { } e && now - e > TimeSpan.FromSeconds(_options.RetainDecidedSeconds))
                            (forget ??= []).Add(p.Id);
                    }
                    if (forget is not null)
                        foreach (string id in forget) _byId.Remove(id);
                }
                foreach (PendingApproval p in expired)
                {
                    await _decisions.WaitAsync(_stop.Token).ConfigureAwait(false);
                    try
                    {
                        if (p.State == ApprovalState.Pending)
                            await EndAsync(p, ApprovalState.Expired, $"approval {p.Id} for {p.Requester.Subject}: expired without a decision after {(p.ExpiresUtc - p.CreatedUtc).TotalSeconds:0} s",
                                "no decision before the approval timeout").ConfigureAwait(false);
                    }
                    finally
                    {
                        _decisions.Release();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static bool SameIdentity(Principal a, Principal b) => a.Subject == b.Subject && a.Issuer == b.Issuer;

    public static string Describe(ApprovalState s) => s switch
    {
        ApprovalState.Pending => "pending",
        ApprovalState.Approved => "approved",
        ApprovalState.Denied => "denied",
        ApprovalState.Expired => "expired",
        ApprovalState.Cancelled => "cancelled",
        ApprovalState.Revoked => "revoked",
        _ => "executed",
    };

    public static string Iso(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>"apr_" + 26 base32 characters of 128 random bits: unguessable, URL- and shell-safe.</summary>
    private static string NewId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        Span<char> chars = stackalloc char[30];
        "apr_".CopyTo(chars);
        int bit = 0;
        for (int i = 0; i < 26; i++, bit += 5)
        {
            int byteIndex = bit >> 3, shift = bit & 7;
            int value = bytes[byteIndex] << 8 | (byteIndex + 1 < 16 ? bytes[byteIndex + 1] : 0);
            chars[4 + i] = alphabet[(value >> (11 - shift)) & 31];
        }
        return new string(chars);
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        try { await _sweeper.ConfigureAwait(false); } catch (OperationCanceledException) { }
        // The last word on disk: executions counted since the last write, and nothing of the approvals cancelled at stop.
        if (StateFile is not null)
        {
            try { await SaveStateAsync().ConfigureAwait(false); }
            catch (IOException e) { Log.Error($"approvals: {FastMcp.Http.PlainError.Describe(e)}"); }
        }
        _stop.Dispose();
        Peers?.Dispose();
        if (_webhook is not null) await _webhook.DisposeAsync().ConfigureAwait(false);
    }
}
