using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastMcp.Identity;

namespace FastMcp.Benchmarks.Identity;

/// <summary>Bearer-token checks: the cached path every request takes in steady state (budget ≤ 100 ns, 0 B)
/// and cold (uncached) RS256 and ES256 validation, paid once per token.</summary>
[MemoryDiagnoser]
public class TokenValidationBenchmarks
{
    private const string Issuer = "https://idp.bench.example";
    private const string Resource = "https://gateway.bench.example/mcp";
    private const int ColdTokens = 512;

    private readonly RSA _rsa = RSA.Create(2048);
    private readonly ECDsa _ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private string _dir = "";
    private TokenValidator _validator = null!;
    private ReadOnlyMemory<byte> _cachedHeader;
    private byte[][] _rsHeaders = [];
    private byte[][] _esHeaders = [];
    private int _next;

    [GlobalSetup]
    public async Task Setup()
    {
        _dir = Directory.CreateTempSubdirectory("fastmcp-bench-identity-").FullName;
        string jwks = Path.Combine(_dir, "jwks.json");
        var rsa = _rsa.ExportParameters(false);
        var ec = _ec.ExportParameters(false);
        await File.WriteAllTextAsync(jwks,
            $$"""{"keys":[{"kty":"RSA","kid":"rs","use":"sig","n":"{{Base64Url.EncodeToString(rsa.Modulus)}}","e":"{{Base64Url.EncodeToString(rsa.Exponent)}}"},""" +
            $$"""{"kty":"EC","kid":"es","use":"sig","crv":"P-256","x":"{{Base64Url.EncodeToString(ec.Q.X)}}","y":"{{Base64Url.EncodeToString(ec.Q.Y)}}"}]}""");
        var options = new IdentityOptions
        {
            Resource = Resource,
            Issuers = [new TrustedIssuerOptions { Issuer = Issuer, JwksFile = jwks }],
            ClaimMapping = { GroupsClaim = "realm_access.roles" },
        };
        _validator = await TokenValidator.CreateAsync(options);
        _cachedHeader = Header(Mint("RS256", "rs", "cached-user"));
        await _validator.ValidateAsync(_cachedHeader);
        _rsHeaders = new byte[ColdTokens][];
        _esHeaders = new byte[ColdTokens][];
        for (int i = 0; i < ColdTokens; i++)
        {
            _rsHeaders[i] = Header(Mint("RS256", "rs", "user" + i));
            _esHeaders[i] = Header(Mint("ES256", "es", "user" + i));
        }
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _validator.DisposeAsync();
        Directory.Delete(_dir, true);
    }

    [Benchmark(Baseline = true)]
    public AuthFailure CachedToken()
    {
        var pending = _validator.ValidateAsync(_cachedHeader);
        return pending.IsCompletedSuccessfully ? pending.Result.Failure : AuthFailure.Malformed;
    }

    [Benchmark]
    public async Task<AuthFailure> ColdRs256()
    {
        var result = await _validator.ValidateAsync(_rsHeaders[_next++ % ColdTokens]);
        _validator.ClearCache();
        return result.Failure;
    }

    [Benchmark]
    public async Task<AuthFailure> ColdEs256()
    {
        var result = await _validator.ValidateAsync(_esHeaders[_next++ % ColdTokens]);
        _validator.ClearCache();
        return result.Failure;
    }

    private static byte[] Header(string token) => Encoding.ASCII.GetBytes("Bearer " + token);

    private string Mint(string alg, string kid, string sub)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string header = Base64Url.EncodeToString(Encoding.UTF8.GetBytes($$"""{"alg":"{{alg}}","typ":"at+jwt","kid":"{{kid}}"}"""));
        string payload = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(
            $$$"""{"iss":"{{{Issuer}}}","sub":"{{{sub}}}","aud":"{{{Resource}}}","iat":{{{now}}},"nbf":{{{now}}},"exp":{{{now + 86400}}},"scope":"mcp:tools","client_id":"bench","realm_access":{"roles":["sre","dev"]}}"""));
        byte[] input = Encoding.ASCII.GetBytes(header + "." + payload);
        byte[] signature = alg == "RS256"
            ? _rsa.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : _ec.SignData(input, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return header + "." + payload + "." + Base64Url.EncodeToString(signature);
    }
}
