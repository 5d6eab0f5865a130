namespace FastMcp.Identity;

/// <summary>
/// The upstream credential as an OAuth 2.0 access token the gateway obtains for itself with the client credentials grant
/// (RFC 6749 §4.4), optionally for one resource (RFC 8707), and refreshes before it expires.
/// </summary>
public class OAuthClientCredentialsOptions
{
    /// <summary>The authorization server's token endpoint: https, or http on loopback only.</summary>
    public string? TokenUrl { get; set; }
    /// <summary>PEM file of the CA certificates the token endpoint's certificate must chain to (only these); unset: the system store.</summary>
    public string? CaFile { get; set; }
    public string? ClientId { get; set; }
    /// <summary>File holding the client secret (re-read when it changes).</summary>
    public string? ClientSecretFile { get; set; }
    /// <summary>Environment variable holding the client secret (read at each token request).</summary>
    public string? ClientSecretEnv { get; set; }
    /// <summary><c>client_secret_basic</c> (default) or <c>client_secret_post</c>.</summary>
    public string ClientAuthentication { get; set; } = ClientSecretBasic;
    /// <summary>Space-separated scopes asked for; none when absent.</summary>
    public string? Scope { get; set; }
    /// <summary>RFC 8707 resource indicator (absolute URI) the token is for.</summary>
    public string? Resource { get; set; }
    /// <summary>Audience parameter some identity providers want instead of (or besides) resource.</summary>
    public string? Audience { get; set; }
    /// <summary>How long before expiry the token is renewed; tokens shorter than twice this are renewed at half-life.</summary>
    public int RefreshBeforeExpirySeconds { get; set; } = 60;
    /// <summary>Bound on one token request (connect, send, answer).</summary>
    public int TimeoutMs { get; set; } = 5000;
    /// <summary>How often the secret file is checked for a new content.</summary>
    public int FileCheckIntervalMilliseconds { get; set; } = 1000;

    public const string ClientSecretBasic = "client_secret_basic";
    public const string ClientSecretPost = "client_secret_post";

    /// <summary>Throws naming the field (under <paramref name="field"/>) that cannot be used.</summary>
    public virtual void Validate(string field)
    {
        if (string.IsNullOrWhiteSpace(TokenUrl))
            throw new IdentityConfigurationException($"{field}.tokenUrl: required");
        if (!Uri.TryCreate(TokenUrl, UriKind.Absolute, out Uri? uri) || !IdentityOptions.IsSecureOrLoopback(uri) || !string.IsNullOrEmpty(uri.UserInfo))
            throw new IdentityConfigurationException($"{field}.tokenUrl: '{TokenUrl}' must be an https URL without user info (http only on loopback)");
        if (!string.IsNullOrEmpty(uri.Fragment))
            throw new IdentityConfigurationException($"{field}.tokenUrl: must not have a fragment");
        if (!string.IsNullOrEmpty(CaFile))
            IdentityOptions.LoadCaPolicy(CaFile, uri, $"{field}.caFile", $"{field}.tokenUrl");
        if (string.IsNullOrWhiteSpace(ClientId))
            throw new IdentityConfigurationException($"{field}.clientId: required");
        if (HasControl(ClientId))
            throw new IdentityConfigurationException($"{field}.clientId: contains control characters");
        bool file = !string.IsNullOrEmpty(ClientSecretFile), env = !string.IsNullOrEmpty(ClientSecretEnv);
        if (file == env)
            throw new IdentityConfigurationException($"{field}.clientSecretFile: set exactly one of clientSecretFile and clientSecretEnv");
        if (ClientAuthentication is not (ClientSecretBasic or ClientSecretPost))
            throw new IdentityConfigurationException($"{field}.clientAuthentication: must be \"{ClientSecretBasic}\" or \"{ClientSecretPost}\"");
        if (Scope is not null && (Scope.Trim().Length == 0 || HasControl(Scope) || Scope.Contains('"') || Scope.Contains('\\')))
            throw new IdentityConfigurationException($"{field}.scope: must be space-separated scope tokens");
        if (Resource is not null && (!Uri.TryCreate(Resource, UriKind.Absolute, out Uri? resource) || !string.IsNullOrEmpty(resource.Fragment)))
            throw new IdentityConfigurationException($"{field}.resource: '{Resource}' must be an absolute URI without a fragment (RFC 8707)");
        if (Audience is not null && (Audience.Trim().Length == 0 || HasControl(Audience)))
            throw new IdentityConfigurationException($"{field}.audience: must be a non-empty value");
        if (RefreshBeforeExpirySeconds is < 0 or > 3600)
            throw new IdentityConfigurationException($"{field}.refreshBeforeExpirySeconds: must be 0..3600");
        if (TimeoutMs is < 100 or > 60_000)
            throw new IdentityConfigurationException($"{field}.timeoutMs: must be 100..60000");
        if (FileCheckIntervalMilliseconds is < 50 or > 3_600_000)
            throw new IdentityConfigurationException($"{field}.fileCheckIntervalMilliseconds: must be 50..3600000");
    }

    private protected static bool HasControl(string value)
    {
        foreach (char c in value)
            if (char.IsControl(c)) return true;
        return false;
    }
}
