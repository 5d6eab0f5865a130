using System.Net;
using System.Security.Cryptography.X509Certificates;
using FastMcp.Http;

namespace FastMcp.Identity;

/// <summary>
/// Identity section of the gateway configuration. A plain POCO so the gateway's source-generated
/// JSON context can bind it; <see cref="Validate"/> checks it before anything is built from it.
/// </summary>
public sealed class IdentityOptions
{
    /// <summary>Algorithms accepted when no list is configured: asymmetric only.</summary>
    public static readonly string[] DefaultAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

    /// <summary>Algorithms that are never accepted, whatever the configuration says: "none" and the HMAC family
    /// (a resource server has no shared secret; HMAC tokens "signed" with a public key are the classic confusion attack).</summary>
    public static readonly string[] ForbiddenAlgorithms = ["none", "HS256", "HS384", "HS512"];

    /// <summary><see cref="IdentityModes.Oidc"/>, <see cref="IdentityModes.Dev"/> or <see cref="IdentityModes.Anonymous"/>.</summary>
    public string Mode { get; set; } = IdentityModes.Oidc;

    /// <summary>This gateway's canonical resource URI (RFC 8707), e.g. https://mcp.example.com/mcp: the audience tokens must carry.</summary>
    public string Resource { get; set; } = "";

    public List<TrustedIssuerOptions> Issuers { get; set; } = [];

    /// <summary>Accepted JWS algorithms; empty means <see cref="DefaultAlgorithms"/>.</summary>
    public List<string> AllowedAlgorithms { get; set; } = [];

    /// <summary>Tolerance on exp and nbf, 0..300 seconds.</summary>
    public int ClockSkewSeconds { get; set; } = 30;

    public ClaimMappingOptions ClaimMapping { get; set; } = new();

    /// <summary>Scopes every token must carry; a token without them gets 403 insufficient_scope.</summary>
    public List<string> RequiredScopes { get; set; } = [];

    /// <summary>Maximum number of verified tokens kept until they expire.</summary>
    public int CacheSize { get; set; } = 10_000;

    /// <summary>Authorization servers announced in the RFC 9728 metadata; defaults to the issuers.</summary>
    public List<string> AuthorizationServers { get; set; } = [];

    /// <summary>Where the dev signing key lives (dev mode and <c>fastmcp token</c>); default <see cref="DevKeys.DefaultDirectory"/>.</summary>
    public string? DevKeyDirectory { get; set; }

    /// <summary>Periodic re-fetch of every issuer's keys.</summary>
    public int KeyRefreshMinutes { get; set; } = 60;

    /// <summary>Minimum time between two key refreshes triggered by tokens with an unknown kid (protects the IdP from floods).</summary>
    public int UnknownKeyRefreshSeconds { get; set; } = 30;

    public UpstreamCredentialOptions UpstreamCredential { get; set; } = new();

    /// <summary>Require the RFC 9068 access-token type (<c>typ</c> at+jwt). Off by default because several IdPs
    /// (Keycloak, Entra ID) issue access tokens typed "JWT"; turn it on when yours follows RFC 9068, so ID tokens
    /// from the same issuer can never be used as access tokens.</summary>
    public bool RequireAccessTokenType { get; set; }

    /// <summary>Which event streams end once the token that opened them expires or its signing key is retired:
    /// <see cref="FastMcp.Identity.StreamsEndWithToken.Standalone"/> (default) or <see cref="FastMcp.Identity.StreamsEndWithToken.All"/>.</summary>
    public string StreamsEndWithToken { get; set; } = FastMcp.Identity.StreamsEndWithToken.Standalone;

    /// <summary>How DPoP proofs of DPoP-bound tokens are checked (RFC 9449).</summary>
    public DpopOptions Dpop { get; set; } = new();

    internal string[] EffectiveAlgorithms => AllowedAlgorithms.Count == 0 ? DefaultAlgorithms : [.. AllowedAlgorithms];

    internal string EffectiveDevKeyDirectory => string.IsNullOrEmpty(DevKeyDirectory) ? DevKeys.DefaultDirectory : DevKeyDirectory;

