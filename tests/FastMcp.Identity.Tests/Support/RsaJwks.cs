using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;

namespace FastMcp.Identity.Tests.Support;

/// <summary>Writes a JWKS file of RSA public keys under the kids a test chooses, as an IdP publishes them
/// before and after a rotation (a kid dropped, or a kid kept with new key material).</summary>
internal static class RsaJwks
{
    public static void Write(string path, params (string Kid, RSA Key)[] keys)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteStartArray("keys");
            foreach (var (kid, key) in keys)
                WriteKey(w, kid, key);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        // Replaced whole (temporary file, then rename), so a refresh never reads half a document.
        string temp = path + ".tmp";
        File.WriteAllBytes(temp, stream.ToArray());
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>One RS256 signing key's public JWK.</summary>
    public static void WriteKey(Utf8JsonWriter w, string kid, RSA key)
    {
        RSAParameters p = key.ExportParameters(false);
        w.WriteStartObject();
        w.WriteString("kty", "RSA");
        w.WriteString("use", "sig");
        w.WriteString("alg", "RS256");
        w.WriteString("kid", kid);
        w.WriteString("n", Base64Url.EncodeToString(p.Modulus));
        w.WriteString("e", Base64Url.EncodeToString(p.Exponent));
        w.WriteEndObject();
    }
}
