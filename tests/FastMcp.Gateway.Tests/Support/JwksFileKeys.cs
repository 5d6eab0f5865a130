using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// A trusted issuer whose signing keys are a JWKS file the test rewrites (a key published, then retired), and RS256
/// tokens it signs under a kid: for the gateway tests of what a key refresh does to open streams.
/// </summary>
internal sealed class JwksFileKeys : IDisposable
{
    public const string Issuer = "https://idp.stream-tests.example";

    private readonly RSA _first = RSA.Create(2048);
    private readonly RSA _second = RSA.Create(2048);

    public JwksFileKeys(string path)
    {
        Path = path;
        Publish(first: true);
    }

    public string Path { get; }

    /// <summary>Rewrites the file (whole, by rename) to publish the first key under "k1", or only the second under "k2".</summary>
    public void Publish(bool first)
    {
        RSAParameters p = (first ? _first : _second).ExportParameters(false);
        string jwks = "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"" + (first ? "k1" : "k2") + "\",\"n\":\"" + Base64Url.EncodeToString(p.Modulus)
            + "\",\"e\":\"" + Base64Url.EncodeToString(p.Exponent) + "\"}]}";
        File.WriteAllText(Path + ".tmp", jwks);
        File.Move(Path + ".tmp", Path, overwrite: true);
    }

    /// <summary>A token for <paramref name="subject"/>, valid ten minutes, signed with the first key under "k1".</summary>
    public string Token(string subject, string audience)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string header = Encode("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}");
        string payload = Encode($"{{\"iss\":\"{Issuer}\",\"sub\":\"{subject}\",\"aud\":\"{audience}\",\"iat\":{now},\"nbf\":{now},\"exp\":{now + 600}}}");
        byte[] signature = _first.SignData(Encoding.ASCII.GetBytes(header + "." + payload), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return header + "." + payload + "." + Base64Url.EncodeToString(signature);
    }

    private static string Encode(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));

    public void Dispose()
    {
        _first.Dispose();
        _second.Dispose();
    }
}
