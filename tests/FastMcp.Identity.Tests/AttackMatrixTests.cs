using System.Text;
using FastMcp.Identity.Tests.Support;

namespace FastMcp.Identity.Tests;

/// <summary>One test per attack on the bearer-token check: each must be refused with its own reason.</summary>
public sealed class AttackMatrixTests : IAsyncLifetime
{
    private ValidatorFixture _f = null!;

    public async Task InitializeAsync() => _f = await ValidatorFixture.CreateAsync();
    public async Task DisposeAsync() => await _f.DisposeAsync();

    private Dictionary<string, object?> Claims() => TestKeys.Claims(_f.Clock.GetUtcNow());

    [Fact]
    public async Task Baseline_valid_token_is_accepted()
    {
        var result = await _f.ValidateAsync(_f.Keys.SignRs256(Claims()));
        Assert.Equal(AuthFailure.None, result.Failure);
        Assert.Equal("alice", result.Principal!.Subject);
    }

    [Fact]
    public async Task Alg_none_is_refused()
    {
        var result = await _f.ValidateAsync(TestKeys.Unsigned(Claims()));
        Assert.Equal(AuthFailure.AlgorithmNotAllowed, result.Failure);
        Assert.Null(result.Principal);
    }

    [Fact]
    public async Task Alg_none_with_a_real_signature_part_is_still_refused()
    {
        var signed = _f.Keys.SignRs256(Claims()).Split('.');
        var none = TestKeys.Unsigned(Claims()).Split('.');
        var result = await _f.ValidateAsync(none[0] + "." + none[1] + "." + signed[2]);
        Assert.Equal(AuthFailure.AlgorithmNotAllowed, result.Failure);
    }

    [Fact]
    public async Task Hs256_signed_with_the_rsa_public_key_is_refused()
    {
        var result = await _f.ValidateAsync(_f.Keys.SignHs256WithPublicKey(Claims()));
        Assert.Equal(AuthFailure.AlgorithmNotAllowed, result.Failure);
    }

    [Fact]
    public async Task Expired_token_is_refused()
    {
        var claims = Claims();
        claims["exp"] = _f.Clock.GetUtcNow().AddSeconds(-31).ToUnixTimeSeconds(); // beyond the 30 s skew
        var result = await _f.ValidateAsync(_f.Keys.SignRs256(claims));
        Assert.Equal(AuthFailure.Expired, result.Failure);
    }

    [Fact]
    public async Task Expiry_within_clock_skew_is_tolerated()
    {
        var claims = Claims();
        claims["exp"] = _f.Clock.GetUtcNow().AddSeconds(-20).ToUnixTimeSeconds();
        var result = await _f.ValidateAsync(_f.Keys.SignRs256(claims));
        Assert.Equal(AuthFailure.None, result.Failure);
    }

    [Fact]
    public async Task Not_yet_valid_token_is_refused()
    {
        var claims = Claims();
        claims["nbf"] = _f.Clock.GetUtcNow().AddMinutes(2).ToUnixTimeSeconds();
        var result = await _f.ValidateAsync(_f.Keys.SignRs256(claims));
        Assert.Equal(AuthFailure.NotYetValid, result.Failure);
    }

    [Fact]
    public async Task Wrong_issuer_is_refused()
    {
        var claims = TestKeys.Claims(_f.Clock.GetUtcNow(), iss: "https://evil.example");
        var result = await _f.ValidateAsync(_f.Keys.SignRs256(claims));
        Assert.Equal(AuthFailure.WrongIssuer, result.Failure);
    }

    [Fact]
    public async Task Wrong_audience_is_refused()
    {
        var claims = TestKeys.Claims(_f.Clock.GetUtcNow(), aud: "account");
        var result = await _f.ValidateAsync(_f.Keys.SignRs256(claims));
        Assert.Equal(AuthFailure.WrongAudience, result.Failure);
    }

    [Fact]
    public async Task Missing_audience_is_refused()
    {
        var claims = Claims();
        claims.Remove("aud");
        var result = await _f.ValidateAsync(_f.Keys.SignRs256(claims));
        Assert.Equal(AuthFailure.WrongAudience, result.Failure);
    }

    [Fact]
    public async Task Token_minted_for_another_resource_is_refused()
    {
        // Same trusted issuer, same key, valid in every way, but for a different MCP server (RFC 8707).
        var claims = TestKeys.Claims(_f.Clock.GetUtcNow(), aud: "https://other-server.test.example/mcp");
        var result = await _f.ValidateAsync(_f.Keys.SignRs256(claims));
        Assert.Equal(AuthFailure.WrongAudience, result.Failure);
    }

