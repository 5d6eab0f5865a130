using Microsoft.IdentityModel.Tokens;

namespace FastMcp.Identity;

/// <summary>An issuer's usable signing keys at one moment: replaced whole on refresh, never mutated.
/// Each key carries an identity (kid and RFC 7638 thumbprint of its material), so a token verified under
/// one snapshot can be checked against a later one: same kid with other material is another key.</summary>
internal sealed class SigningKeySnapshot
{
    public static readonly SigningKeySnapshot Empty = new([]);

    // Keys whose material cannot be thumbprinted get an identity no later snapshot shares: their tokens are
    // verified again after any refresh rather than trusted on a kid alone.
    private static long _unidentified;

    private readonly Dictionary<string, SecurityKey> _byKid;
    private readonly Dictionary<SecurityKey, string> _identities;
    private readonly string[] _identityOrder;

    public SigningKeySnapshot(IReadOnlyList<SecurityKey> keys)
    {
        All = [.. keys];
        _byKid = new Dictionary<string, SecurityKey>(StringComparer.Ordinal);
        _identities = new Dictionary<SecurityKey, string>(ReferenceEqualityComparer.Instance);
        _identityOrder = new string[All.Length];
        for (int i = 0; i < All.Length; i++)
        {
            SecurityKey key = All[i];
            if (!string.IsNullOrEmpty(key.KeyId))
                _byKid.TryAdd(key.KeyId, key);
            _identityOrder[i] = IdentityOf(key);
            _identities.TryAdd(key, _identityOrder[i]);
        }
    }

    public SecurityKey[] All { get; }

    public SecurityKey? Find(string kid) => _byKid.GetValueOrDefault(kid);

    /// <summary>The identity of one of this snapshot's keys (the one that verified a token); null for any other key.</summary>
    public string? Identity(SecurityKey key) => _identities.GetValueOrDefault(key);

    /// <summary>
    /// Would this snapshot still verify a token that <paramref name="identity"/> verified? With a kid the token's
    /// kid must still select that very key (as a first validation would look it up); without one any key may.
    /// Allocation-free: it runs on a cache hit after a refresh.
    /// </summary>
    public bool StillPublishes(string? kid, string identity)
    {
        if (!string.IsNullOrEmpty(kid))
            return _byKid.TryGetValue(kid, out SecurityKey? key) && string.Equals(_identities[key], identity, StringComparison.Ordinal);
        foreach (string published in _identityOrder)
        {
            if (string.Equals(published, identity, StringComparison.Ordinal))
                return true;
        }
        return false;
    }

    /// <summary>Same keys, same order: a refresh that fetched this can keep the snapshot it has, and the cache stays as it is.</summary>
    public bool SameKeysAs(SigningKeySnapshot other)
    {
        if (_identityOrder.Length != other._identityOrder.Length)
            return false;
        for (int i = 0; i < _identityOrder.Length; i++)
        {
            if (!string.Equals(_identityOrder[i], other._identityOrder[i], StringComparison.Ordinal))
                return false;
        }
        return true;
    }

    private static string IdentityOf(SecurityKey key)
    {
        string kid = key.KeyId ?? "";
        try
        {
            if (key.CanComputeJwkThumbprint())
                return kid + " " + Base64UrlEncoder.Encode(key.ComputeJwkThumbprint());
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or System.Security.Cryptography.CryptographicException)
        {
            // Falls through to an identity of its own: usable, never carried over a refresh.
        }
        return kid + " unidentified-" + Interlocked.Increment(ref _unidentified);
    }

    /// <summary>Asymmetric signature keys of a JWKS document. Symmetric ("oct") and encryption keys are dropped:
    /// an IdP's published keys are public, so an HMAC key among them could only serve a confusion attack.</summary>
    public static SigningKeySnapshot Parse(string jwksJson, string source)
    {
        JsonWebKeySet set;
        try
        {
            set = new JsonWebKeySet(jwksJson) { SkipUnresolvedJsonWebKeys = true };
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or System.Text.Json.JsonException)
        {
            throw new IdentityConfigurationException($"{source}: not a JWKS document: {FastMcp.Http.PlainError.Describe(ex)}", ex);
        }
        var keys = new List<SecurityKey>();
        foreach (var key in set.GetSigningKeys())
        {
            if (key is SymmetricSecurityKey)
                continue;
            keys.Add(key);
        }
        return new SigningKeySnapshot(keys);
    }
}
