using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// An OIDC issuer the gateway trusts through a JWKS file (identity.issuers[].jwksFile): one RSA key published in a real
/// file, and RS256 access tokens signed with it for any subject, audience and scopes. Several of these stand for
/// several identity providers, so a test can trust and distrust them one by one.
/// </summary>
internal sealed class FileIssuer : IDisposable
{
    private const string Kid = "k1";
    private readonly RSA _key = RSA.Create(2048);

    public FileIssuer(string directory, string name)
    {
        Issuer = $"https://{name}.idp.test";
        JwksFile = Path.Combine(directory, name + ".jwks.json");
        File.WriteAllText(JwksFile, Jwks(Kid));
    }

    /// <summary>A JWKS document publishing the issuer's key under each of <paramref name="kids"/> (for a jwksUri the test serves).</summary>
    public string Jwks(params string[] kids)
    {
        RSAParameters p = _key.ExportParameters(false);
        return JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["keys"] = Array.ConvertAll(kids, kid => new Dictionary<string, string>
            {
                ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = kid,
                ["n"] = Base64Url.EncodeToString(p.Modulus), ["e"] = Base64Url.EncodeToString(p.Exponent),
            }),
        });
    }

    /// <summary>The tokens' iss claim.</summary>
    public string Issuer { get; }

    public string JwksFile { get; }

    /// <summary>The issuer's entry in identity.issuers, as JSON.</summary>
    public string ConfigEntry => $$"""{ "issuer": "{{Issuer}}", "jwksFile": {{JsonSerializer.Serialize(JwksFile)}} }""";

    /// <summary>An access token of <paramref name="subject"/> for <paramref name="audience"/>, valid for ten minutes, signed under
    /// <paramref name="kid"/>; bound to the DPoP key whose thumbprint is <paramref name="dpopJkt"/> when given (cnf.jkt).</summary>
    public string Token(string subject, string audience, string scope = "mcp:tools", string kid = Kid, string? dpopJkt = null)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string header = Encode(new Dictionary<string, object> { ["alg"] = "RS256", ["typ"] = "at+jwt", ["kid"] = kid });
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer, ["sub"] = subject, ["aud"] = audience, ["scope"] = scope,
            ["iat"] = now, ["nbf"] = now, ["exp"] = now + 600,
        };
        if (dpopJkt is not null) claims["cnf"] = new Dictionary<string, string> { ["jkt"] = dpopJkt };
        string payload = Encode(claims);
        string signingInput = header + "." + payload;
        byte[] signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    private static string Encode(Dictionary<string, object> json) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(json));

    public void Dispose() => _key.Dispose();
}
