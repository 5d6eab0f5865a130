using FastMcp.Gateway.Configuration;

namespace FastMcp.Gateway.Upstream.Stdio;

/// <summary>
/// Environment variables that hold the gateway's own secrets: a stdio server that inherits the
/// gateway's environment still never sees them (the server is what the gateway guards against).
/// </summary>
internal static class GatewaySecretVariables
{
    public static IReadOnlyCollection<string> Of(GatewayOptions options)
    {
        var names = new HashSet<string>(StringComparer.Ordinal)
        {
            "FASTMCP_TOKEN", "FASTMCP_PAN_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        };
        if (options.Identity?.UpstreamCredential?.ValueEnv is { Length: > 0 } credential) names.Add(credential);
        if (options.Identity?.Dpop?.NonceKeyEnv is { Length: > 0 } nonceKey) names.Add(nonceKey);
        if (options.Identity?.UpstreamCredential?.OAuth?.ClientSecretEnv is { Length: > 0 } clientSecret) names.Add(clientSecret);
        if (options.Identity?.UpstreamCredential?.TokenExchange?.ClientSecretEnv is { Length: > 0 } exchangeSecret) names.Add(exchangeSecret);
        foreach (UpstreamOptions upstream in options.Upstreams.Values)
        {
            if (upstream.Credential?.ValueEnv is { Length: > 0 } value) names.Add(value);
            if (upstream.Credential?.OAuth?.ClientSecretEnv is { Length: > 0 } secret) names.Add(secret);
            if (upstream.Credential?.TokenExchange?.ClientSecretEnv is { Length: > 0 } exchange) names.Add(exchange);
        }
        if (options.Approvals?.Webhook?.SecretEnv is { Length: > 0 } webhook) names.Add(webhook);
        if (options.Masking?.FingerprintKeyEnv is { Length: > 0 } panKey) names.Add(panKey);
        if (options.Admin?.MetricsTokenEnv is { Length: > 0 } scrapeToken) names.Add(scrapeToken);
        // The SIEM's token: a server holding it could post records the audit sink would take for the gateway's.
        if (options.Audit?.Export?.TokenEnv is { Length: > 0 } exportToken) names.Add(exportToken);
        return names;
    }
}
