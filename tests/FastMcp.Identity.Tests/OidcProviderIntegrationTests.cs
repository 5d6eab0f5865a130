using System.Text;
using FastMcp.Identity.Tests.Support;

namespace FastMcp.Identity.Tests;

/// <summary>Against a real OpenID Provider (oidc-provider 9, client credentials, resource indicators, JWT access tokens):
/// discovery, validation, audience binding and key rotation through the rate-limited unknown-kid refresh, after which
/// a cached token under the rotated-out key is refused.</summary>
public sealed class OidcProviderIntegrationTests
{
    private const string Resource = "http://127.0.0.1:18443/mcp";

    [Fact]
    public async Task Discovers_keys_validates_tokens_and_picks_up_a_rotated_key()
    {
        await using var idp = await OidcProviderProcess.StartAsync();
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var options = new IdentityOptions
        {
            Resource = Resource,
            Issuers = [new TrustedIssuerOptions { Issuer = idp.Issuer }],
            UnknownKeyRefreshSeconds = 60,
        };
        await using var validator = await TokenValidator.CreateAsync(options, clock, null);
        Assert.Equal(1, validator.KeyRefreshCount(idp.Issuer));

        string token = await idp.GetTokenAsync(Resource);
        var result = await Validate(validator, token);
        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(idp.ClientId, result.Principal!.Subject);
        Assert.Equal(idp.ClientId, result.Principal.ClientId);
        Assert.Contains("mcp:tools", result.Principal.Scopes);
        Assert.Equal(idp.Issuer, result.Principal.Issuer);

        // The same provider, the same client, but a token for another MCP server: refused.
        string foreign = await idp.GetTokenAsync("http://127.0.0.1:18444/other-mcp");
        Assert.Equal(AuthFailure.WrongAudience, (await Validate(validator, foreign)).Failure);

        string oldKid = idp.Kid;
        string newKid = await idp.RotateKeyAsync();
        Assert.NotEqual(oldKid, newKid);
        string rotated = await idp.GetTokenAsync(Resource);

        // Within the rate-limit window the unknown kid does not trigger a fetch.
        Assert.Equal(AuthFailure.UnknownKey, (await Validate(validator, rotated)).Failure);
        Assert.Equal(1, validator.KeyRefreshCount(idp.Issuer));

        // After the window, the unknown kid triggers one refresh and the token validates.
        clock.Advance(TimeSpan.FromSeconds(61));
        var afterRefresh = await Validate(validator, rotated);
        Assert.True(afterRefresh.Succeeded, afterRefresh.ToString());
        Assert.Equal(2, validator.KeyRefreshCount(idp.Issuer));

        // The provider no longer publishes the old key: the token seen before rotation is refused, although
        // cached and not expired, with the error a token under an unknown key gets.
        var old = await Validate(validator, token);
        Assert.Equal(AuthFailure.UnknownKey, old.Failure);
        Assert.Equal($"signing key '{oldKid}' is unknown", old.Description);
        Assert.Equal(2, validator.KeyRefreshCount(idp.Issuer)); // inside the rate-limit window: no further fetch
    }

    [Fact]
    public async Task Discovery_with_a_mismatched_issuer_is_refused_at_start()
    {
        await using var idp = await OidcProviderProcess.StartAsync();
        var options = new IdentityOptions
        {
            Resource = Resource,
            // Same server, but the configured issuer differs from the one the discovery document names.
            Issuers = [new TrustedIssuerOptions { Issuer = idp.Issuer + "/" }],
        };
        var ex = await Assert.ThrowsAsync<IdentityConfigurationException>(() => TokenValidator.CreateAsync(options));
        Assert.Contains("different issuer", ex.Message);
    }

    private static async Task<AuthResult> Validate(TokenValidator validator, string token) =>
        await validator.ValidateAsync(Encoding.ASCII.GetBytes("Bearer " + token));
}
