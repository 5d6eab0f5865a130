using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FastMcp.Identity.Tests.Support;

/// <summary>Signing keys for tests and a JWS builder that can also forge the attacks (alg none, HMAC with the public key, tampering).</summary>
internal sealed class TestKeys : IDisposable
{
    // RSA key generation is slow; keys are immutable, so every test shares these two sets.
    private static readonly Lazy<TestKeys> SharedKeys = new(() => new TestKeys());
    private static readonly Lazy<TestKeys> SecondKeys = new(() => new TestKeys());
    public static TestKeys Shared => SharedKeys.Value;
    public static TestKeys Second => SecondKeys.Value;

    public const string Issuer = "https://idp.test.example";
    public const string Resource = "https://gateway.test.example/mcp";

    public RSA Rsa { get; } = RSA.Create(2048);
    public ECDsa Ec { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    public RSA OtherRsa { get; } = RSA.Create(2048);
    public const string RsaKid = "rsa-1";
    public const string EcKid = "ec-1";

    /// <summary>JWKS with the RSA and EC public keys.</summary>
    public string JwksJson()
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteStartArray("keys");
            RsaJwks.WriteKey(w, RsaKid, Rsa);
            var ec = Ec.ExportParameters(false);
            w.WriteStartObject();
            w.WriteString("kty", "EC");
            w.WriteString("use", "sig");
            w.WriteString("alg", "ES256");
            w.WriteString("kid", EcKid);
            w.WriteString("crv", "P-256");
            w.WriteString("x", Base64Url.EncodeToString(ec.Q.X));
            w.WriteString("y", Base64Url.EncodeToString(ec.Q.Y));
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Standard claims for a token valid at <paramref name="now"/>.</summary>
    public static Dictionary<string, object?> Claims(DateTimeOffset now, string sub = "alice", string? aud = Resource, string? iss = Issuer) => new()
    {
        ["iss"] = iss,
        ["sub"] = sub,
        ["aud"] = aud,
        ["iat"] = now.ToUnixTimeSeconds(),
        ["nbf"] = now.ToUnixTimeSeconds(),
        ["exp"] = now.AddMinutes(5).ToUnixTimeSeconds(),
        ["scope"] = "mcp:tools files:read",
        ["client_id"] = "cli-1",
        ["groups"] = new[] { "sre", "dev" },
    };

    public string SignRs256(Dictionary<string, object?> claims, string? kid = RsaKid, RSA? key = null) =>
        Sign(Header("RS256", kid), claims, input => (key ?? Rsa).SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

    public string SignEs256(Dictionary<string, object?> claims, string? kid = EcKid) =>
        Sign(Header("ES256", kid), claims, input => Ec.SignData(input, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));

    /// <summary>The algorithm-confusion forgery: HS256 keyed with the RSA public key's bytes (which the attacker knows).</summary>
    public string SignHs256WithPublicKey(Dictionary<string, object?> claims)
    {
        byte[] secret = Encoding.ASCII.GetBytes(Rsa.ExportSubjectPublicKeyInfoPem());
        return Sign(Header("HS256", RsaKid), claims, input => HMACSHA256.HashData(secret, input));
    }

    public static string Unsigned(Dictionary<string, object?> claims) => Sign(Header("none", null), claims, _ => []);

    public static Dictionary<string, object?> Header(string alg, string? kid)
    {
        var h = new Dictionary<string, object?> { ["alg"] = alg, ["typ"] = "at+jwt" };
        if (kid is not null)
            h["kid"] = kid;
        return h;
    }

    public static string Sign(Dictionary<string, object?> header, Dictionary<string, object?> claims, Func<byte[], byte[]> signer)
    {
        string input = Base64Url.EncodeToString(Json(header)) + "." + Base64Url.EncodeToString(Json(claims));
        return input + "." + Base64Url.EncodeToString(signer(Encoding.ASCII.GetBytes(input)));
    }

    /// <summary>Replaces the payload of a signed token, keeping header and signature.</summary>
    public static string ReplacePayload(string token, Dictionary<string, object?> claims)
    {
        var parts = token.Split('.');
        return parts[0] + "." + Base64Url.EncodeToString(Json(claims)) + "." + parts[2];
    }

    private static byte[] Json(Dictionary<string, object?> values)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            foreach (var (name, value) in values)
                WriteValue(w, name, value);
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static void WriteValue(Utf8JsonWriter w, string? name, object? value)
    {
        if (name is not null)
            w.WritePropertyName(name);
        switch (value)
        {
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case long l: w.WriteNumberValue(l); break;
            case int i: w.WriteNumberValue(i); break;
            case bool b: w.WriteBooleanValue(b); break;
            case string[] arr:
                w.WriteStartArray();
                foreach (var item in arr)
                    w.WriteStringValue(item);
                w.WriteEndArray();
                break;
            case Dictionary<string, object?> obj:
                w.WriteStartObject();
                foreach (var (n, v) in obj)
                    WriteValue(w, n, v);
                w.WriteEndObject();
                break;
            default: throw new ArgumentException($"unsupported claim value {value.GetType()}");
        }
    }

    public void Dispose()
    {
        Rsa.Dispose();
        Ec.Dispose();
        OtherRsa.Dispose();
    }
}
