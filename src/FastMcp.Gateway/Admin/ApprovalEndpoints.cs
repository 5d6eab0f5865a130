using System.Net;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;
using FastMcp.Http;
using FastMcp.Identity;
using HttpMethod = FastMcp.Http.HttpMethod;

namespace FastMcp.Gateway.Admin;

/// <summary>
/// The approvals API on the admin listener, for approvers only (bearer tokens verified exactly as
/// on the MCP endpoint, through AdminAccess). An approval is shown only to those who may decide it (docs/approvals.md):
///   GET  /approvals[?state=all]       pending approvals (or all still retained)
///   GET  /approvals/{id}              one approval
///   POST /approvals/{id}/approve      {"comment": "..."} optional
///   POST /approvals/{id}/deny         {"reason": "..."} required
///   POST /approvals/{id}/revoke       {"reason": "..."} required; an open grant only
/// </summary>
/// <remarks>
/// Every answer is recorded before it is sent (AdminRequestTrail), except a decision that applied: its ApprovalGranted,
/// ApprovalDenied or ApprovalRevoked record, written by the replica holding the approval, is the record. A request relayed
/// from another replica (PeerEndpoints) is recorded by the replica the approver called, not again here.
/// </remarks>
internal sealed class ApprovalEndpoints(ApprovalBroker broker, AdminAccess access, AdminRequestTrail trail)
{
    private const int MaxTextLength = 1000;

    public static bool Matches(ReadOnlySpan<byte> path) =>
        path.SequenceEqual("/approvals"u8) || path.StartsWith("/approvals/"u8);

    public async ValueTask<LocalResponse> HandleAsync(HttpRequestHead request, ReadOnlyMemory<byte> body, IPEndPoint remote)
    {
        AdminCaller authenticated = await access.AuthenticateAsync(request, remote, AdminView.Approvals).ConfigureAwait(false);
        if (authenticated.Principal is not { } caller) return authenticated.Refusal;
        string method = request.Method switch { HttpMethod.Get => "GET", HttpMethod.Post => "POST", _ => "OTHER" };
        string bodyText = body.IsEmpty ? "" : Encoding.UTF8.GetString(body.Span);
        string path = Encoding.ASCII.GetString(request.Path), query = AdminRequestTrail.QueryText(request.Query), address = ClientAddress(remote);
        LocalResponse answer = await AnswerAsync(caller, method, path, request.Query.SequenceEqual("?state=all"u8), bodyText, address, askPeers: true).ConfigureAwait(false);
        if (method == "POST" && answer.Status == 200) return answer;
        return await trail.RecordAsync(AdminView.Approvals, caller, address, method, path, query, Describe(path), answer).ConfigureAwait(false);
    }

    /// <summary>What an approvals API request showed or tried, for its record.</summary>
    private static string Describe(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries).Length switch
    {
        1 => "admin: approvals list",
        2 => "admin: approval",
        _ => "admin: approval decision, not applied",
    };

    public static string ClientAddress(IPEndPoint remote) => (remote.Address.IsIPv4MappedToIPv6 ? remote.Address.MapToIPv4() : remote.Address).ToString();

    /// <summary>
    /// Answers an authenticated approver's request. <paramref name="askPeers"/>: an id this replica does not hold is
    /// asked of the peers, and lists merge theirs; false when a peer relays the request here (the holder answers alone).
    /// </summary>
    public async ValueTask<LocalResponse> AnswerAsync(Principal caller, string method, string path, bool all, string body, string address, bool askPeers)
    {
        if (!broker.IsApprover(caller)) return Error(403, $"{caller.Subject} is not an approver");
        ApprovalPeers? peers = askPeers ? broker.Peers : null;

        string[] parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries); // "approvals", id, action
        if (parts.Length == 1)
        {
            if (method != "GET") return Error(405, "use GET", "Allow: GET\r\n");
            var list = new ApprovalListView();
            foreach (PendingApproval a in broker.List(includeDecided: all))
                if (broker.MaySee(caller, a)) list.Approvals.Add(ApprovalView.From(a));
            if (peers is not null) await MergePeerListsAsync(peers, list, caller, path, all, address).ConfigureAwait(false);
            return Json(200, JsonSerializer.SerializeToUtf8Bytes(list, ApprovalJsonContext.Default.ApprovalListView));
        }
        string id = parts[1];
        if (parts.Length == 2)
        {
            if (method != "GET") return Error(405, "use GET", "Allow: GET\r\n");
            if (broker.Get(id) is not { } a)
                return peers is null ? NotHeld(id) : await FromHolderAsync(peers, id, caller, method, path, all, body, address).ConfigureAwait(false);
            return broker.MaySee(caller, a) ? View(200, a) : Error(403, $"only members of [{string.Join(", ", a.ApproverGroups)}] may see this approval");
        }
        // Who may not decide an approval learns nothing about it from any answer, a refusal included.
        if (broker.Get(id) is { } target && !broker.MaySee(caller, target))
            return Error(403, $"only members of [{string.Join(", ", target.ApproverGroups)}] may decide this call");
        if (parts.Length != 3 || parts[2] is not ("approve" or "deny" or "revoke")) return Error(404, "not found");
        if (method != "POST") return Error(405, "use POST", "Allow: POST\r\n");
        // The holder authenticates nothing itself for a relayed request: it applies every check below to the principal passed.
        if (broker.Get(id) is null && peers is not null) return await FromHolderAsync(peers, id, caller, method, path, all, body, address).ConfigureAwait(false);

