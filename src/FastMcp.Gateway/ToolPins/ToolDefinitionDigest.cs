using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using FastMcp.Gateway.Stages;

namespace FastMcp.Gateway.ToolPins;

/// <summary>
/// The digest a tool definition is pinned by: "sha256:" and the lowercase hex SHA-256 of the canonical JSON text
/// (<see cref="CanonicalJson"/>, numbers in their canonical spelling) of the whole tool object of a tools/list result,
/// every member included (name, title, description, inputSchema, outputSchema, annotations, icons, _meta and any member
/// a later protocol adds): the gateway cannot know which of them a client shows to its model, so a change to any is a
/// change to review (docs/policy.md, "Tool definition pinning").
/// </summary>
internal static class ToolDefinitionDigest
{
    public const string Prefix = "sha256:";

    public static string Compute(JsonElement tool) => Of(Canonical(tool));

    /// <summary>The digest of a canonical text (<see cref="Canonical"/>).</summary>
    public static string Of(ReadOnlySpan<byte> canonical) => Prefix + Convert.ToHexStringLower(SHA256.HashData(canonical));

    /// <summary>The canonical JSON text of the tool object the digest is taken over.</summary>
    public static byte[] Canonical(JsonElement tool)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            CanonicalJson.WriteValue(writer, tool, CanonicalJson.NumberSpelling.Canonical);
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>True for "sha256:" and 64 lowercase hex digits.</summary>
    public static bool IsWellFormed(string? digest)
    {
        if (digest is null || digest.Length != Prefix.Length + 64 || !digest.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        foreach (char c in digest.AsSpan(Prefix.Length))
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f')) return false;
        return true;
    }
}
