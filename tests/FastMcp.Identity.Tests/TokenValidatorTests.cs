using System.Text;
using FastMcp.Identity.Tests.Support;

namespace FastMcp.Identity.Tests;

public sealed class TokenValidatorTests
{
    [Fact]
    public async Task Es256_token_is_accepted_and_mapped()
    {
        await using var f = await ValidatorFixture.CreateAsync();
        var result = await f.ValidateAsync(f.Keys.SignEs256(TestKeys.Claims(f.Clock.GetUtcNow(), sub: "bob")));
        Assert.True(result.Succeeded, result.ToString());
        var p = result.Principal!;
        Assert.Equal("bob", p.Subject);
        Assert.Equal(["sre", "dev"], p.Groups);
        Assert.Equal(["mcp:tools", "files:read"], p.Scopes);
        Assert.Equal("cli-1", p.ClientId);
        Assert.Equal(TestKeys.Issuer, p.Issuer);
        Assert.False(p.IsAnonymous);
    }

    [Fact]
    public async Task Missing_header_is_missing_token()
    {
        await using var f = await ValidatorFixture.CreateAsync();
        Assert.Equal(AuthFailure.MissingToken, (await f.Validator.ValidateAsync(ReadOnlyMemory<byte>.Empty)).Failure);
        Assert.Equal(AuthFailure.MissingToken, (await f.Validator.ValidateAsync("Basic dXNlcjpwYXNz"u8.ToArray())).Failure);
    }

    [Fact]
    public async Task Scheme_is_case_insensitive()
    {
        await using var f = await ValidatorFixture.CreateAsync();
        string token = f.Keys.SignRs256(TestKeys.Claims(f.Clock.GetUtcNow()));
        var result = await f.Validator.ValidateAsync(Encoding.ASCII.GetBytes("bEaReR " + token));
        Assert.True(result.Succeeded);
    }

    [Fact]
    public async Task Cached_token_completes_synchronously_without_allocating()
    {
        await using var f = await ValidatorFixture.CreateAsync();
        byte[] header = Encoding.ASCII.GetBytes("Bearer " + f.Keys.SignRs256(TestKeys.Claims(f.Clock.GetUtcNow())));
        Assert.True((await f.Validator.ValidateAsync(header)).Succeeded);
        Assert.Equal(1, f.Validator.CachedTokenCount);

        CachedTokenHits.AssertSynchronousAndAllocationFree(f.Validator, header);
    }

