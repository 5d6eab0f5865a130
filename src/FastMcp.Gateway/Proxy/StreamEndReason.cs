namespace FastMcp.Gateway.Proxy;

/// <summary>Why the gateway ended an event stream on its own because of the token that opened it (none: it did not).</summary>
internal enum StreamEndReason : byte
{
    None,
    /// <summary>The token's exp plus identity.clockSkewSeconds passed.</summary>
    TokenExpired,
    /// <summary>The issuer no longer publishes the signing key that verified the token.</summary>
    SigningKeyRetired,
    /// <summary>The identity configuration in force is not the one that verified the token (reloaded), or its verification is no longer held.</summary>
    TokenUnverified,
}

internal static class StreamEndReasons
{
    public const int Count = 3;

    /// <summary>The label of <c>fastmcp_streams_ended_total{reason}</c>.</summary>
    public static string Label(StreamEndReason reason) => reason switch
    {
        StreamEndReason.TokenExpired => "token_expired",
        StreamEndReason.SigningKeyRetired => "key_retired",
        _ => "token_unverified",
    };

    /// <summary>The end record's detail after "response: the stream ended" (docs/audit-format.md).</summary>
    public static string Detail(StreamEndReason reason) => reason switch
    {
        StreamEndReason.TokenExpired => "response: the stream ended: the token that opened it expired",
        StreamEndReason.SigningKeyRetired => "response: the stream ended: the signing key that verified its token is no longer published",
        _ => "response: the stream ended: its token is no longer verified under the identity configuration in force",
    };
}
