using System.Text;
using FastMcp.Identity.Tests.Support;
using static FastMcp.Identity.Tests.Support.JwksFileIssuer;

namespace FastMcp.Identity.Tests;

/// <summary>
/// An issuer that stops publishing a key (the usual answer to a leaked signing key) or re-keys a kid in place:
/// once the validator has loaded the new JWKS, tokens signed with the old key are refused, from the cache too.
/// The JWKS is a real file the test rewrites; refreshes are the validator's own (unknown kid, periodic timer).
/// </summary>
public sealed class KeyRotationTests
{
    [Fact]
    public async Task Cached_token_is_refused_once_an_unknown_kid_refresh_no_longer_finds_its_key()
    {
        await using var f = await Publishing("a", K1, o => o.UnknownKeyRefreshSeconds = 0);
        string old = Token(f, "a", K1);
        Assert.True((await f.ValidateAsync(old)).Succeeded);
        Assert.True((await f.ValidateAsync(old)).Succeeded); // from the cache
        Assert.Equal(1, f.Validator.CachedTokenCount);

        RsaJwks.Write(f.JwksPath, ("b", K2));
        var fresh = await f.ValidateAsync(Token(f, "b", K2, sub: "bob")); // kid "b" is unknown: one refresh
        Assert.True(fresh.Succeeded, fresh.ToString());
        Assert.Equal(2, f.Validator.KeyRefreshCount(TestKeys.Issuer));

        var refused = await f.ValidateAsync(old);
        Assert.Equal(AuthFailure.UnknownKey, refused.Failure);
        Assert.Equal("signing key 'a' is unknown", refused.Description);
        Assert.Equal(1, f.Validator.CachedTokenCount); // only bob's token is left
    }

    [Fact]
    public async Task Cached_token_is_refused_once_a_periodic_refresh_no_longer_finds_its_key()
    {
        // The unknown-kid refresh is switched off (rate limit an hour): only the periodic timer reloads.
        await using var f = await Publishing("a", K1, o => { o.KeyRefreshMinutes = 5; o.UnknownKeyRefreshSeconds = 3600; });
        string old = Token(f, "a", K1);
        Assert.True((await f.ValidateAsync(old)).Succeeded);

        RsaJwks.Write(f.JwksPath, ("b", K2));
        f.Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True((await f.ValidateAsync(old)).Succeeded); // no refresh yet: the key is still the one loaded

        f.Clock.Advance(TimeSpan.FromMinutes(4));
        await WaitForRefreshesAsync(f, 2);
        var refused = await f.ValidateAsync(old);
        Assert.Equal(AuthFailure.UnknownKey, refused.Failure);
        Assert.Equal("signing key 'a' is unknown", refused.Description);
        Assert.Equal(0, f.Validator.CachedTokenCount);
    }

    [Fact]
    public async Task Cached_token_stays_accepted_while_its_issuer_still_publishes_its_key()
    {
        await using var f = await Publishing("a", K1, o => o.UnknownKeyRefreshSeconds = 0);
        string old = Token(f, "a", K1);
        Assert.True((await f.ValidateAsync(old)).Succeeded);

        RsaJwks.Write(f.JwksPath, ("a", K1), ("b", K2));
        Assert.True((await f.ValidateAsync(Token(f, "b", K2, sub: "bob"))).Succeeded);
        Assert.Equal(2, f.Validator.KeyRefreshCount(TestKeys.Issuer));

        var kept = await f.ValidateAsync(old);
        Assert.True(kept.Succeeded, kept.ToString());
        Assert.Equal("alice", kept.Principal!.Subject);
        Assert.Equal(2, f.Validator.CachedTokenCount);
    }

    [Fact]
    public async Task Cache_hit_after_a_refresh_that_kept_its_key_completes_synchronously_without_allocating()
    {
        await using var f = await Publishing("a", K1, o => o.UnknownKeyRefreshSeconds = 0);
        byte[] header = Encoding.ASCII.GetBytes("Bearer " + Token(f, "a", K1));
        Assert.True((await f.Validator.ValidateAsync(header)).Succeeded);
        RsaJwks.Write(f.JwksPath, ("a", K1), ("b", K2));
        Assert.True((await f.ValidateAsync(Token(f, "b", K2, sub: "bob"))).Succeeded);
        Assert.Equal(2, f.Validator.KeyRefreshCount(TestKeys.Issuer));

        CachedTokenHits.AssertSynchronousAndAllocationFree(f.Validator, header);
    }

    [Fact]
    public async Task Periodic_refresh_of_an_unchanged_jwks_keeps_cached_tokens()
    {
        await using var f = await Publishing("a", K1, o => o.KeyRefreshMinutes = 1);
        string token = Token(f, "a", K1);
        Assert.True((await f.ValidateAsync(token)).Succeeded);
        f.Clock.Advance(TimeSpan.FromMinutes(1));
        await WaitForRefreshesAsync(f, 2);
        Assert.True((await f.ValidateAsync(token)).Succeeded);
        Assert.Equal(1, f.Validator.CachedTokenCount);
    }