    [Fact]
    public async Task Cached_token_expires_with_its_exp()
    {
        await using var f = await ValidatorFixture.CreateAsync();
        string token = f.Keys.SignRs256(TestKeys.Claims(f.Clock.GetUtcNow()));
        Assert.True((await f.ValidateAsync(token)).Succeeded);
        f.Clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(29));
        Assert.True((await f.ValidateAsync(token)).Succeeded); // inside skew
        f.Clock.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(AuthFailure.Expired, (await f.ValidateAsync(token)).Failure);
        Assert.Equal(0, f.Validator.CachedTokenCount);
    }

    [Fact]
    public async Task Cache_is_bounded()
    {
        await using var f = await ValidatorFixture.CreateAsync(o => o.CacheSize = 16);
        for (int i = 0; i < 40; i++)
            Assert.True((await f.ValidateAsync(f.Keys.SignEs256(TestKeys.Claims(f.Clock.GetUtcNow(), sub: "user" + i)))).Succeeded);
        Assert.InRange(f.Validator.CachedTokenCount, 1, 16);
    }

    [Fact]
    public async Task Required_scope_missing_is_insufficient_scope_with_principal()
    {
        await using var f = await ValidatorFixture.CreateAsync(o => o.RequiredScopes = ["mcp:admin"]);
        string token = f.Keys.SignRs256(TestKeys.Claims(f.Clock.GetUtcNow()));
        var first = await f.ValidateAsync(token);
        var cached = await f.ValidateAsync(token);
        foreach (var result in new[] { first, cached })
        {
            Assert.Equal(AuthFailure.InsufficientScope, result.Failure);
            Assert.Equal("alice", result.Principal!.Subject);
            Assert.Equal(403, ResourceMetadata.StatusCode(result.Failure));
        }
    }

    [Fact]
    public async Task Nested_roles_claim_is_mapped()
    {
        await using var f = await ValidatorFixture.CreateAsync(o =>
        {
            o.ClaimMapping.GroupsClaim = "realm_access.roles";
            o.ClaimMapping.SubjectClaim = "preferred_username";
            o.ClaimMapping.ScopeClaim = "scp";
            o.ClaimMapping.ClientIdClaim = "azp";
        });
        var claims = TestKeys.Claims(f.Clock.GetUtcNow());
        claims["preferred_username"] = "carol";
        claims["realm_access"] = new Dictionary<string, object?> { ["roles"] = new[] { "auditor", "viewer" } };
        claims["scp"] = new[] { "a", "b" };
        claims["azp"] = "ide";
        var result = await f.ValidateAsync(f.Keys.SignRs256(claims));
        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal("carol", result.Principal!.Subject);
        Assert.Equal(["auditor", "viewer"], result.Principal.Groups);
        Assert.Equal(["a", "b"], result.Principal.Scopes);
        Assert.Equal("ide", result.Principal.ClientId);
    }

    [Fact]
    public async Task Several_issuers_are_trusted_each_with_its_own_audience()
    {
        var second = TestKeys.Second;
        string dir = Path.Combine(Path.GetTempPath(), "fastmcp-second-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string jwks = Path.Combine(dir, "jwks.json");
        await File.WriteAllTextAsync(jwks, second.JwksJson());
        try
        {
            await using var f = await ValidatorFixture.CreateAsync(o => o.Issuers.Add(new TrustedIssuerOptions
            {
                Issuer = "https://second-idp.example",
                JwksFile = jwks,
                Audience = "api://gateway",
            }));
            var now = f.Clock.GetUtcNow();
            Assert.True((await f.ValidateAsync(f.Keys.SignRs256(TestKeys.Claims(now)))).Succeeded);
            Assert.True((await f.ValidateAsync(second.SignRs256(TestKeys.Claims(now, iss: "https://second-idp.example", aud: "api://gateway")))).Succeeded);
            // The second issuer's key cannot vouch for the first issuer.
            Assert.Equal(AuthFailure.InvalidSignature, (await f.ValidateAsync(second.SignRs256(TestKeys.Claims(now)))).Failure);
            // Each issuer's audience is its own.
            Assert.Equal(AuthFailure.WrongAudience, (await f.ValidateAsync(second.SignRs256(TestKeys.Claims(now, iss: "https://second-idp.example")))).Failure);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task Algorithm_allow_list_is_enforced()
    {
        await using var f = await ValidatorFixture.CreateAsync(o => o.AllowedAlgorithms = ["ES256"]);
        var now = f.Clock.GetUtcNow();
        Assert.True((await f.ValidateAsync(f.Keys.SignEs256(TestKeys.Claims(now)))).Succeeded);
        Assert.Equal(AuthFailure.AlgorithmNotAllowed, (await f.ValidateAsync(f.Keys.SignRs256(TestKeys.Claims(now)))).Failure);
    }

    [Fact]
    public async Task Symmetric_keys_in_a_jwks_are_ignored()
    {
        string dir = Path.Combine(Path.GetTempPath(), "fastmcp-oct-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string jwks = Path.Combine(dir, "jwks.json");
        await File.WriteAllTextAsync(jwks, """{"keys":[{"kty":"oct","kid":"hmac","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}]}""");
        try
        {
            var options = new IdentityOptions
            {
                Resource = TestKeys.Resource,
                Issuers = [new TrustedIssuerOptions { Issuer = TestKeys.Issuer, JwksFile = jwks }],
                AllowedAlgorithms = ["RS256"],
            };
            await using var v = await TokenValidator.CreateAsync(options);
            var now = DateTimeOffset.UtcNow;
            string forged = TestKeys.Sign(TestKeys.Header("RS256", "hmac"), TestKeys.Claims(now), _ => new byte[256]);
            var result = await v.ValidateAsync(Encoding.ASCII.GetBytes("Bearer " + forged));
            Assert.Equal(AuthFailure.UnknownKey, result.Failure);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
