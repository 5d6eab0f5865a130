namespace FastMcp.Identity;

/// <summary>
/// identity.dpop: how DPoP proofs (RFC 9449) of DPoP-bound tokens are checked. There is no switch to turn the check
/// off: a token bound to a key is accepted only with a proof made by that key.
/// </summary>
public sealed class DpopOptions
{
    /// <summary>How far in the past a proof's iat may lie, 1..600 seconds; also how long its jti is remembered.
    /// A proof may lie up to identity.clockSkewSeconds in the future.</summary>
    public int MaxAgeSeconds { get; set; } = 60;

    /// <summary>Most proof jti values remembered at once (within <see cref="MaxAgeSeconds"/>); when it is full of live
    /// entries, proofs are refused rather than old entries forgotten.</summary>
    public int ReplayCacheSize { get; set; } = 100_000;

    internal void Validate()
    {
        if (MaxAgeSeconds is < 1 or > 600)
            throw new IdentityConfigurationException("identity.dpop.maxAgeSeconds: must be 1..600");
        if (ReplayCacheSize is < 16 or > 10_000_000)
            throw new IdentityConfigurationException("identity.dpop.replayCacheSize: must be 16..10000000");
    }
}