        DecisionRequest decision;
        try
        {
            decision = body.Length == 0 ? new DecisionRequest() : JsonSerializer.Deserialize(body, ApprovalJsonContext.Default.DecisionRequest) ?? new DecisionRequest();
        }
        catch (JsonException e)
        {
            return Error(400, $"body is not a valid decision object: {FastMcp.Http.PlainError.Describe(e)}");
        }
        if (decision.Comment is { Length: > MaxTextLength } || decision.Reason is { Length: > MaxTextLength })
            return Error(400, $"comment and reason are limited to {MaxTextLength} characters");

        ApprovalActionResult result;
        if (parts[2] == "approve")
        {
            result = await broker.ApproveAsync(id, caller, Clean(decision.Comment), address).ConfigureAwait(false);
        }
        else
        {
            string? reason = Clean(decision.Reason);
            bool revoke = parts[2] == "revoke";
            if (string.IsNullOrEmpty(reason)) return Error(400, $"a {(revoke ? "revocation" : "denial")} needs a reason (a JSON body with a reason field)");
            result = revoke
                ? await broker.RevokeAsync(id, caller, reason, address).ConfigureAwait(false)
                : await broker.DenyAsync(id, caller, reason, address).ConfigureAwait(false);
        }
        if (result.Status == 200)
        {
            Log.Info($"approval {id}: {parts[2]} by {caller.Subject}");
            return View(200, result.Approval!);
        }
        // A 403 (self-approval, wrong group) carries only the error; other refusals show the approval to whoever may decide it.
        return Error(result.Status, result.Error!, approval: result.Status == 403 ? null : result.Approval);
    }

    private static LocalResponse NotHeld(string id, List<string>? unreachable = null) =>
        Error(404, $"no approval '{id}' on this gateway (unknown, or lost in a restart)", unreachable: unreachable);

    /// <summary>
    /// An id this replica does not hold: the peer that holds it answers (its status and body relayed as they are); 404 when
    /// none does, naming the peers that could not be asked.
    /// </summary>
    private static async ValueTask<LocalResponse> FromHolderAsync(ApprovalPeers peers, string id, Principal caller, string method, string path, bool all, string body,
        string address)
    {
        List<string>? unreachable = null;
        foreach (PeerAnswer answer in await peers.RelayAsync(caller, method, path, all, body, address).ConfigureAwait(false))
        {
            if (answer.Outcome == PeerOutcome.Failed) (unreachable ??= []).Add(answer.Url);
            else if (answer.Outcome == PeerOutcome.Answered && answer.Status != 404) return Json(answer.Status, answer.Body);
        }
        return NotHeld(id, unreachable);
    }

    /// <summary>Adds each peer's list (filtered by that peer for the caller), oldest first; peers that could not be asked are named.</summary>
    private static async ValueTask MergePeerListsAsync(ApprovalPeers peers, ApprovalListView list, Principal caller, string path, bool all, string address)
    {
        foreach (PeerAnswer answer in await peers.RelayAsync(caller, "GET", path, all, null, address).ConfigureAwait(false))
        {
            if (answer.Outcome == PeerOutcome.Self) continue;
            ApprovalListView? theirs = null;
            if (answer.Outcome == PeerOutcome.Answered && answer.Status == 200)
            {
                try { theirs = JsonSerializer.Deserialize(answer.Body, ApprovalJsonContext.Default.ApprovalListView); }
                catch (JsonException) { theirs = null; }
            }
            if (theirs is null)
            {
                (list.Unreachable ??= []).Add(answer.Url);
                continue;
            }
            foreach (ApprovalView a in theirs.Approvals)
            {
                a.HeldBy = answer.Url;
                list.Approvals.Add(a);
            }
        }
        // ISO-8601 UTC with fixed digits sorts as text.
        list.Approvals.Sort(static (a, b) => string.CompareOrdinal(a.CreatedAt, b.CreatedAt));
    }

    /// <summary>Free text goes into audit details, messages and the webhook on one line, card numbers masked.</summary>
    private static string? Clean(string? text) => text is null ? null : CardText.Mask(text.Replace('\r', ' ').Replace('\n', ' ').Trim());

    private static LocalResponse View(int status, PendingApproval a) =>
        Json(status, JsonSerializer.SerializeToUtf8Bytes(ApprovalView.From(a), ApprovalJsonContext.Default.ApprovalView));

    private static LocalResponse Error(int status, string message, string extraHeaders = "", PendingApproval? approval = null, List<string>? unreachable = null) =>
        new(status, "application/json", JsonSerializer.SerializeToUtf8Bytes(
            new ApiError { Error = message, Approval = approval is null ? null : ApprovalView.From(approval), Unreachable = unreachable }, ApprovalJsonContext.Default.ApiError),
            extraHeaders);

    private static LocalResponse Json(int status, byte[] body) => new(status, "application/json", body);
}
