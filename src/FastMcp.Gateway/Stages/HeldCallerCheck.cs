using FastMcp.Identity;

namespace FastMcp.Gateway.Stages;

/// <summary>Why an approved held call was not forwarded for its caller (fastmcp_approved_calls_unauthenticated_total{reason}).</summary>
internal enum HeldCallerRefusal : byte
{
    None,
    /// <summary>The token's exp plus identity.clockSkewSeconds passed while the call waited.</summary>
    TokenExpired,
    /// <summary>The token is refused otherwise: an identity reload (issuer, audience, scopes, DPoP rules), a retired signing key, or it now names another caller.</summary>
    TokenRefused,
}

/// <summary>
/// Judges the held caller's token as checked again at forward (Authentication.ReauthenticateHeldAsync): a call held for
/// approval may wait for hours, and is forwarded only for a caller the identity configuration in force still admits,
/// as the same subject at the same issuer the approvers were asked about (docs/approvals.md). Refusal path only.
/// </summary>
internal static class HeldCallerCheck
{
    public const int Count = 2;

    public static string Label(HeldCallerRefusal refusal) => refusal == HeldCallerRefusal.TokenExpired ? "token_expired" : "token_refused";

    /// <summary>
    /// None when <paramref name="now"/> admits the caller held as <paramref name="held"/>; else why not, the client's
    /// message and the audit reason (neither carries the token), and the failure whose HTTP status and WWW-Authenticate
    /// challenge a JSON answer takes (<paramref name="challenge"/>; a token that names another caller now is asked for
    /// again, as one missing is).
    /// </summary>
    public static HeldCallerRefusal Judge(in AuthResult now, Principal held, string approvalId, out string message, out string reason, out AuthFailure challenge)
    {
        (message, reason, challenge) = ("", "", now.Succeeded ? AuthFailure.MissingToken : now.Failure);
        if (now.Succeeded)
        {
            // A claim mapping reloaded meanwhile may read another subject from the same token: not the caller approvers saw.
            if (string.Equals(now.Principal!.Subject, held.Subject, StringComparison.Ordinal) && string.Equals(now.Principal.Issuer, held.Issuer, StringComparison.Ordinal))
                return HeldCallerRefusal.None;
            message = $"approval {approvalId} was approved, but the caller's token is no longer accepted (it now names another caller): call again";
            reason = $"approval {approvalId} approved, but the caller's token is no longer accepted (it now names another caller under the identity configuration in force)";
            return HeldCallerRefusal.TokenRefused;
        }
        if (now.Failure == AuthFailure.Expired)
        {
            message = $"approval {approvalId} was approved, but the caller's token expired while the call was held: call again with a fresh token";
            reason = $"approval {approvalId} approved, but the caller's token expired while the call was held";
            return HeldCallerRefusal.TokenExpired;
        }
        string description = now.Description ?? TokenValidator.Describe(now.Failure);
        message = $"approval {approvalId} was approved, but the caller's token is no longer accepted ({description}): call again with a token accepted now";
        reason = $"approval {approvalId} approved, but the caller's token is no longer accepted ({now.Failure}: {description})";
        return HeldCallerRefusal.TokenRefused;
    }
}
