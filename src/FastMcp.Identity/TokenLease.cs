namespace FastMcp.Identity;

/// <summary>
/// What an open event stream holds of the token that opened it: that token's cache entry, so the stream can ask per
/// event whether the token is still admitted (its expiry, and whether its issuer still publishes the key that verified
/// it) with one comparison of a stored time and one reference comparison of key snapshots, allocating nothing.
/// </summary>
public readonly struct TokenLease
{
    private readonly VerifiedTokenCache.Entry? _entry;
    private readonly TokenValidator? _issuedBy;

    internal TokenLease(VerifiedTokenCache.Entry entry, TokenValidator issuedBy)
    {
        _entry = entry;
        _issuedBy = issuedBy;
    }

    /// <summary>False for the default value (no token was leased).</summary>
    public bool IsHeld => _entry is not null;

    /// <summary>The token's expiry plus identity.clockSkewSeconds: the instant admission would refuse it.</summary>
    public long NotAfterUtcTicks => _entry?.NotAfter.UtcTicks ?? 0;

    /// <summary>True while the token's issuer publishes the key (kid and material) that verified it.</summary>
    public bool KeyStillPublished => _entry is not null && _entry.KeyStillPublished();

    /// <summary>True when <paramref name="validator"/> is the one that verified the token (a swapped validator has other keys and rules).</summary>
    public bool IssuedBy(TokenValidator validator) => ReferenceEquals(_issuedBy, validator);
}
