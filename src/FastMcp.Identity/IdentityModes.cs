namespace FastMcp.Identity;

/// <summary>Values of <see cref="IdentityOptions.Mode"/>.</summary>
public static class IdentityModes
{
    /// <summary>Bearer JWTs from the configured issuers (OIDC discovery or static JWKS files).</summary>
    public const string Oidc = "oidc";
    /// <summary>Like oidc, plus tokens minted by <c>fastmcp token</c> with the local dev key.</summary>
    public const string Dev = "dev";
    /// <summary>No authentication: every caller is <see cref="Principal.Anonymous"/>. Loopback listeners only.</summary>
    public const string Anonymous = "anonymous";
}
