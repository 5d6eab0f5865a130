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
    public void Challenge_for_missing_token_has_no_error_code()
    {
        string c = ResourceMetadata.BuildChallenge(Options(), AuthFailure.MissingToken, "https://m/.well-known/oauth-protected-resource/mcp");
        Assert.Equal("Bearer scope=\"mcp:tools\", resource_metadata=\"https://m/.well-known/oauth-protected-resource/mcp\"", c);
        Assert.Equal(401, ResourceMetadata.StatusCode(AuthFailure.MissingToken));
    }

    [Fact]
    public void Challenge_for_bad_token_and_insufficient_scope()
    {
        string invalid = ResourceMetadata.BuildChallenge(Options(), AuthFailure.Expired, "u");
        Assert.StartsWith("Bearer error=\"invalid_token\", error_description=\"token has expired\"", invalid);
        Assert.EndsWith("resource_metadata=\"u\"", invalid);
        string scope = ResourceMetadata.BuildChallenge(Options(), AuthFailure.InsufficientScope, "u");
        Assert.StartsWith("Bearer error=\"insufficient_scope\"", scope);
        Assert.Contains("scope=\"mcp:tools\"", scope);
        Assert.Equal(403, ResourceMetadata.StatusCode(AuthFailure.InsufficientScope));
        Assert.Equal(400, ResourceMetadata.StatusCode(AuthFailure.TokenInQuery));
        Assert.Contains("error=\"invalid_request\"", ResourceMetadata.BuildChallenge(Options(), AuthFailure.TokenInQuery, "u"));
    }
}