    /// <summary>Throws <see cref="IdentityConfigurationException"/> naming the offending field.</summary>
    public void Validate()
    {
        if (Mode is not (IdentityModes.Oidc or IdentityModes.Dev or IdentityModes.Anonymous))
            throw new IdentityConfigurationException($"identity.mode: '{Mode}' is not one of oidc, dev, anonymous");
        if (Mode == IdentityModes.Anonymous)
            return;
        if (!Uri.TryCreate(Resource, UriKind.Absolute, out var resource) || resource.Scheme is not ("https" or "http") || resource.Fragment.Length > 0)
            throw new IdentityConfigurationException($"identity.resource: '{Resource}' is not an absolute http(s) URI without fragment");
        if (Mode == IdentityModes.Oidc && Issuers.Count == 0)
            throw new IdentityConfigurationException("identity.issuers: oidc mode needs at least one trusted issuer");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Issuers.Count; i++)
        {
            var issuer = Issuers[i];
            string field = $"identity.issuers[{i}]";
            if (string.IsNullOrEmpty(issuer.Issuer))
                throw new IdentityConfigurationException($"{field}.issuer: required");
            if (!seen.Add(issuer.Issuer))
                throw new IdentityConfigurationException($"{field}.issuer: '{issuer.Issuer}' is listed twice");
            if (issuer.Audience is { Length: 0 })
                throw new IdentityConfigurationException($"{field}.audience: empty");
            if (!string.IsNullOrEmpty(issuer.JwksFile))
            {
                if (!string.IsNullOrEmpty(issuer.CaFile))
                    throw new IdentityConfigurationException($"{field}.caFile: set, but the keys come from jwksFile: no HTTPS request would use it");
                continue;
            }
            string? url = !string.IsNullOrEmpty(issuer.JwksUri) ? issuer.JwksUri : issuer.Discovery ? issuer.Issuer : null;
            string urlField = !string.IsNullOrEmpty(issuer.JwksUri) ? "jwksUri" : "issuer";
            if (url is null)
                throw new IdentityConfigurationException($"{field}: needs jwksFile, jwksUri or discovery: true");
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !IsSecureOrLoopback(uri))
                throw new IdentityConfigurationException($"{field}.{urlField}: '{url}' must be an https URL (http only on loopback)");
            if (!string.IsNullOrEmpty(issuer.CaFile))
                LoadCaPolicy(issuer.CaFile, uri, $"{field}.caFile", $"{field}.{urlField}");
        }
        foreach (var alg in EffectiveAlgorithms)
        {
            foreach (var forbidden in ForbiddenAlgorithms)
                if (string.Equals(alg, forbidden, StringComparison.OrdinalIgnoreCase))
                    throw new IdentityConfigurationException($"identity.allowedAlgorithms: '{alg}' is never accepted");
            if (Array.IndexOf(DefaultAlgorithms, alg) < 0)
                throw new IdentityConfigurationException($"identity.allowedAlgorithms: '{alg}' is not a supported asymmetric algorithm");
        }
        if (ClockSkewSeconds is < 0 or > 300)
            throw new IdentityConfigurationException("identity.clockSkewSeconds: must be 0..300");
        if (StreamsEndWithToken is not (FastMcp.Identity.StreamsEndWithToken.Standalone or FastMcp.Identity.StreamsEndWithToken.All))
            throw new IdentityConfigurationException("identity.streamsEndWithToken: must be \"standalone\" or \"all\"");
        if (CacheSize is < 16 or > 10_000_000)
            throw new IdentityConfigurationException("identity.cacheSize: must be 16..10000000");
        if (KeyRefreshMinutes is < 1 or > 1440)
            throw new IdentityConfigurationException("identity.keyRefreshMinutes: must be 1..1440");
        if (UnknownKeyRefreshSeconds is < 0 or > 3600)
            throw new IdentityConfigurationException("identity.unknownKeyRefreshSeconds: must be 0..3600");
        if (Dpop is null)
            throw new IdentityConfigurationException("identity.dpop: must be an object");
        Dpop.Validate();
        if (string.IsNullOrWhiteSpace(ClaimMapping.SubjectClaim))
            throw new IdentityConfigurationException("identity.claimMapping.subjectClaim: required");
        foreach (var scope in RequiredScopes)
            if (string.IsNullOrWhiteSpace(scope) || scope.Contains(' ') || scope.Contains('"'))
                throw new IdentityConfigurationException($"identity.requiredScopes: '{scope}' is not a valid scope token");
        if (UpstreamCredential.IsConfigured && string.IsNullOrWhiteSpace(UpstreamCredential.HeaderName))
            throw new IdentityConfigurationException("identity.upstreamCredential.headerName: required");
    }

    /// <summary>
    /// Anonymous and dev modes are for local setups: a listener that is not loopback is refused (a dev token
    /// is signed by a key on this machine that anyone who runs the gateway can mint with).
    /// </summary>
    public void ValidateListener(IPEndPoint listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        if (Mode is IdentityModes.Anonymous or IdentityModes.Dev && !IPAddress.IsLoopback(listener.Address))
            throw new IdentityConfigurationException($"identity.mode: {Mode} is allowed only on loopback listeners, not {listener}; use identity.mode \"oidc\" off this machine");
    }

    /// <summary>
    /// The chain policy of a caFile field for requests to <paramref name="uri"/>. Refused with an http:// URL (the CAs
    /// would never be consulted, and the operator meant TLS) and when the file cannot be used; both name the field.
    /// </summary>
    internal static X509ChainPolicy LoadCaPolicy(string caFile, Uri uri, string field, string urlField)
    {
        if (uri.Scheme != Uri.UriSchemeHttps)
            throw new IdentityConfigurationException($"{field}: set, but {urlField} is not https://: the CAs would not be used");
        return PrivateCaTrust.TryLoadPolicy(caFile, out string problem) ?? throw new IdentityConfigurationException($"{field}: {problem}");
    }

    internal static bool IsSecureOrLoopback(Uri uri) =>
        uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback);
}
