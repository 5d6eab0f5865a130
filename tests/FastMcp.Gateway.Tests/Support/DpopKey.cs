using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// A client's DPoP key and the proofs it makes (RFC 9449 §4.2), correct unless a test spoils one part: ECDSA P-256
/// (ES256, the default), or a 2048-bit RSA key for RS256 or PS256.
/// </summary>
internal sealed class DpopKey : IDisposable
{
    private readonly ECDsa? _ec;
    private readonly RSA? _rsa;
    private readonly string _alg;

    public DpopKey(string alg = "ES256")
    {
        _alg = alg;
        if (alg == "ES256") _ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        else if (alg is "RS256" or "PS256") _rsa = RSA.Create(2048);
        else throw new ArgumentException($"no DPoP test key for {alg}", nameof(alg));
    }

    /// <summary>RFC 7638 thumbprint of the public key, base64url: the token's cnf.jkt.</summary>
    public string Thumbprint => Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(_ec is not null
        ? $$"""{"crv":"P-256","kty":"EC","x":"{{X}}","y":"{{Y}}"}"""
        : $$"""{"e":"{{E}}","kty":"RSA","n":"{{N}}"}""")));

    private string X => Base64Url.EncodeToString(_ec!.ExportParameters(false).Q.X);
    private string Y => Base64Url.EncodeToString(_ec!.ExportParameters(false).Q.Y);
    private string N => Base64Url.EncodeToString(_rsa!.ExportParameters(false).Modulus);
    private string E => Base64Url.EncodeToString(_rsa!.ExportParameters(false).Exponent);

    /// <summary>A proof for <paramref name="method"/> on <paramref name="htu"/> carrying the hash of <paramref name="token"/>
    /// (and <paramref name="nonce"/>, the server's DPoP nonce, when given).</summary>
    public string Proof(string method, string htu, string token, string? jti = null, long? iat = null, string typ = "dpop+jwt",
        bool includePrivateKey = false, string? hmacSecret = null, string? nonce = null)
    {
        string jwk = _ec is not null
            ? includePrivateKey
                ? $$"""{"kty":"EC","crv":"P-256","x":"{{X}}","y":"{{Y}}","d":"{{Base64Url.EncodeToString(_ec.ExportParameters(true).D)}}"}"""
                : $$"""{"kty":"EC","crv":"P-256","x":"{{X}}","y":"{{Y}}"}"""
            : includePrivateKey
                ? $$"""{"kty":"RSA","n":"{{N}}","e":"{{E}}","d":"{{Base64Url.EncodeToString(_rsa!.ExportParameters(true).D)}}"}"""
                : $$"""{"kty":"RSA","n":"{{N}}","e":"{{E}}"}""";
        string alg = hmacSecret is null ? _alg : "HS256";
        string header = Encode($$"""{"typ":"{{typ}}","alg":"{{alg}}","jwk":{{jwk}}}""");
        string ath = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(token)));
        string nonceMember = nonce is null ? "" : ",\"nonce\":\"" + nonce + "\"";
        string payload = Encode($$"""
            {"jti":"{{jti ?? Guid.NewGuid().ToString("N")}}","htm":"{{method}}","htu":"{{htu}}","iat":{{iat ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds()}},"ath":"{{ath}}"{{nonceMember}}}
            """);
        string signingInput = header + "." + payload;
        byte[] data = Encoding.ASCII.GetBytes(signingInput);
        byte[] signature = hmacSecret is not null ? HMACSHA256.HashData(Encoding.UTF8.GetBytes(hmacSecret), data)
            : _ec is not null ? _ec.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            : _rsa!.SignData(data, HashAlgorithmName.SHA256, _alg == "PS256" ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    private static string Encode(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));

    public void Dispose()
    {
        _ec?.Dispose();
        _rsa?.Dispose();
    }
}
