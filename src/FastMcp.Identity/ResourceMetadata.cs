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
    public static byte[] BuildDocument(IdentityOptions o)
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

    /// <summary>Value of the WWW-Authenticate header for a failure.</summary>
    public static string BuildChallenge(IdentityOptions o, AuthFailure f, string metadataUrl)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (f == AuthFailure.InvalidDpopProof)
        {
            // RFC 9449 §7.1: a proof problem is answered with the DPoP scheme's challenge, naming the algorithms accepted.
            var dpop = new StringBuilder("DPoP ");
            AppendParam(dpop, "error", "invalid_dpop_proof", "DPoP ");
            AppendParam(dpop, "error_description", TokenValidator.Describe(f), "DPoP ");
            AppendParam(dpop, "algs", string.Join(' ', o.EffectiveAlgorithms), "DPoP ");
            return dpop.ToString();
        }
        var sb = new StringBuilder("Bearer ");
        switch (f)
        {
            case AuthFailure.MissingToken:
                // RFC 6750 §3.1: no error code when the request carried no credentials.
                break;
            case AuthFailure.MalformedHeader:
            case AuthFailure.TokenInQuery:
                AppendParam(sb, "error", "invalid_request");
                AppendParam(sb, "error_description", TokenValidator.Describe(f));
                break;
            case AuthFailure.InsufficientScope:
                AppendParam(sb, "error", "insufficient_scope");
                AppendParam(sb, "error_description", TokenValidator.Describe(f));
                break;
            default:
                AppendParam(sb, "error", "invalid_token");
                AppendParam(sb, "error_description", TokenValidator.Describe(f));
                break;
        }
        if (o.RequiredScopes.Count > 0)
            AppendParam(sb, "scope", string.Join(' ', o.RequiredScopes));
        AppendParam(sb, "resource_metadata", metadataUrl);
        return sb.ToString();
    }

    private static void AppendParam(StringBuilder sb, string name, string value, string scheme = "Bearer ")
    {
        if (sb.Length > scheme.Length)
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
