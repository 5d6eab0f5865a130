using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>A client's DPoP key (ECDSA P-256) and the proofs it makes (RFC 9449 §4.2), correct unless a test spoils one part.</summary>
internal sealed class DpopKey : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>RFC 7638 thumbprint of the public key, base64url: the token's cnf.jkt.</summary>
    public string Thumbprint => Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(
        $$"""{"crv":"P-256","kty":"EC","x":"{{X}}","y":"{{Y}}"}""")));

    private string X => Base64Url.EncodeToString(_key.ExportParameters(false).Q.X);
    private string Y => Base64Url.EncodeToString(_key.ExportParameters(false).Q.Y);

    /// <summary>A proof for <paramref name="method"/> on <paramref name="htu"/> carrying the hash of <paramref name="token"/>.</summary>
    public string Proof(string method, string htu, string token, string? jti = null, long? iat = null, string typ = "dpop+jwt",
        bool includePrivateKey = false, string? hmacSecret = null)
    {
        string jwk = includePrivateKey
            ? $$"""{"kty":"EC","crv":"P-256","x":"{{X}}","y":"{{Y}}","d":"{{Base64Url.EncodeToString(_key.ExportParameters(true).D)}}"}"""
            : $$"""{"kty":"EC","crv":"P-256","x":"{{X}}","y":"{{Y}}"}""";
        string alg = hmacSecret is null ? "ES256" : "HS256";
        string header = Encode($$"""{"typ":"{{typ}}","alg":"{{alg}}","jwk":{{jwk}}}""");
        string ath = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(token)));
        string payload = Encode($$"""
            {"jti":"{{jti ?? Guid.NewGuid().ToString("N")}}","htm":"{{method}}","htu":"{{htu}}","iat":{{iat ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds()}},"ath":"{{ath}}"}
            """);
        string signingInput = header + "." + payload;
        byte[] data = Encoding.ASCII.GetBytes(signingInput);
        byte[] signature = hmacSecret is null
            ? _key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            : HMACSHA256.HashData(Encoding.UTF8.GetBytes(hmacSecret), data);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    private static string Encode(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));

    public void Dispose() => _key.Dispose();
}
