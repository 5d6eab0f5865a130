using System.Buffers;
using System.Text;
using System.Text.Json;

namespace FastMcp.Identity;

/// <summary>
/// RFC 9728 protected-resource metadata and the RFC 6750 <c>WWW-Authenticate</c> challenges that point clients at it
/// (the MCP authorization spec's discovery path: 401 → resource_metadata → authorization server).
/// </summary>
public static class ResourceMetadata
{
    public const string WellKnownPrefix = "/.well-known/oauth-protected-resource";

    /// <summary>JSON body served at the well-known paths.</summary>
    /// <param name="certificateBoundTokens">The listener asks for client certificates (mutual TLS), so tokens bound to
    /// one (RFC 8705) can be honoured: announced as tls_client_certificate_bound_access_tokens.</param>
    public static byte[] BuildDocument(IdentityOptions o, bool certificateBoundTokens = false)
    {
        ArgumentNullException.ThrowIfNull(o);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            w.WriteStartObject();
            w.WriteString("resource", o.Resource);
            w.WriteStartArray("authorization_servers");
            foreach (var server in AuthorizationServers(o))
                w.WriteStringValue(server);
            w.WriteEndArray();
            w.WriteStartArray("bearer_methods_supported");
            w.WriteStringValue("header");
            w.WriteEndArray();
            if (o.RequiredScopes.Count > 0)
            {
                w.WriteStartArray("scopes_supported");
                foreach (var scope in o.RequiredScopes)
                    w.WriteStringValue(scope);
                w.WriteEndArray();
            }
            w.WriteStartArray("resource_signing_alg_values_supported");
            foreach (var alg in o.EffectiveAlgorithms)
                w.WriteStringValue(alg);
            w.WriteEndArray();
            // RFC 9728 §2: DPoP proofs are verified with the same asymmetric algorithms as tokens (DpopProofVerifier).
            w.WriteStartArray("dpop_signing_alg_values_supported");
            foreach (var alg in o.EffectiveAlgorithms)
                w.WriteStringValue(alg);
            w.WriteEndArray();
            // Both default to false when absent: written only when true.
            if (o.Dpop.Required)
                w.WriteBoolean("dpop_bound_access_tokens_required", true);
            if (certificateBoundTokens)
                w.WriteBoolean("tls_client_certificate_bound_access_tokens", true);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Configured authorization servers, or the trusted issuers when none are configured.</summary>
    public static List<string> AuthorizationServers(IdentityOptions o)
    {
        if (o.AuthorizationServers.Count > 0)
            return [.. o.AuthorizationServers];
        var list = new List<string>(o.Issuers.Count);
        foreach (var issuer in o.Issuers)
            list.Add(issuer.Issuer);
        return list;
    }

    /// <summary>Path of the metadata for this resource with the resource's path inserted after the well-known prefix
    /// (RFC 9728 §3.1): https://h/mcp → /.well-known/oauth-protected-resource/mcp.</summary>
    public static string MetadataPath(IdentityOptions o)
    {
        string path = Uri.TryCreate(o.Resource, UriKind.Absolute, out var uri) ? uri.AbsolutePath : "/";
        return path is "" or "/" ? WellKnownPrefix : WellKnownPrefix + path.TrimEnd('/');
    }

    /// <summary>Every path the gateway should answer with <see cref="BuildDocument"/>: the path-inserted form and the root form.</summary>
    public static string[] WellKnownPaths(IdentityOptions o)
    {
        string inserted = MetadataPath(o);
        return inserted == WellKnownPrefix ? [WellKnownPrefix] : [inserted, WellKnownPrefix];
    }

    /// <summary>Absolute metadata URL for the resource (scheme and authority of <see cref="IdentityOptions.Resource"/>).</summary>
    public static string MetadataUrl(IdentityOptions o)
    {
        var uri = new Uri(o.Resource, UriKind.Absolute);
        return uri.GetLeftPart(UriPartial.Authority) + MetadataPath(o);
    }

    /// <summary>HTTP status for a failure: 401 for missing or bad tokens, 403 for insufficient scope, 400 for malformed requests.</summary>
    public static int StatusCode(AuthFailure f) => f switch
    {
        AuthFailure.None => 200,
        AuthFailure.InsufficientScope => 403,
        AuthFailure.MalformedHeader or AuthFailure.TokenInQuery => 400,
        _ => 401,
    };

    /// <summary>
    /// The WWW-Authenticate values for a failure, the one carrying the error first; each goes in a field of its own.
    /// The error is told in the scheme the request used (RFC 9449 §7.1): a request sent with "Authorization: DPoP" gets
    /// a DPoP challenge, with the algorithms proofs may use; a refused proof is always one. The other scheme is offered
    /// beside it where the client has to choose or switch (§7.2): no token, a DPoP-bound token sent as Bearer, a token
    /// bound to no DPoP key sent as DPoP. With identity.dpop.required, only the DPoP scheme is offered.
    /// </summary>
    /// <param name="dpopScheme">The request's Authorization header used the DPoP scheme.</param>
    public static string[] BuildChallenges(IdentityOptions o, AuthFailure f, bool dpopScheme, string metadataUrl)
    {
        ArgumentNullException.ThrowIfNull(o);
        string? error = f switch
        {
            // RFC 6750 §3.1: no error code when the request carried no credentials.
            AuthFailure.MissingToken => null,
            AuthFailure.MalformedHeader or AuthFailure.TokenInQuery => "invalid_request",
            AuthFailure.InsufficientScope => "insufficient_scope",
            AuthFailure.InvalidDpopProof => "invalid_dpop_proof",
            AuthFailure.UseDpopNonce => "use_dpop_nonce",
            _ => "invalid_token",
        };
        string? description = error is null ? null : TokenValidator.Describe(f);
        bool dpopOnly = o.Dpop.Required;
        if (dpopOnly || dpopScheme || f is AuthFailure.InvalidDpopProof or AuthFailure.UseDpopNonce)
        {
            string dpop = Challenge("DPoP", o, error, description, metadataUrl);
            return !dpopOnly && f == AuthFailure.DpopSchemeMismatch ? [dpop, Challenge("Bearer", o, null, null, metadataUrl)] : [dpop];
        }
        string bearer = Challenge("Bearer", o, error, description, metadataUrl);
        return f is AuthFailure.MissingToken or AuthFailure.DpopSchemeMismatch ? [bearer, Challenge("DPoP", o, null, null, metadataUrl)] : [bearer];
    }

    private static string Challenge(string scheme, IdentityOptions o, string? error, string? description, string metadataUrl)
    {
        var sb = new StringBuilder(scheme).Append(' ');
        int start = sb.Length;
        if (error is not null)
        {
            AppendParam(sb, start, "error", error);
            AppendParam(sb, start, "error_description", description!);
        }
        if (scheme == "DPoP")
            AppendParam(sb, start, "algs", string.Join(' ', o.EffectiveAlgorithms));
        if (o.RequiredScopes.Count > 0)
            AppendParam(sb, start, "scope", string.Join(' ', o.RequiredScopes));
        AppendParam(sb, start, "resource_metadata", metadataUrl);
        return sb.ToString();
    }

    private static void AppendParam(StringBuilder sb, int start, string name, string value)
    {
        if (sb.Length > start)
            sb.Append(", ");
        sb.Append(name).Append("=\"");
        foreach (char c in value)
        {
            if (c is '"' or '\\')
                sb.Append('\\');
            // Control characters never go into a header.
            if (c >= 0x20 && c != 0x7f)
                sb.Append(c);
        }
        sb.Append('"');
    }
}
