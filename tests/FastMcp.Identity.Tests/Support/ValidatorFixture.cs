using System.Text;

namespace FastMcp.Identity.Tests.Support;

/// <summary>Keys written to a temporary JWKS file and a validator that trusts them, on a manual clock.</summary>
internal sealed class ValidatorFixture : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);

    public TestKeys Keys { get; } = TestKeys.Shared;
    public ManualTimeProvider Clock { get; } = new(Start);
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "fastmcp-identity-" + Guid.NewGuid().ToString("N"));
    public TokenValidator Validator { get; private set; } = null!;
    public IdentityOptions Options { get; private set; } = null!;

    /// <summary>The issuer's JWKS file; a test rewrites it to rotate keys, then lets the validator refresh.</summary>
    public string JwksPath => Path.Combine(Directory, "jwks.json");

    /// <param name="writeJwks">Writes the first JWKS to the path given; default: <see cref="TestKeys.JwksJson"/> of the shared keys.</param>
    public static async Task<ValidatorFixture> CreateAsync(Action<IdentityOptions>? configure = null, Action<string>? writeJwks = null)
    {
        var f = new ValidatorFixture();
        System.IO.Directory.CreateDirectory(f.Directory);
        string jwks = f.JwksPath;
        if (writeJwks is null)
            await File.WriteAllTextAsync(jwks, f.Keys.JwksJson());
        else
            writeJwks(jwks);
        f.Options = new IdentityOptions
        {
            Resource = TestKeys.Resource,
            Issuers = [new TrustedIssuerOptions { Issuer = TestKeys.Issuer, JwksFile = jwks }],
            ClockSkewSeconds = 30,
        };
        configure?.Invoke(f.Options);
        f.Validator = await TokenValidator.CreateAsync(f.Options, f.Clock, null);
        return f;
    }

    public ValueTask<AuthResult> ValidateAsync(string token) => Validator.ValidateAsync(Encoding.ASCII.GetBytes("Bearer " + token));

    public async ValueTask DisposeAsync()
    {
        await Validator.DisposeAsync();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
