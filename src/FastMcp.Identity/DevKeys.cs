using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace FastMcp.Identity;

/// <summary>
/// The locally generated ES256 key behind dev mode: <c>fastmcp token</c> signs with it and
/// <c>fastmcp serve</c> trusts it only when identity mode is "dev". Stored as PKCS#8 PEM, owner-only.
/// </summary>
public static class DevKeys
{
    /// <summary><c>iss</c> of dev tokens; deliberately not a URL so it can never collide with a real issuer.</summary>
    public const string Issuer = "urn:fastmcp:dev";
    /// <summary>Default <c>aud</c> of dev tokens, accepted in dev mode next to the configured resource.</summary>
    public const string Audience = "urn:fastmcp:dev";
    public const string KeyFileName = "dev-signing-key.pem";

    /// <summary><c>$FASTMCP_HOME</c>, else <c>$HOME/.fastmcp</c>.</summary>
    public static string DefaultDirectory
    {
        get
        {
            string? home = Environment.GetEnvironmentVariable("FASTMCP_HOME");
            if (!string.IsNullOrEmpty(home))
                return home;
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".fastmcp");
        }
    }

    /// <summary>Loads the dev key from <paramref name="directory"/>, creating it (and the directory, mode 0700) on first use.</summary>
    public static DevKey LoadOrCreate(string directory)
    {
        string path = Path.Combine(directory, KeyFileName);
        var ecdsa = ECDsa.Create();
        if (File.Exists(path))
        {
            ecdsa.ImportFromPem(File.ReadAllText(path));
            if (ecdsa.KeySize != 256)
                throw new IdentityConfigurationException($"{path}: dev key must be a P-256 key");
            return new DevKey(ecdsa);
        }
        ecdsa.GenerateKey(ECCurve.NamedCurves.nistP256);
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(directory);
        else
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // Write to a temporary name then move, so a concurrent `serve` never reads half a key.
        string temp = path + "." + Environment.ProcessId + ".tmp";
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, fileOptions))
            stream.Write(Encoding.ASCII.GetBytes(ecdsa.ExportPkcs8PrivateKeyPem()));
        try
        {
            File.Move(temp, path, overwrite: false);
        }
        catch (IOException)
        {
            // Another process created it first: use theirs.
            File.Delete(temp);
            ecdsa.Dispose();
            return LoadOrCreate(directory);
        }
        return new DevKey(ecdsa);
    }
}

/// <summary>A loaded dev signing key.</summary>
public sealed class DevKey : IDisposable
{
    private readonly ECDsa _ecdsa;

    internal DevKey(ECDsa ecdsa)
    {
        _ecdsa = ecdsa;
        // kid: RFC 7638-style thumbprint input is overkill here; a hash of the public key is stable and unique enough.
        byte[] spki = ecdsa.ExportSubjectPublicKeyInfo();
        KeyId = Base64Url.EncodeToString(SHA256.HashData(spki).AsSpan(0, 12));
        SecurityKey = new ECDsaSecurityKey(ecdsa) { KeyId = KeyId };
    }

    public string KeyId { get; }
    public SecurityKey SecurityKey { get; }

    /// <summary>Mints an ES256 access token (typ at+jwt) for the dev issuer.</summary>
    public string Mint(string subject, IReadOnlyList<string> groups, IReadOnlyList<string> scopes, string? clientId, string audience, DateTimeOffset now, TimeSpan lifetime)
    {
        var header = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(header))
        {
            w.WriteStartObject();
            w.WriteString("alg", "ES256");
            w.WriteString("typ", "at+jwt");
            w.WriteString("kid", KeyId);
            w.WriteEndObject();
        }
        var payload = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(payload))
        {
            w.WriteStartObject();
            w.WriteString("iss", DevKeys.Issuer);
            w.WriteString("sub", subject);
            w.WriteString("aud", audience);
            w.WriteNumber("iat", now.ToUnixTimeSeconds());
            w.WriteNumber("nbf", now.ToUnixTimeSeconds());
            w.WriteNumber("exp", (now + lifetime).ToUnixTimeSeconds());
            w.WriteString("jti", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
            if (clientId is not null)
                w.WriteString("client_id", clientId);
            w.WriteStartArray("groups");
            foreach (var g in groups)
                w.WriteStringValue(g);
            w.WriteEndArray();
            if (scopes.Count > 0)
                w.WriteString("scope", string.Join(' ', scopes));
            w.WriteEndObject();
        }
        string signingInput = Base64Url.EncodeToString(header.WrittenSpan) + "." + Base64Url.EncodeToString(payload.WrittenSpan);
        // JWS ES256 signatures are the raw r||s concatenation (RFC 7518 §3.4), not DER.
        byte[] signature = _ecdsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    public void Dispose() => _ecdsa.Dispose();
}
