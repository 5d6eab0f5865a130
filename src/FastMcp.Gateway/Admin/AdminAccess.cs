using System.Net;
using System.Text;
using System.Text.Json;
using FastMcp.Gateway.Approvals;
using FastMcp.Gateway.Hosting;
using FastMcp.Gateway.Stages;
using FastMcp.Http;
using FastMcp.Identity;

namespace FastMcp.Gateway.Admin;

/// <summary>The caller of an admin request, or the refusal to answer it with.</summary>
internal readonly record struct AdminCaller(Principal? Principal, LocalResponse Refusal);

/// <summary>
/// Who may use a view of the admin listener that needs a caller: the bearer token is verified exactly as on the MCP
/// endpoint (same issuers, audience, algorithms; a DPoP-bound token with a proof for the admin listener's URL as the
/// client addressed it; certificate-bound tokens refused, the listener seeing no client certificate), then the view's
/// rule decides. One path for the approvals API, /tools/observed and an operator's token on /metrics, so they cannot
/// drift apart; every refusal is counted and logged (AdminAccessRefusals).
/// </summary>
internal sealed class AdminAccess(Authentication? authentication, ApprovalBroker? approvers, IReadOnlyList<string> operatorGroups, AdminAccessRefusals refusals)
{
    public AdminAccessRefusals Refusals => refusals;

    /// <summary>False in anonymous and pass-through mode: nobody presents a token there.</summary>
    public bool VerifiesTokens => authentication is { IsAnonymous: false };

    /// <summary>An approver (approvals.approverGroups, or a group a rule lists as approvers) or a member of admin.operatorGroups.</summary>
    public bool IsOperator(Principal p)
    {
        if (p.IsAnonymous) return false;
        if (approvers?.IsApprover(p) == true) return true;
        foreach (string g in operatorGroups)
            if (p.IsInGroup(g)) return true;
        return false;
    }

    /// <summary>May see the view's contents: approvers for the approvals API, operators for the others.</summary>
    private bool Allowed(AdminView view, Principal p) => view == AdminView.Approvals ? approvers?.IsApprover(p) == true : IsOperator(p);

    /// <summary>
    /// The caller of <paramref name="request"/> when its token verifies and it may use <paramref name="view"/>; otherwise
    /// the refusal: 401 with the challenge the MCP endpoint would give (no or no valid token), 403 (a verified caller not
    /// allowed, or a gateway that verifies no tokens).
    /// </summary>
    public async ValueTask<AdminCaller> AuthenticateAsync(HttpRequestHead request, IPEndPoint remote, AdminView view)
    {
        string address = ApprovalEndpoints.ClientAddress(remote);
        if (!VerifiesTokens)
            return Refuse(view, 403, address, view == AdminView.Approvals
                ? "approvals need identified approvers: the gateway runs in anonymous mode"
                : $"{AdminAccessRefusals.Path(view)} needs an operator's token, and the gateway verifies none (anonymous mode){OpenHint(view)}");
        // A DPoP proof names this listener's URL, as the client addressed it.
        string origin = "http://" + Encoding.ASCII.GetString(request.Host);
        AuthResult auth = await authentication!.AuthenticateAsync(request, certificate: null, origin).ConfigureAwait(false);
        if (!auth.Succeeded)
        {
            string reason = auth.Description ?? auth.Failure.ToString();
            return Refuse(view, ResourceMetadata.StatusCode(auth.Failure), address, reason,
                Encoding.ASCII.GetString(authentication.ChallengeLines(auth.Failure, request)));
        }
        Principal caller = auth.Principal!;
        if (!Allowed(view, caller))
            return Refuse(view, 403, address, view == AdminView.Approvals
                ? $"{caller.Subject} is not an approver"
                : $"{caller.Subject} is neither an approver nor a member of admin.operatorGroups");
        return new AdminCaller(caller, default);
    }

    /// <summary>Counts and logs a refusal, and gives the JSON answer {"error":…} the approvals API gives.</summary>
    public AdminCaller Refuse(AdminView view, int status, string address, string error, string extraHeaders = "")
    {
        refusals.Count(view, status, address, () => error);
        return new AdminCaller(null, Error(status, error, extraHeaders));
    }

    public static LocalResponse Error(int status, string error, string extraHeaders = "") =>
        new(status, "application/json", JsonSerializer.SerializeToUtf8Bytes(new ApiError { Error = error }, ApprovalJsonContext.Default.ApiError), extraHeaders);

    private static string OpenHint(AdminView view) =>
        view == AdminView.ToolsObserved ? "; admin.toolsObservedAccess \"open\" serves it without a token" : "";
}
