using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FastMcp.Interop.Tests.Harness;

namespace FastMcp.Interop.Tests;

/// <summary>
/// An identity provider revokes a leaked signing key by removing it from its JWKS. The operator sends the gateway
/// SIGHUP: from then on tokens signed with that key are refused, those already verified and cached included, without
/// waiting for the hourly key refresh and without a restart (which would forget session and task bindings).
/// The native binary, a real JWKS file, real sockets and a real signal.
/// </summary>
[Trait("Category", "E2E")]
public sealed class SigningKeyRevocationTests : IDisposable
{
    private const string Issuer = "https://idp.interop.test";
    private const string Audience = "fastmcp-interop";
    private readonly CannedMcpUpstream _upstream = new();
    private readonly RSA _leaked = RSA.Create(2048);
    private readonly RSA _next = RSA.Create(2048);

    private string Config(string jwksPath, string auditKeyPath) => $$"""
        {
          "listen": ["127.0.0.1:0"],
          "admin": { "listen": "127.0.0.1:0" },
          "upstream": { "url": "{{_upstream.Url}}" },
          "identity": {
            "mode": "oidc",
            "resource": "http://127.0.0.1:8080/mcp",
            "issuers": [{ "issuer": "{{Issuer}}", "audience": "{{Audience}}", "jwksFile": {{JsonSerializer.Serialize(jwksPath)}}, "discovery": false }]
          },
          "audit": { "directory": "audit", "signingKeyPath": {{JsonSerializer.Serialize(auditKeyPath)}} },
          "policy": { "rules": [{ "name": "all", "action": "allow" }] }
        }
        """;

    [Fact]
    public async Task After_sighup_a_key_the_issuer_stopped_publishing_is_refused_cached_tokens_included()
    {
        string dir = Directory.CreateTempSubdirectory("fastmcp-keyrevoke-").FullName;
        try
        {
            string jwks = Path.Combine(dir, "jwks.json");
            await File.WriteAllTextAsync(jwks, Jwks(("leaked", _leaked)));
            // oidc mode wants the audit signing key outside the audit folder and owner-only.
            string auditKey = Path.Combine(dir, "audit-signing-key.pem");
            using (ECDsa signing = ECDsa.Create(ECCurve.NamedCurves.nistP256))
                await File.WriteAllTextAsync(auditKey, signing.ExportPkcs8PrivateKeyPem());
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(auditKey, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            using GatewayProcess gateway = await GatewayProcess.StartWithConfigAsync(Config(jwks, auditKey), dir);
            string old = Token("leaked", _leaked, "mallory");
            Assert.Equal(200, (await CallAsync(gateway, old)).Status); // verified, and now cached

            // The provider rotates: the leaked key is gone from its JWKS, a new one is published.
            await File.WriteAllTextAsync(jwks, Jwks(("next", _next)));
            Assert.Equal(200, (await CallAsync(gateway, old)).Status); // the gateway has not looked yet
            gateway.Process.Signal(SigHup);

            int status = 200;
            for (int i = 0; i < 100 && status == 200; i++)
            {
                await Task.Delay(100);
                status = (await CallAsync(gateway, old)).Status;
            }
            Assert.True(status == 401, $"the leaked key's token still answered {status} after SIGHUP\n{gateway.Transcript}");
            Assert.Contains("identity: signing keys refreshed (SIGHUP)", gateway.Transcript, StringComparison.Ordinal);
            // The same signal still reloads the configuration: both handlers of SIGHUP ran.
            Assert.Contains("configuration reload (SIGHUP) applied", gateway.Transcript, StringComparison.Ordinal);
            Assert.Equal(200, (await CallAsync(gateway, Token("next", _next, "alice"))).Status);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    private static Task<RawExchange> CallAsync(GatewayProcess gateway, string token) =>
        McpWire.PostAsync(gateway.McpUrl, null, McpWire.ToolCallBody(1, "echo", "{}"), ("Authorization", "Bearer " + token));

    private static string Jwks(params (string Kid, RSA Key)[] keys)
    {
        var entries = new List<string>();
        foreach (var (kid, key) in keys)
        {
            RSAParameters p = key.ExportParameters(false);
            entries.Add($$"""{"kty":"RSA","use":"sig","alg":"RS256","kid":"{{kid}}","n":"{{Base64Url.EncodeToString(p.Modulus)}}","e":"{{Base64Url.EncodeToString(p.Exponent)}}"}""");
        }
        return "{\"keys\":[" + string.Join(",", entries) + "]}";
    }

    private static string Token(string kid, RSA key, string subject)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string header = Base64Url.EncodeToString(Encoding.UTF8.GetBytes($$"""{"alg":"RS256","typ":"JWT","kid":"{{kid}}"}"""));
        string payload = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(
            $$"""{"iss":"{{Issuer}}","aud":"{{Audience}}","sub":"{{subject}}","iat":{{now}},"exp":{{now + 600}}}"""));
        byte[] signature = key.SignData(Encoding.ASCII.GetBytes(header + "." + payload), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return header + "." + payload + "." + Base64Url.EncodeToString(signature);
    }

    private const int SigHup = 1;

    public void Dispose()
    {
        _upstream.Dispose();
        _leaked.Dispose();
        _next.Dispose();
    }
}
