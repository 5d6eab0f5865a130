using System.Text;
using FastMcp.Gateway.Tests.Support;
using FastMcp.Identity.Tests.Support;

namespace FastMcp.Identity.Tests;

/// <summary>
/// An identity provider and a token endpoint behind a private CA (real HTTPS listeners, openssl-made certificates):
/// with caFile the gateway fetches keys and tokens; without it (system store only) or with another CA the handshake
/// is refused and nothing is fetched; a caFile that cannot be used stops the start naming the field.
/// </summary>
public sealed class PrivateCaTrustTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly string _ca, _otherCa, _serverCertificate, _serverKey;

    public PrivateCaTrustTests()
    {
        _ca = _pki.Ca("idp-ca").Certificate;
        _otherCa = _pki.Ca("other-ca").Certificate;
        (_serverCertificate, _serverKey) = _pki.Server("idp-ca", "idp");
    }

    public void Dispose() => _pki.Dispose();

    private static IdentityOptions JwksOver(string jwksUri, string? caFile) => new()
    {
        Resource = TestKeys.Resource,
        Issuers = [new TrustedIssuerOptions { Issuer = TestKeys.Issuer, JwksUri = jwksUri, CaFile = caFile }],
    };

    private static ReadOnlyMemory<byte> Bearer() =>
        Encoding.ASCII.GetBytes("Bearer " + TestKeys.Shared.SignRs256(TestKeys.Claims(DateTimeOffset.UtcNow)));

    [Fact]
    public async Task Jwks_from_an_issuer_with_a_private_ca_certificate_is_fetched_with_caFile_and_tokens_are_accepted()
    {
        await using var idp = new HttpsAnswerServer(_serverCertificate, _serverKey, TestKeys.Shared.JwksJson());
        await using TokenValidator validator = await TokenValidator.CreateAsync(JwksOver(idp.BaseUrl + "/jwks", _ca), TimeProvider.System, null);

        AuthResult result = await validator.ValidateAsync(Bearer());
        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(1, idp.Served);
    }

    [Fact]
    public async Task Without_caFile_the_private_ca_is_not_trusted_and_no_keys_are_loaded()
    {
        await using var idp = new HttpsAnswerServer(_serverCertificate, _serverKey, TestKeys.Shared.JwksJson());
        var e = await Assert.ThrowsAsync<IdentityConfigurationException>(() => TokenValidator.CreateAsync(JwksOver(idp.BaseUrl + "/jwks", null), TimeProvider.System, null));
        Assert.Contains("cannot load signing keys", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, idp.Served);
    }

    [Fact]
    public async Task A_caFile_of_another_ca_is_the_only_trust_so_the_issuer_is_refused()
    {
        await using var idp = new HttpsAnswerServer(_serverCertificate, _serverKey, TestKeys.Shared.JwksJson());
        var e = await Assert.ThrowsAsync<IdentityConfigurationException>(() => TokenValidator.CreateAsync(JwksOver(idp.BaseUrl + "/jwks", _otherCa), TimeProvider.System, null));
        Assert.Contains("cannot load signing keys", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, idp.Served);
    }

    [Fact]
    public void An_issuer_caFile_that_cannot_be_used_is_a_configuration_error_naming_the_field()
    {
        string missing = _pki.PathOf("missing.pem"), empty = _pki.PathOf("empty.pem");
        File.WriteAllText(empty, "not a certificate\n");

        var e = Assert.Throws<IdentityConfigurationException>(() => JwksOver("https://localhost:1/jwks", missing).Validate());
        Assert.Contains("identity.issuers[0].caFile", e.Message, StringComparison.Ordinal);
        Assert.Contains("no such file", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<IdentityConfigurationException>(() => JwksOver("https://localhost:1/jwks", empty).Validate());
        Assert.Contains("identity.issuers[0].caFile", e.Message, StringComparison.Ordinal);
        Assert.Contains("holds no PEM certificate", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<IdentityConfigurationException>(() => JwksOver("http://127.0.0.1:1/jwks", _ca).Validate());
        Assert.Contains("identity.issuers[0].caFile", e.Message, StringComparison.Ordinal);
        Assert.Contains("not https://", e.Message, StringComparison.Ordinal);

        var fromFile = new IdentityOptions
        {
            Resource = TestKeys.Resource,
            Issuers = [new TrustedIssuerOptions { Issuer = TestKeys.Issuer, JwksFile = _pki.PathOf("jwks.json"), CaFile = _ca }],
        };
        e = Assert.Throws<IdentityConfigurationException>(fromFile.Validate);
        Assert.Contains("identity.issuers[0].caFile", e.Message, StringComparison.Ordinal);
    }

    private UpstreamCredential OAuthCredential(string tokenUrl, string? caFile)
    {
        string secret = _pki.PathOf("client-secret");
        File.WriteAllText(secret, "s3cret");
        var options = new UpstreamCredentialOptions
        {
            OAuth = new OAuthClientCredentialsOptions { TokenUrl = tokenUrl, ClientId = "gateway", ClientSecretFile = secret, CaFile = caFile, TimeoutMs = 5000 },
        };
        return new UpstreamCredential(options, TimeProvider.System, new UpstreamCredentialStart("payments", FetchTokens: true, null, null));
    }

    private const string TokenAnswer = """{"access_token":"tok-private-ca","token_type":"Bearer","expires_in":300}""";

    [Fact]
    public async Task The_oauth_token_endpoint_behind_a_private_ca_gives_a_token_with_caFile()
    {
        await using var endpoint = new HttpsAnswerServer(_serverCertificate, _serverKey, TokenAnswer);
        using UpstreamCredential credential = OAuthCredential(endpoint.BaseUrl + "/token", _ca);

        Assert.True(credential.TryGetHeaderLine(out byte[] line), credential.UnavailableReason);
        Assert.Equal("Authorization: Bearer tok-private-ca\r\n", Encoding.ASCII.GetString(line));
        Assert.Equal(1, endpoint.Served);
    }

    [Fact]
    public async Task Without_caFile_the_oauth_token_endpoint_behind_a_private_ca_gives_no_token()
    {
        await using var endpoint = new HttpsAnswerServer(_serverCertificate, _serverKey, TokenAnswer);
        using UpstreamCredential credential = OAuthCredential(endpoint.BaseUrl + "/token", null);

        Assert.False(credential.TryGetHeaderLine(out _));
        Assert.NotNull(credential.UnavailableReason);
        Assert.Equal(0, endpoint.Served);
    }

    [Fact]
    public void An_oauth_caFile_that_cannot_be_used_is_a_configuration_error_naming_the_field()
    {
        var e = Assert.Throws<IdentityConfigurationException>(() => OAuthCredential("https://localhost:1/token", _pki.PathOf("missing.pem")));
        Assert.Contains("identity.upstreamCredential.oauth.caFile", e.Message, StringComparison.Ordinal);
        Assert.Contains("no such file", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<IdentityConfigurationException>(() => OAuthCredential("http://127.0.0.1:1/token", _ca));
        Assert.Contains("identity.upstreamCredential.oauth.caFile", e.Message, StringComparison.Ordinal);
        Assert.Contains("not https://", e.Message, StringComparison.Ordinal);
    }
}
