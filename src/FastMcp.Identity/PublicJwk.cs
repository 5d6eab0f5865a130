using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FastMcp.Identity;

/// <summary>
/// The public key of a DPoP proof's jwk header (RFC 7517), for the algorithm the proof names: an EC key on the
/// curve of ES256/ES384/ES512, or an RSA key for RS*/PS*. A jwk holding private members is refused (RFC 9449 §4.3
/// step 7). Also gives the key's RFC 7638 thumbprint, SHA-256 over its required members in lexicographic order.
/// </summary>
internal sealed class PublicJwk : IDisposable
{
    private static readonly string[] PrivateMembers = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

    private readonly AsymmetricAlgorithm _key;
    private readonly HashAlgorithmName _hash;
    private readonly RSASignaturePadding? _padding;

    private PublicJwk(AsymmetricAlgorithm key, HashAlgorithmName hash, RSASignaturePadding? padding, byte[] thumbprint)
    {
        _key = key;
        _hash = hash;
        _padding = padding;
        Thumbprint = thumbprint;
    }

    public byte[] Thumbprint { get; }

    public bool Verify(ReadOnlySpan<byte> signingInput, byte[] signature) => _key switch
    {
        // JWS ECDSA signatures are r||s (RFC 7518 §3.4), the IEEE P1363 form VerifyData expects by default.
        ECDsa ec => ec.VerifyData(signingInput, signature, _hash),
        RSA rsa => rsa.VerifyData(signingInput, signature, _hash, _padding!),
        _ => false,
    };

    public static PublicJwk? Read(JsonElement jwk, string alg, out string? problem)
    {
        problem = null;
        foreach (string member in PrivateMembers)
        {
            if (jwk.TryGetProperty(member, out _))
            {
                problem = "the DPoP proof's jwk holds a private key";
                return null;
            }
        }
        string? kty = Member(jwk, "kty");
        HashAlgorithmName hash = alg[2..] switch { "256" => HashAlgorithmName.SHA256, "384" => HashAlgorithmName.SHA384, _ => HashAlgorithmName.SHA512 };
        try
        {
            if (alg.StartsWith("ES", StringComparison.Ordinal))
            {
                (string crvName, ECCurve curve, int size) = alg switch
                {
                    "ES256" => ("P-256", ECCurve.NamedCurves.nistP256, 32),
                    "ES384" => ("P-384", ECCurve.NamedCurves.nistP384, 48),
                    _ => ("P-521", ECCurve.NamedCurves.nistP521, 66),
                };
                string? crv = Member(jwk, "crv"), x = Member(jwk, "x"), y = Member(jwk, "y");
                byte[]? xBytes = Coordinate(x, size), yBytes = Coordinate(y, size);
                if (kty != "EC" || crv != crvName || xBytes is null || yBytes is null)
                {
                    problem = $"the DPoP proof's jwk is not an EC {crvName} public key for {alg}";
                    return null;
                }
                var ec = ECDsa.Create(new ECParameters { Curve = curve, Q = new ECPoint { X = xBytes, Y = yBytes } });
                return new PublicJwk(ec, hash, null, ThumbprintOf($"{{\"crv\":\"{crv}\",\"kty\":\"EC\",\"x\":\"{x}\",\"y\":\"{y}\"}}"));
            }
            string? n = Member(jwk, "n"), e = Member(jwk, "e");
            byte[]? modulus = Unsigned(n), exponent = Unsigned(e);
            if (kty != "RSA" || modulus is null || exponent is null || modulus.Length < 256)
            {
                problem = $"the DPoP proof's jwk is not an RSA public key of at least 2048 bits for {alg}";
                return null;
            }
            var rsa = RSA.Create(new RSAParameters { Modulus = modulus, Exponent = exponent });
            RSASignaturePadding padding = alg.StartsWith("PS", StringComparison.Ordinal) ? RSASignaturePadding.Pss : RSASignaturePadding.Pkcs1;
            return new PublicJwk(rsa, hash, padding, ThumbprintOf($"{{\"e\":\"{e}\",\"kty\":\"RSA\",\"n\":\"{n}\"}}"));
        }
        catch (CryptographicException)
        {
            problem = "the DPoP proof's jwk is not a usable public key";
            return null;
        }
    }

    private static string? Member(JsonElement jwk, string name) =>
        jwk.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    // base64url only: the strings go verbatim into the thumbprint's JSON, which needs no escaping for them.
    private static byte[]? Coordinate(string? value, int size) => Unsigned(value) is { } bytes && bytes.Length == size ? bytes : null;

    private static byte[]? Unsigned(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 2048) return null;
        var bytes = new byte[Base64Url.GetMaxDecodedLength(value.Length)];
        return Base64Url.TryDecodeFromChars(value, bytes, out int written) && written > 0 ? bytes[..written] : null;
    }

    private static byte[] ThumbprintOf(string canonicalJwk) => SHA256.HashData(Encoding.ASCII.GetBytes(canonicalJwk));

    public void Dispose() => _key.Dispose();
}