    [Fact]
    public async Task Kid_re_keyed_in_place_verifies_new_tokens_and_refuses_the_old_material_cached_or_not()
    {
        await using var f = await Publishing("a", K1, o => o.KeyRefreshMinutes = 1);
        string cachedOld = Token(f, "a", K1);
        string unseenOld = Token(f, "a", K1, sub: "carol");
        Assert.True((await f.ValidateAsync(cachedOld)).Succeeded);

        RsaJwks.Write(f.JwksPath, ("a", K3));
        f.Clock.Advance(TimeSpan.FromMinutes(1));
        await WaitForRefreshesAsync(f, 2);

        var fresh = await f.ValidateAsync(Token(f, "a", K3, sub: "bob"));
        Assert.True(fresh.Succeeded, fresh.ToString());
        Assert.Equal("bob", fresh.Principal!.Subject);
        Assert.Equal(AuthFailure.InvalidSignature, (await f.ValidateAsync(unseenOld)).Failure);
        Assert.Equal(AuthFailure.InvalidSignature, (await f.ValidateAsync(cachedOld)).Failure);
        Assert.Equal(AuthFailure.InvalidSignature, (await f.ValidateAsync(cachedOld)).Failure); // and stays refused
        Assert.Equal(1, f.Validator.CachedTokenCount); // bob's
    }

    [Fact]
    public async Task Cached_token_without_kid_follows_the_key_that_verified_it()
    {
        await using var f = await ValidatorFixture.CreateAsync(o => o.KeyRefreshMinutes = 1, path => RsaJwks.Write(path, ("a", K1), ("b", K2)));
        string noKid = f.Keys.SignRs256(TestKeys.Claims(f.Clock.GetUtcNow()), kid: null, key: K1);
        Assert.True((await f.ValidateAsync(noKid)).Succeeded);

        RsaJwks.Write(f.JwksPath, ("a", K1), ("c", K3)); // K2 goes, K1 stays
        f.Clock.Advance(TimeSpan.FromMinutes(1));
        await WaitForRefreshesAsync(f, 2);
        Assert.True((await f.ValidateAsync(noKid)).Succeeded);

        RsaJwks.Write(f.JwksPath, ("c", K3)); // now K1 goes
        f.Clock.Advance(TimeSpan.FromMinutes(1));
        await WaitForRefreshesAsync(f, 3);
        Assert.Equal(AuthFailure.UnknownKey, (await f.ValidateAsync(noKid)).Failure);
        Assert.Equal(0, f.Validator.CachedTokenCount);
    }

    [Fact]
    public async Task Two_validators_in_one_process_with_the_same_kid_and_different_keys_each_verify_only_their_own()
    {
        await using var first = await Publishing("a", K1);
        await using var second = await Publishing("a", K2);
        string byK1 = Token(first, "a", K1);
        string byK2 = Token(second, "a", K2);
        // Interleaved, each validator seeing the other's token first once: no shared per-kid state can decide.
        Assert.Equal(AuthFailure.InvalidSignature, (await second.ValidateAsync(byK1)).Failure);
        Assert.True((await first.ValidateAsync(byK1)).Succeeded);
        Assert.True((await second.ValidateAsync(byK2)).Succeeded);
        Assert.Equal(AuthFailure.InvalidSignature, (await first.ValidateAsync(byK2)).Failure);
        Assert.Equal(AuthFailure.InvalidSignature, (await second.ValidateAsync(byK1)).Failure);
    }

    [Fact]
    public async Task Dev_mode_validator_started_after_another_one_on_the_same_dev_key_was_disposed_verifies_dev_tokens()
    {
        string dir = Path.Combine(Path.GetTempPath(), "fastmcp-devkey-" + Guid.NewGuid().ToString("N"));
        try
        {
            var options = new IdentityOptions { Mode = IdentityModes.Dev, Resource = "http://127.0.0.1:8080/mcp", DevKeyDirectory = dir };
            using (DevKey key = DevKeys.LoadOrCreate(dir))
            {
                await using (var before = await TokenValidator.CreateAsync(options))
                {
                    string first = key.Mint("alice", [], [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
                    Assert.True((await before.ValidateAsync(Encoding.ASCII.GetBytes("Bearer " + first))).Succeeded);
                }
                // A gateway restarted in the same process (tests, an embedding host) loads the same dev key again.
                await using var after = await TokenValidator.CreateAsync(options);
                string second = key.Mint("bob", [], [], null, DevKeys.Audience, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5));
                var result = await after.ValidateAsync(Encoding.ASCII.GetBytes("Bearer " + second));
                Assert.True(result.Succeeded, result.ToString());
            }
        }
        finally
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
    }

    // The periodic refresh runs on the thread pool after the timer fired: waited for by its count, bounded.
    private static async Task WaitForRefreshesAsync(ValidatorFixture f, int count)
    {
        for (int i = 0; i < 500 && f.Validator.KeyRefreshCount(TestKeys.Issuer) < count; i++)
            await Task.Delay(10);
        Assert.Equal(count, f.Validator.KeyRefreshCount(TestKeys.Issuer));
    }
}
