using System.Security.Cryptography;
using FastMcp.Identity.Tests.Support;
using static FastMcp.Identity.Tests.Support.JwksFileIssuer;

namespace FastMcp.Identity.Tests;

/// <summary>
/// OIDC discovery and the JWKS are read from the URLs configured, never from where a redirect points (another host could
/// hand the gateway a key set of its choosing): against a real redirecting listener whose target records whatever reaches
/// it, a redirect is an error naming the URL and the status, the target sees nothing, and a refresh keeps the keys in force.
/// </summary>
public sealed class KeyRedirectTests
{
    private static string JwksJson(string kid, RSA key)
    {
        string path = Path.Combine(Path.GetTempPath(), "fastmcp-jwks-" + Guid.NewGuid().ToString("N") + ".json");
        try
        {
            RsaJwks.Write(path, (kid, key));
            return File.ReadAllText(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_jwks_refresh_that_meets_a_redirect_fails_and_keeps_the_keys_in_force()
    {
        // The redirect's target publishes another key set: following it would swap the keys tokens are checked with.
        using var trap = new RedirectTrap(302, captureBody: JwksJson("b", K2)) { ServeDirectly = JwksJson("a", K1) };
        await using ValidatorFixture f = await ValidatorFixture.CreateAsync(o =>
            o.Issuers = [new TrustedIssuerOptions { Issuer = TestKeys.Issuer, JwksUri = trap.Url + "/jwks" }]);
        Assert.True((await f.ValidateAsync(Token(f, "a", K1))).Succeeded);

        trap.ServeDirectly = null; // from now on the JWKS URL redirects
        string failure = Assert.Single(await f.Validator.RefreshKeysAsync());
        Assert.Contains($"GET {trap.Url}/jwks answered 302 (a redirect), and redirects are not followed", failure, StringComparison.Ordinal);
        Assert.Equal(1, trap.Redirected);
        Assert.Empty(trap.Captured);
        Assert.Equal(1, f.Validator.KeyRefreshFailures);
        // The keys in force stay: a new token under kid "a" verifies, one under the target's kid "b" does not.
        Assert.True((await f.ValidateAsync(Token(f, "a", K1, sub: "bob"))).Succeeded);
        Assert.Equal(AuthFailure.UnknownKey, (await f.ValidateAsync(Token(f, "b", K2, sub: "carol"))).Failure);
    }

    [Fact]
    public async Task Discovery_that_meets_a_redirect_stops_the_start_naming_the_url_and_status()
    {
        using var trap = new RedirectTrap(301);
        var options = new IdentityOptions
        {
            Resource = TestKeys.Resource,
            Issuers = [new TrustedIssuerOptions { Issuer = trap.Url }],
        };
        var e = await Assert.ThrowsAsync<IdentityConfigurationException>(() => TokenValidator.CreateAsync(options));
        Assert.Contains($"GET {trap.Url}/.well-known/openid-configuration answered 301 (a redirect), and redirects are not followed", e.Message, StringComparison.Ordinal);
        Assert.Empty(trap.Captured);
    }
}
