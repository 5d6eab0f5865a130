using System.Text.Json;

namespace FastMcp.Identity.Tests;

public sealed class ResourceMetadataTests
{
    private static IdentityOptions Options() => new()
    {
        Resource = "https://mcp.example.com/mcp",
        Issuers = [new TrustedIssuerOptions { Issuer = "https://idp.example.com/realms/main" }],
        RequiredScopes = ["mcp:tools"],
    };

    [Fact]
    public void Document_names_resource_and_authorization_servers()
    {
        using var doc = JsonDocument.Parse(ResourceMetadata.BuildDocument(Options()));
        var root = doc.RootElement;
        Assert.Equal("https://mcp.example.com/mcp", root.GetProperty("resource").GetString());
        Assert.Equal("https://idp.example.com/realms/main", root.GetProperty("authorization_servers")[0].GetString());
        Assert.Equal("header", root.GetProperty("bearer_methods_supported")[0].GetString());
        Assert.Equal("mcp:tools", root.GetProperty("scopes_supported")[0].GetString());
    }

    [Fact]
    public void Explicit_authorization_servers_win()
    {
        var o = Options();
        o.AuthorizationServers = ["https://as.example.com"];
        using var doc = JsonDocument.Parse(ResourceMetadata.BuildDocument(o));
        Assert.Equal(1, doc.RootElement.GetProperty("authorization_servers").GetArrayLength());
        Assert.Equal("https://as.example.com", doc.RootElement.GetProperty("authorization_servers")[0].GetString());
    }

    [Fact]
    public void Well_known_paths_include_the_path_inserted_form()
    {
        var o = Options();
        Assert.Equal(["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"], ResourceMetadata.WellKnownPaths(o));
        Assert.Equal("https://mcp.example.com/.well-known/oauth-protected-resource/mcp", ResourceMetadata.MetadataUrl(o));
        o.Resource = "https://mcp.example.com/";
        Assert.Equal(["/.well-known/oauth-protected-resource"], ResourceMetadata.WellKnownPaths(o));
    }

    [Fact]
    public void Document_announces_dpop_algorithms_and_the_bindings_the_configuration_makes_true()
    {
        var o = Options();
        o.AllowedAlgorithms = ["ES256", "PS256"];
        using (var doc = JsonDocument.Parse(ResourceMetadata.BuildDocument(o)))
        {
            Assert.Equal(["ES256", "PS256"], doc.RootElement.GetProperty("dpop_signing_alg_values_supported").EnumerateArray().Select(a => a.GetString()));
            Assert.False(doc.RootElement.TryGetProperty("dpop_bound_access_tokens_required", out _));
            Assert.False(doc.RootElement.TryGetProperty("tls_client_certificate_bound_access_tokens", out _));
        }
        o.Dpop.Required = true;
        using var bound = JsonDocument.Parse(ResourceMetadata.BuildDocument(o, certificateBoundTokens: true));
        Assert.True(bound.RootElement.GetProperty("dpop_bound_access_tokens_required").GetBoolean());
        Assert.True(bound.RootElement.GetProperty("tls_client_certificate_bound_access_tokens").GetBoolean());
    }

    [Fact]
    public void Challenge_for_missing_token_has_no_error_code_and_offers_both_schemes()
    {
        var o = Options();
        o.AllowedAlgorithms = ["ES256"];
        string[] c = ResourceMetadata.BuildChallenges(o, AuthFailure.MissingToken, dpopScheme: false, "https://m/.well-known/oauth-protected-resource/mcp");
        Assert.Equal(
        [
            "Bearer scope=\"mcp:tools\", resource_metadata=\"https://m/.well-known/oauth-protected-resource/mcp\"",
            "DPoP algs=\"ES256\", scope=\"mcp:tools\", resource_metadata=\"https://m/.well-known/oauth-protected-resource/mcp\"",
        ], c);
        Assert.Equal(401, ResourceMetadata.StatusCode(AuthFailure.MissingToken));
        o.Dpop.Required = true;
        Assert.Equal(["DPoP algs=\"ES256\", scope=\"mcp:tools\", resource_metadata=\"u\""], ResourceMetadata.BuildChallenges(o, AuthFailure.MissingToken, false, "u"));
    }

    [Fact]
    public void Challenge_for_bad_token_and_insufficient_scope()
    {
        string invalid = Assert.Single(ResourceMetadata.BuildChallenges(Options(), AuthFailure.Expired, false, "u"));
        Assert.StartsWith("Bearer error=\"invalid_token\", error_description=\"token has expired\"", invalid);
        Assert.EndsWith("resource_metadata=\"u\"", invalid);
        string scope = Assert.Single(ResourceMetadata.BuildChallenges(Options(), AuthFailure.InsufficientScope, false, "u"));
        Assert.StartsWith("Bearer error=\"insufficient_scope\"", scope);
        Assert.Contains("scope=\"mcp:tools\"", scope);
        Assert.StartsWith("DPoP error=\"insufficient_scope\"", Assert.Single(ResourceMetadata.BuildChallenges(Options(), AuthFailure.InsufficientScope, true, "u")));
        Assert.Equal(403, ResourceMetadata.StatusCode(AuthFailure.InsufficientScope));
        Assert.Equal(400, ResourceMetadata.StatusCode(AuthFailure.TokenInQuery));
        Assert.Contains("error=\"invalid_request\"", Assert.Single(ResourceMetadata.BuildChallenges(Options(), AuthFailure.TokenInQuery, false, "u")));
    }

    [Fact]
    public void Challenges_of_a_binding_refusal_follow_rfc_8705_and_9449()
    {
        // RFC 8705 §3: a certificate that does not match is invalid_token, in the scheme the token came with.
        Assert.StartsWith("Bearer error=\"invalid_token\", error_description=\"certificate-bound token presented with another certificate\"",
            Assert.Single(ResourceMetadata.BuildChallenges(Options(), AuthFailure.CertificateMismatch, false, "u")));
        // RFC 9449 §7.1: a refused proof is invalid_dpop_proof in the DPoP scheme, whatever the request's scheme.
        Assert.StartsWith("DPoP error=\"invalid_dpop_proof\"", Assert.Single(ResourceMetadata.BuildChallenges(Options(), AuthFailure.InvalidDpopProof, false, "u")));
        // §7.2: the scheme the client has to switch to is offered beside the error.
        string[] asBearer = ResourceMetadata.BuildChallenges(Options(), AuthFailure.DpopSchemeMismatch, false, "u");
        Assert.Equal(2, asBearer.Length);
        Assert.StartsWith("Bearer error=\"invalid_token\"", asBearer[0]);
        Assert.StartsWith("DPoP algs=", asBearer[1]);
        string[] asDpop = ResourceMetadata.BuildChallenges(Options(), AuthFailure.DpopSchemeMismatch, true, "u");
        Assert.StartsWith("DPoP error=\"invalid_token\"", asDpop[0]);
        Assert.Equal("Bearer scope=\"mcp:tools\", resource_metadata=\"u\"", asDpop[1]);
    }
}
