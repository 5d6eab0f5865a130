using System.Security.Cryptography;

namespace FastMcp.Identity.Tests.Support;

/// <summary>
/// An issuer whose JWKS is a real file the key rotation tests rewrite: three RSA keys to publish, a validator over
/// the file publishing one of them, and tokens signed with any key under any kid.
/// </summary>
internal static class JwksFileIssuer
{
    public static RSA K1 => TestKeys.Shared.Rsa;
    public static RSA K2 => TestKeys.Shared.OtherRsa;
    public static RSA K3 => TestKeys.Second.Rsa;

    public static Task<ValidatorFixture> Publishing(string kid, RSA key, Action<IdentityOptions>? configure = null) =>
        ValidatorFixture.CreateAsync(configure, path => RsaJwks.Write(path, (kid, key)));

    public static string Token(ValidatorFixture f, string kid, RSA key, string sub = "alice") =>
        f.Keys.SignRs256(TestKeys.Claims(f.Clock.GetUtcNow(), sub: sub), kid, key);
}
