using Microsoft.IdentityModel.Tokens;

namespace FastMcp.Identity;

/// <summary>An issuer's usable signing keys at one moment: replaced whole on refresh, never mutated.</summary>
internal sealed class SigningKeySnapshot
{
    public static readonly SigningKeySnapshot Empty = new([]);

    private readonly Dictionary<string, SecurityKey> _byKid;

    public SigningKeySnapshot(IReadOnlyList<SecurityKey> keys)
    {
        All = [.. keys];
        _byKid = new Dictionary<string, SecurityKey>(StringComparer.Ordinal);
        foreach (var key in keys)
            if (!string.IsNullOrEmpty(key.KeyId))
                _byKid.TryAdd(key.KeyId, key);
    }

    public SecurityKey[] All { get; }

    public SecurityKey? Find(string kid) => _byKid.GetValueOrDefault(kid);

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
            throw new IdentityConfigurationException($"{source}: not a JWKS document: {ex.Message}", ex);
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
