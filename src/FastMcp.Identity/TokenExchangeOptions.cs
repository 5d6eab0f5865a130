namespace FastMcp.Identity;

/// <summary>
/// The upstream credential as a token the gateway obtains per caller by OAuth 2.0 Token Exchange (RFC 8693): the caller's
/// verified bearer token goes to the token endpoint as subject_token, and the token issued for the upstream's audience or
/// resource is sent upstream instead. Endpoint, trust, client authentication and secret are those of the oauth source.
/// refreshBeforeExpirySeconds is the margin before an exchanged token's expiry at which it is no longer used.
/// </summary>
public sealed class TokenExchangeOptions : OAuthClientCredentialsOptions
{
    public const string TokenTypePrefix = "urn:ietf:params:oauth:token-type:";
    public const string AccessTokenType = TokenTypePrefix + "access_token";
    public const string JwtTokenType = TokenTypePrefix + "jwt";

    /// <summary><c>access_token</c> (default) or <c>jwt</c>: how the caller's token is described to the endpoint.</summary>
    public string SubjectTokenType { get; set; } = "access_token";
    /// <summary><c>access_token</c> (default) or <c>jwt</c>: the kind of token asked for (and required in the answer).</summary>
    public string RequestedTokenType { get; set; } = "access_token";
    /// <summary>How many callers' exchanged tokens are kept; the oldest is dropped beyond it.</summary>
    public int CacheSize { get; set; } = 10_000;
    /// <summary>How long a caller the endpoint refused is answered 403 without asking again (0: asked at every request).
    /// Bounds what a caller retrying a refused token costs the identity provider.</summary>
    public int RefusalCacheSeconds { get; set; } = 30;

    /// <summary>The RFC 8693 URI of <see cref="SubjectTokenType"/>.</summary>
    public string SubjectTokenTypeUri => TokenTypePrefix + SubjectTokenType;
    /// <summary>The RFC 8693 URI of <see cref="RequestedTokenType"/>.</summary>
    public string RequestedTokenTypeUri => TokenTypePrefix + RequestedTokenType;

    public override void Validate(string field)
    {
        base.Validate(field);
        if (SubjectTokenType is not ("access_token" or "jwt"))
            throw new IdentityConfigurationException($"{field}.subjectTokenType: must be \"access_token\" or \"jwt\"");
        if (RequestedTokenType is not ("access_token" or "jwt"))
            throw new IdentityConfigurationException($"{field}.requestedTokenType: must be \"access_token\" or \"jwt\"");
        if (CacheSize is < 1 or > 1_000_000)
            throw new IdentityConfigurationException($"{field}.cacheSize: must be 1..1000000");
        if (RefusalCacheSeconds is < 0 or > 3600)
            throw new IdentityConfigurationException($"{field}.refusalCacheSeconds: must be 0..3600");
    }
}
