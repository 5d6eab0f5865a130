namespace FastMcp.Gateway.Proxy;

/// <summary>
/// Why the gateway ended an event stream on its own: the token that opened it, or a policy reload that no longer lets its
/// caller use the session, or a time condition of the policy that no longer does, or no longer allows the call that
/// created the task a tasks request's stream relays (none: it did not).
/// </summary>
internal enum StreamEndReason : byte
{
    None,
    /// <summary>The token's exp plus identity.clockSkewSeconds passed.</summary>
    TokenExpired,
    /// <summary>The issuer no longer publishes the signing key that verified the token.</summary>
    SigningKeyRetired,
    /// <summary>The identity configuration in force is not the one that verified the token (reloaded), or its verification is no longer held.</summary>
    TokenUnverified,
    /// <summary>The policy in force (reloaded) no longer allows the stream's caller to initialize on its upstream.</summary>
    PolicyRevoked,
    /// <summary>The policy in force (not reloaded) has time conditions, and now no longer allows the stream's caller to initialize on its upstream.</summary>
    PolicyWindowClosed,
    /// <summary>
    /// A tasks request's stream (a tasks/result answered as events): the policy in force (reloaded, or by a time condition)
    /// no longer allows the call that created the task, decided as a new request on the task would be (Tasks/TaskRedecision.cs).
    /// </summary>
    TaskCallNotAllowed,
}

internal static class StreamEndReasons
{
    public const int Count = 6;

    /// <summary>The label of <c>fastmcp_streams_ended_total{reason}</c>.</summary>
    public static string Label(StreamEndReason reason) => reason switch
    {
        StreamEndReason.TokenExpired => "token_expired",
        StreamEndReason.SigningKeyRetired => "key_retired",
        StreamEndReason.PolicyRevoked => "policy_revoked",
        StreamEndReason.PolicyWindowClosed => "policy_window_closed",
        StreamEndReason.TaskCallNotAllowed => "task_call_not_allowed",
        _ => "token_unverified",
    };

    /// <summary>The end record's detail after "response: the stream ended" (docs/audit-format.md).</summary>
    public static string Detail(StreamEndReason reason) => reason switch
    {
        StreamEndReason.TokenExpired => "response: the stream ended: the token that opened it expired",
        StreamEndReason.SigningKeyRetired => "response: the stream ended: the signing key that verified its token is no longer published",
        StreamEndReason.PolicyRevoked => "response: the stream ended: the policy in force no longer allows its caller this session",
        StreamEndReason.PolicyWindowClosed => "response: the stream ended: a time condition of the policy no longer allows its caller this session",
        StreamEndReason.TaskCallNotAllowed => "response: the stream ended: the call that created its task is no longer allowed",
        _ => "response: the stream ended: its token is no longer verified under the identity configuration in force",
    };
}
