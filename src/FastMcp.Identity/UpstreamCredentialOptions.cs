namespace FastMcp.Identity;

/// <summary>
/// The upstream's own credential, injected instead of the client's token (no token passthrough).
/// The value comes from a file (re-read when it changes, e.g. a rotated Kubernetes secret), an environment variable, or an
/// OAuth 2.0 client credentials grant (<see cref="OAuth"/>), or a per-caller token exchange (<see cref="TokenExchange"/>): exactly one of them.
/// </summary>
public sealed class UpstreamCredentialOptions
{
    /// <summary>Header to send; default <c>Authorization</c>.</summary>
    public string HeaderName { get; set; } = "Authorization";
    /// <summary>File holding the value (surrounding whitespace trimmed).</summary>
    public string? ValueFile { get; set; }
    /// <summary>Environment variable holding the value (read once at start).</summary>
    public string? ValueEnv { get; set; }
    /// <summary>Prefix such as <c>Bearer</c>; the header becomes "Scheme value". Empty for a raw header value.</summary>
    public string? Scheme { get; set; } = "Bearer";
    /// <summary>How often the file's timestamp and size are checked.</summary>
    public int FileCheckIntervalMilliseconds { get; set; } = 1000;

    /// <summary>An access token obtained and renewed by the gateway (client credentials grant).</summary>
    [System.Text.Json.Serialization.JsonPropertyName("oauth")]
    public OAuthClientCredentialsOptions? OAuth { get; set; }

    /// <summary>A token obtained per caller by exchanging the caller's verified token (RFC 8693).</summary>
    public TokenExchangeOptions? TokenExchange { get; set; }

    /// <summary>True when a value source is configured.</summary>
    public bool IsConfigured => !string.IsNullOrEmpty(ValueFile) || !string.IsNullOrEmpty(ValueEnv) || OAuth is not null || TokenExchange is not null;

    /// <summary>Refuses a credential with more than one source (which one wins would be a guess).</summary>
    public void ValidateSource()
    {
        int sources = (string.IsNullOrEmpty(ValueFile) ? 0 : 1) + (string.IsNullOrEmpty(ValueEnv) ? 0 : 1) + (OAuth is null ? 0 : 1)
            + (TokenExchange is null ? 0 : 1);
        if (sources > 1)
            throw new IdentityConfigurationException("identity.upstreamCredential: set exactly one of valueFile, valueEnv, oauth and tokenExchange");
    }
}
