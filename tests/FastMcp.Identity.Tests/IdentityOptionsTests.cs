namespace FastMcp.Identity.Tests;

public sealed class IdentityOptionsTests
{
    private static IdentityOptions Valid() => new()
    {
        Resource = "https://mcp.example.com/mcp",
        Issuers = [new TrustedIssuerOptions { Issuer = "https://idp.example.com" }],
    };

    [Fact]
    public void Valid_options_pass() => Valid().Validate();

    [Theory]
    [InlineData("HS256")]
    [InlineData("none")]
    [InlineData("NONE")]
    [InlineData("XX999")]
    public void Forbidden_or_unknown_algorithms_are_refused(string alg)
    {
        var o = Valid();
        o.AllowedAlgorithms = ["RS256", alg];
        var ex = Assert.Throws<IdentityConfigurationException>(o.Validate);
        Assert.Contains("allowedAlgorithms", ex.Message);
    }

    [Theory]
    [InlineData(0, 100, "identity.dpop.maxAgeSeconds")]
    [InlineData(601, 100, "identity.dpop.maxAgeSeconds")]
    [InlineData(60, 15, "identity.dpop.replayCacheSize")]
    [InlineData(60, 10_000_001, "identity.dpop.replayCacheSize")]
    public void Dpop_settings_out_of_range_are_refused_naming_the_field(int maxAge, int replayCacheSize, string field)
    {
        var o = Valid();
        o.Dpop = new DpopOptions { MaxAgeSeconds = maxAge, ReplayCacheSize = replayCacheSize };
        var ex = Assert.Throws<IdentityConfigurationException>(o.Validate);
        Assert.StartsWith(field + ":", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Dpop_nonce_settings_are_checked_at_start_naming_the_field_and_never_the_key()
    {
        string dir = Directory.CreateTempSubdirectory("fastmcp-nonce-options-").FullName;
        try
        {
            string shortKey = Path.Combine(dir, "short.key"), goodKey = Path.Combine(dir, "good.key");
            File.WriteAllText(shortKey, "only-20-bytes-secret\n");
            File.WriteAllText(goodKey, "0123456789abcdef0123456789abcdef\n");
            string Refused(DpopOptions dpop, string field)
            {
                var o = Valid();
                o.Dpop = dpop;
                var ex = Assert.Throws<IdentityConfigurationException>(o.Validate);
                Assert.StartsWith(field + ":", ex.Message, StringComparison.Ordinal);
                Assert.DoesNotContain("only-20-bytes-secret", ex.Message, StringComparison.Ordinal);
                return ex.Message;
            }
            Refused(new DpopOptions { RequireNonce = true }, "identity.dpop.requireNonce");
            Refused(new DpopOptions { RequireNonce = true, NonceKeyFile = goodKey, NonceKeyEnv = "X" }, "identity.dpop.requireNonce");
            Refused(new DpopOptions { RequireNonce = true, NonceKeyFile = shortKey }, "identity.dpop.nonceKeyFile");
            // In our own words: the Native AOT binary has no framework exception messages.
            Assert.EndsWith("missing.key': no such file",
                Refused(new DpopOptions { RequireNonce = true, NonceKeyFile = Path.Combine(dir, "missing.key") }, "identity.dpop.nonceKeyFile"), StringComparison.Ordinal);
            Refused(new DpopOptions { RequireNonce = true, NonceKeyEnv = "FASTMCP_TEST_UNSET_NONCE_KEY" }, "identity.dpop.nonceKeyEnv");
            Refused(new DpopOptions { NonceKeyFile = goodKey }, "identity.dpop.nonceKeyFile");
            Refused(new DpopOptions { RequireNonce = true, NonceKeyFile = goodKey, NonceLifetimeSeconds = 9 }, "identity.dpop.nonceLifetimeSeconds");
            var ok = Valid();
            ok.Dpop = new DpopOptions { RequireNonce = true, NonceKeyFile = goodKey };
            ok.Validate();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("none")]
    [InlineData("Standalone")]
    [InlineData("")]
    public void Streams_end_with_token_takes_standalone_or_all_only(string value)
    {
        var o = Valid();
        o.StreamsEndWithToken = StreamsEndWithToken.All;
        o.Validate();
        o.StreamsEndWithToken = value;
        var ex = Assert.Throws<IdentityConfigurationException>(o.Validate);
        Assert.Contains("identity.streamsEndWithToken", ex.Message);
    }

    [Fact]
    public void Plain_http_issuer_is_only_allowed_on_loopback()
    {
        var o = Valid();
        o.Issuers[0].Issuer = "http://idp.example.com";
        Assert.Contains("issuers[0].issuer", Assert.Throws<IdentityConfigurationException>(o.Validate).Message);
        o.Issuers[0].Issuer = "http://127.0.0.1:9000";
        o.Validate();
    }

    [Fact]
    public void Oidc_mode_needs_issuers_and_a_resource()
    {
        var o = Valid();
        o.Issuers.Clear();
        Assert.Contains("issuers", Assert.Throws<IdentityConfigurationException>(o.Validate).Message);
        o = Valid();
        o.Resource = "mcp";
        Assert.Contains("resource", Assert.Throws<IdentityConfigurationException>(o.Validate).Message);
    }

    [Fact]
    public void Unknown_mode_is_refused()
    {
        var o = Valid();
        o.Mode = "trust-everyone";
        Assert.Contains("mode", Assert.Throws<IdentityConfigurationException>(o.Validate).Message);
    }
}
