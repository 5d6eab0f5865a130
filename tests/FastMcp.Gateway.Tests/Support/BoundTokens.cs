using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FastMcp.Identity;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// Sender-constrained access tokens as an identity provider issues them: signed by the gateway's dev issuer key (the
/// PEM file the gateway itself loads), with a <c>cnf</c> claim given as raw JSON (RFC 8705 x5t#S256, RFC 9449 jkt,
/// or anything else a test wants refused).
/// </summary>
internal sealed class BoundTokens : IDisposable
{
    private readonly ECDsa _key = ECDsa.Create();
    private readonly string _kid;

    public BoundTokens(string devKeyDirectory)
    {
        _key.ImportFromPem(File.ReadAllText(Path.Combine(devKeyDirectory, DevKeys.KeyFileName)));
        // The dev issuer's kid (DevKey): a hash of the public key.
        _kid = Base64Url.EncodeToString(SHA256.HashData(_key.ExportSubjectPublicKeyInfo()).AsSpan(0, 12));
    }

    /// <summary>A ten-minute token of <paramref name="subject"/> in <paramref name="groups"/> whose cnf claim is <paramref name="cnfJson"/> (raw JSON).</summary>
    public string Mint(string subject, string cnfJson, params string[] groups)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string header = Encode($$"""{"alg":"ES256","typ":"at+jwt","kid":"{{_kid}}"}""");
        string payload = Encode($$"""
            {"iss":"{{DevKeys.Issuer}}","sub":"{{subject}}","aud":"{{DevKeys.Audience}}","iat":{{now}},"nbf":{{now}},"exp":{{now + 600}},
             "jti":"{{Guid.NewGuid():N}}","groups":{{JsonSerializer.Serialize(groups)}},"cnf":{{cnfJson}}}
            """);
        string signingInput = header + "." + payload;
        byte[] signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    /// <summary>A token bound to the certificate whose DER hashes to <paramref name="certificateSha256"/>.</summary>
    public string CertificateBound(string subject, byte[] certificateSha256) =>
        Mint(subject, $$"""{"x5t#S256":"{{Base64Url.EncodeToString(certificateSha256)}}"}""");

    /// <summary>A token bound to <paramref name="key"/> (cnf.jkt).</summary>
    public string DpopBound(string subject, DpopKey key, params string[] groups) => Mint(subject, $$"""{"jkt":"{{key.Thumbprint}}"}""", groups);

    private static string Encode(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));

    public void Dispose() => _key.Dispose();
}