    [Fact]
    public async Task Unknown_kid_is_refused()
    {
        var result = await _f.ValidateAsync(_f.Keys.SignRs256(Claims(), kid: "rotated-away"));
        Assert.Equal(AuthFailure.UnknownKey, result.Failure);
    }

    [Fact]
    public async Task Known_kid_but_signed_by_another_key_is_refused()
    {
        var result = await _f.ValidateAsync(_f.Keys.SignRs256(Claims(), key: _f.Keys.OtherRsa));
        Assert.Equal(AuthFailure.InvalidSignature, result.Failure);
    }

    [Fact]
    public async Task Tampered_payload_is_refused()
    {
        string token = _f.Keys.SignRs256(Claims());
        var escalated = Claims();
        escalated["sub"] = "root";
        escalated["groups"] = new[] { "admins" };
        var result = await _f.ValidateAsync(TestKeys.ReplacePayload(token, escalated));
        Assert.Equal(AuthFailure.InvalidSignature, result.Failure);
    }

    [Fact]
    public async Task Token_without_exp_is_refused()
    {
        var claims = Claims();
        claims.Remove("exp");
        var result = await _f.ValidateAsync(_f.Keys.SignRs256(claims));
        Assert.NotEqual(AuthFailure.None, result.Failure);
    }

    [Theory]
    [InlineData("/mcp?access_token=abc")]
    [InlineData("/mcp?x=1&access_token=abc")]
    [InlineData("/mcp?ACCESS_TOKEN=abc")]
    [InlineData("/mcp?access%5Ftoken=abc")]
    [InlineData("/mcp?access_token")]
    public void Token_in_query_string_is_detected(string target) =>
        Assert.True(TokenLocation.IsInQueryString(Encoding.ASCII.GetBytes(target)));

    [Theory]
    [InlineData("/mcp")]
    [InlineData("/mcp?session=1")]
    [InlineData("/mcp?my_access_token=1")]
    [InlineData("/access_token?x=1")]
    [InlineData("/mcp?x=access_token")]
    public void Query_without_access_token_is_not_flagged(string target) =>
        Assert.False(TokenLocation.IsInQueryString(Encoding.ASCII.GetBytes(target)));

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer  ")]
    [InlineData("Bearer abc def")]
    [InlineData("Bearer abc\"")]
    public async Task Malformed_header_is_refused(string header)
    {
        var result = await _f.Validator.ValidateAsync(Encoding.ASCII.GetBytes(header));
        Assert.Contains(result.Failure, new[] { AuthFailure.MalformedHeader, AuthFailure.MissingToken });
    }

    [Fact]
    public async Task Id_token_type_is_refused_when_access_token_type_is_required()
    {
        await using var strict = await ValidatorFixture.CreateAsync(o => o.RequireAccessTokenType = true);
        var header = TestKeys.Header("RS256", TestKeys.RsaKid);
        header["typ"] = "JWT";
        string idToken = TestKeys.Sign(header, Claims(), input => strict.Keys.Rsa.SignData(input, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1));
        Assert.Equal(AuthFailure.Malformed, (await strict.ValidateAsync(idToken)).Failure);
        Assert.True((await strict.ValidateAsync(strict.Keys.SignRs256(Claims()))).Succeeded);
        Assert.True((await _f.ValidateAsync(idToken)).Succeeded); // default: typ not enforced
    }

    [Fact]
    public async Task Garbage_token_is_malformed()
    {
        var result = await _f.ValidateAsync("not.a.jwt");
        Assert.Equal(AuthFailure.Malformed, result.Failure);
    }

    // RFC 7515 4.1.11: a "crit" header names extensions the recipient must understand; the gateway understands none.
    [Theory]
    [InlineData("b64")]
    [InlineData("exp")]
    public async Task A_token_with_a_crit_header_is_refused(string critical)
    {
        var header = TestKeys.Header("RS256", TestKeys.RsaKid);
        header["crit"] = new[] { critical };
        header[critical] = false;
        string token = TestKeys.Sign(header, Claims(), input => _f.Keys.Rsa.SignData(input, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1));
        var result = await _f.ValidateAsync(token);
        Assert.Equal(AuthFailure.Malformed, result.Failure);
        Assert.Null(result.Principal);
    }

    // RFC 7519 4.1.4-4.1.6: exp, nbf and iat are NumericDates; a string is not read leniently.
    [Theory]
    [InlineData("exp")]
    [InlineData("nbf")]
    [InlineData("iat")]
    public async Task A_time_claim_that_is_not_a_number_is_refused(string claim)
    {
        var claims = Claims();
        claims[claim] = claims[claim]!.ToString();
        var result = await _f.ValidateAsync(_f.Keys.SignRs256(claims));
        Assert.Equal(AuthFailure.Malformed, result.Failure);
        Assert.Null(result.Principal);
    }
}
