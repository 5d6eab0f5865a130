using System.Text;
using FastMcp.Identity.Tests.Support;

namespace FastMcp.Identity.Tests;

/// <summary>
/// The gateway's upstream credential from a real OpenID Provider (oidc-provider, client credentials with a resource
/// indicator): the token it holds is one the upstream, validating for its own resource, accepts; a secret the provider
/// refuses leaves no token and says why, without the secret.
/// </summary>
public sealed class UpstreamOAuthCredentialProviderTests : IDisposable
{
    private const string Resource = "http://127.0.0.1:18445/mcp";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fastmcp-upstream-oauth-" + Guid.NewGuid().ToString("N"));

    public UpstreamOAuthCredentialProviderTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private UpstreamCredential Credential(OidcProviderProcess idp, string secret, List<string> log)
    {
        string file = Path.Combine(_dir, Guid.NewGuid().ToString("N"));
        File.WriteAllText(file, secret);
        var options = new UpstreamCredentialOptions
        {
            OAuth = new OAuthClientCredentialsOptions
            {
                TokenUrl = idp.Issuer + "/token", ClientId = idp.ClientId, ClientSecretFile = file, Scope = "mcp:tools", Resource = Resource,
            },
        };
        void Add(string line) { lock (log) log.Add(line); }
        return new UpstreamCredential(options, TimeProvider.System, new UpstreamCredentialStart("payments", FetchTokens: true, Add, Add));
    }

    [Fact]
    public async Task The_token_obtained_is_one_the_upstream_accepts_for_its_resource()
    {
        await using var idp = await OidcProviderProcess.StartAsync();
        var log = new List<string>();
        using UpstreamCredential credential = Credential(idp, idp.ClientSecret, log);

        Assert.True(credential.IsAvailable, string.Join('\n', log));
        Assert.True(credential.TryGetHeaderLine(out byte[] line));
        string header = Encoding.ASCII.GetString(line);
        Assert.StartsWith("Authorization: Bearer ", header, StringComparison.Ordinal);
        Assert.EndsWith("\r\n", header, StringComparison.Ordinal);
        string token = header["Authorization: Bearer ".Length..^2];
        // oidc-provider issues 300 s tokens here.
        Assert.InRange(credential.TokenRemainingSeconds!.Value, 1, 300);

        // The upstream's own view: a validator for its resource, trusting the provider, accepts the token.
        await using var upstreamValidator = await TokenValidator.CreateAsync(new IdentityOptions
        {
            Resource = Resource,
            Issuers = [new TrustedIssuerOptions { Issuer = idp.Issuer }],
        }, TimeProvider.System, null);
        AuthResult result = await upstreamValidator.ValidateAsync(Encoding.ASCII.GetBytes("Bearer " + token));
        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(idp.ClientId, result.Principal!.ClientId);
        Assert.Contains("mcp:tools", result.Principal.Scopes);
    }

    [Fact]
    public async Task A_secret_the_provider_refuses_leaves_no_token_and_says_why_without_the_secret()
    {
        await using var idp = await OidcProviderProcess.StartAsync();
        var log = new List<string>();
        using UpstreamCredential credential = Credential(idp, "not-the-secret", log);

        Assert.False(credential.IsAvailable);
        Assert.False(credential.TryGetHeaderLine(out _));
        Assert.Equal(1, credential.RefusedRequests);
        Assert.True(credential.TokenFetchFailures >= 1);
        Assert.Contains("invalid_client", credential.UnavailableReason, StringComparison.Ordinal);
        string logged;
        lock (log) logged = string.Join('\n', log);
        Assert.Contains("upstream 'payments': cannot obtain an access token", logged, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-secret", logged, StringComparison.Ordinal);
    }
}
