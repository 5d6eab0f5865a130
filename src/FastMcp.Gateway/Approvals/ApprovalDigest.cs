using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FastMcp.Gateway.Approvals;

/// <summary>
/// The digest an approval is bound to: SHA-256 over a canonical text of the call (docs/approvals.md):
/// <code>
/// fastmcp-approval-v1\n
/// method:&lt;method&gt;\n
/// name:&lt;tool, prompt or resource&gt;\n
/// arguments:&lt;canonical JSON&gt;\n
/// cards:&lt;sorted keyed card fingerprints, comma-separated&gt;\n
/// </code>
/// Canonical JSON: no insignificant whitespace, object members sorted by name (ordinal), strings
/// re-escaped one fixed way, numbers as written. Missing arguments are <c>{}</c>. Card numbers are
/// bound through their keyed fingerprints, never through an unkeyed hash of the number itself.
/// Not on the hot path: only calls a require_approval rule matched get here.
/// </summary>
internal static class ApprovalDigest
{
    public static string Compute(string method, string? name, ReadOnlySpan<byte> argumentsJson, IReadOnlyList<string> cardFingerprints)
    {
        var canonical = new ArrayBufferWriter<byte>(256);
        Append(canonical, "fastmcp-approval-v1\nmethod:");
        Append(canonical, method);
        Append(canonical, "\nname:");
        Append(canonical, name ?? "");
        Append(canonical, "\narguments:");
        WriteCanonicalArguments(canonical, argumentsJson);
        Append(canonical, "\ncards:");
        var cards = new List<string>(cardFingerprints);
        cards.Sort(StringComparer.Ordinal);
        Append(canonical, string.Join(',', cards));
        Append(canonical, "\n");
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(canonical.WrittenSpan));
    }

    /// <summary>The canonical JSON text of the arguments (exposed for tests and the documentation's examples).</summary>
    public static string CanonicalArguments(ReadOnlySpan<byte> argumentsJson)
    {
        var buffer = new ArrayBufferWriter<byte>(argumentsJson.Length + 2);
        WriteCanonicalArguments(buffer, argumentsJson);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteCanonicalArguments(IBufferWriter<byte> output, ReadOnlySpan<byte> argumentsJson)
    {
        if (argumentsJson.IsEmpty)
        {
            Append(output, "{}");
            return;
        }
        // The inspector already proved the arguments are well-formed JSON.
        using JsonDocument document = JsonDocument.Parse(argumentsJson.ToArray());
        using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false, SkipValidation = false });
        WriteValue(writer, document.RootElement);
        writer.Flush();
    }

    private static void WriteValue(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var members = new List<(string Name, JsonElement Value, int Order)>();
                foreach (JsonProperty p in element.EnumerateObject()) members.Add((p.Name, p.Value, members.Count));
                // Ordinal by name; duplicate names keep their order.
                members.Sort(static (a, b) =>
                {
                    int c = string.CompareOrdinal(a.Name, b.Name);
                    return c != 0 ? c : a.Order.CompareTo(b.Order);
                });
                writer.WriteStartObject();
                foreach ((string name, JsonElement value, _) in members)
                {
                    writer.WritePropertyName(name);
                    WriteValue(writer, value);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (JsonElement item in element.EnumerateArray()) WriteValue(writer, item);
                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(element.GetString());
                break;
            case JsonValueKind.Number:
                writer.WriteRawValue(element.GetRawText(), skipInputValidation: true);
                break;
            case JsonValueKind.True:
                writer.WriteBooleanValue(true);
                break;
            case JsonValueKind.False:
                writer.WriteBooleanValue(false);
                break;
            default:
                writer.WriteNullValue();
                break;
        }
    }

    private static void Append(IBufferWriter<byte> output, string text)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        int n = Encoding.UTF8.GetBytes(text, output.GetSpan(max));
        output.Advance(n);
    }
}
