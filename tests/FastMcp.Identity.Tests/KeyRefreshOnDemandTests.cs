using FastMcp.Identity.Tests.Support;
using static FastMcp.Identity.Tests.Support.JwksFileIssuer;

namespace FastMcp.Identity.Tests;

/// <summary>
/// Key refreshes outside the schedule: an operator's refresh after a revocation (TokenValidator.RefreshKeysAsync,
/// which the gateway runs on SIGHUP), and the refresh a signature failing under a known kid asks for, so an issuer
/// that re-keys a kid in place is followed without waiting for the periodic refresh. The JWKS is a real file.
/// </summary>
public sealed class KeyRefreshOnDemandTests
{
    [Fact]
    public async Task Refresh_on_demand_refuses_a_revoked_key_at_once_whatever_the_schedule_and_rate_limit_say()
    {
        // Hourly schedule, unknown-kid refreshes rate-limited to one an hour: only the operator's refresh can act.
        await using var f = await Publishing("leaked", K1, o => { o.KeyRefreshMinutes = 60; o.UnknownKeyRefreshSeconds = 3600; });
        string old = Token(f, "leaked", K1);
        Assert.True((await f.ValidateAsync(old)).Succeeded);

        RsaJwks.Write(f.JwksPath, ("next", K2));
        Assert.True((await f.ValidateAsync(old)).Succeeded); // nothing has looked at the file yet

        Assert.Empty(await f.Validator.RefreshKeysAsync());
        Assert.Equal(2, f.Validator.KeyRefreshCount(TestKeys.Issuer));
        var refused = await f.ValidateAsync(old);
        Assert.Equal(AuthFailure.UnknownKey, refused.Failure);
        Assert.True((await f.ValidateAsync(Token(f, "next", K2, sub: "bob"))).Succeeded);
    }

    [Fact]
    public async Task Refresh_on_demand_that_cannot_fetch_keeps_the_keys_in_force_and_names_the_issuer()
    {
        await using var f = await Publishing("a", K1);
        string token = Token(f, "a", K1);
        Assert.True((await f.ValidateAsync(token)).Succeeded);
        File.Delete(f.JwksPath);

        IReadOnlyList<string> failures = await f.Validator.RefreshKeysAsync();
        string failure = Assert.Single(failures);
        Assert.Contains(TestKeys.Issuer, failure, StringComparison.Ordinal);
        Assert.Contains("cannot read jwksFile", failure, StringComparison.Ordinal);
        Assert.Equal(1, f.Validator.KeyRefreshFailures);
        Assert.True((await f.ValidateAsync(token)).Succeeded); // a failed fetch revokes nothing
    }

    [Fact]
    public async Task Kid_re_keyed_in_place_is_followed_by_the_first_token_that_fails_under_the_old_material()
    {
        // No periodic refresh within the test; unknown-kid style refreshes allowed at once.
        await using var f = await Publishing("a", K1, o => { o.KeyRefreshMinutes = 60; o.UnknownKeyRefreshSeconds = 0; });
        string old = Token(f, "a", K1, sub: "carol");
        Assert.True((await f.ValidateAsync(old)).Succeeded);

        RsaJwks.Write(f.JwksPath, ("a", K3));
        var fresh = await f.ValidateAsync(Token(f, "a", K3, sub: "bob"));
        Assert.True(fresh.Succeeded, fresh.ToString());
        Assert.Equal("bob", fresh.Principal!.Subject);
        Assert.Equal(2, f.Validator.KeyRefreshCount(TestKeys.Issuer));
        Assert.Equal(AuthFailure.InvalidSignature, (await f.ValidateAsync(old)).Failure);
    }

    [Fact]
    public async Task Signatures_failing_under_a_known_kid_refresh_at_most_once_per_rate_limit_window()
    {
        await using var f = await Publishing("a", K1, o => { o.KeyRefreshMinutes = 60; o.UnknownKeyRefreshSeconds = 60; });
        f.Clock.Advance(TimeSpan.FromSeconds(61));
        // Forged: signed with a key the issuer never published, under its kid.
        Assert.Equal(AuthFailure.InvalidSignature, (await f.ValidateAsync(Token(f, "a", K2, sub: "x1"))).Failure);
        Assert.Equal(2, f.Validator.KeyRefreshCount(TestKeys.Issuer));
        for (int i = 0; i < 5; i++)
            Assert.Equal(AuthFailure.InvalidSignature, (await f.ValidateAsync(Token(f, "a", K2, sub: "y" + i))).Failure);
        Assert.Equal(2, f.Validator.KeyRefreshCount(TestKeys.Issuer)); // one refresh for the window, not one per forgery
        Assert.True((await f.ValidateAsync(Token(f, "a", K1))).Succeeded);
    }
}
