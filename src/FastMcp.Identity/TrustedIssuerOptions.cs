namespace FastMcp.Identity;

/// <summary>One trusted token issuer and where its signing keys come from.</summary>
public sealed class TrustedIssuerOptions
{
    /// <summary>Exact value of the tokens' <c>iss</c> claim, and the base URL for OIDC discovery.</summary>
    public string Issuer { get; set; } = "";

    /// <summary>Required <c>aud</c> value; defaults to <see cref="IdentityOptions.Resource"/> (RFC 8707).</summary>
    public string? Audience { get; set; }

    /// <summary>A JWKS file to read the keys from instead of discovery (re-read on refresh).</summary>
    public string? JwksFile { get; set; }

    /// <summary>An explicit JWKS URL; skips the discovery document when set.</summary>
    public string? JwksUri { get; set; }

    /// <summary>Use OIDC discovery (<c>{issuer}/.well-known/openid-configuration</c>) to find the JWKS. Ignored when JwksFile or JwksUri is set.</summary>
    public bool Discovery { get; set; } = true;

    /// <summary>
    /// PEM file of the CA certificates (one or more) the issuer's HTTPS certificate must chain to, for discovery and
    /// JWKS: only these, not the system store. Unset: the system store.
    /// </summary>
    public string? CaFile { get; set; }
}
