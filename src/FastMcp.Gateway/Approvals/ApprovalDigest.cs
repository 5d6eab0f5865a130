using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace FastMcp.Gateway.Approvals;

/// <summary>
/// The digest an approval is bound to: SHA-256 over a canonical text of the call (docs/approvals.md):
/// <code>
/// fastmcp-approval-v5\n
/// method:&lt;method&gt;\n
/// params:&lt;canonical JSON of params, without _meta.progressToken&gt;\n
/// query:&lt;the request target's query as the upstream gets it, card numbers masked; empty without one&gt;\n
/// headers:&lt;the client fields forwarded under forwardHeaders, <see cref="HeadersLine"/>; empty without any&gt;\n
/// cookies:&lt;the cookies forwarded under forwardCookies, names and keyed MACs of values, <see cref="ApprovalCookies"/>; empty without any&gt;\n
/// cards:&lt;sorted keyed card fingerprints, comma-separated&gt;\n
/// </code>
/// The query, the forwarded header fields and the forwarded cookies are bound because the upstream reads them too (a
/// tenant, a toolset, a read-only switch, a session): a grant for a call with one value must not admit the same body
/// with another.
/// Every member of <c>params</c> is bound (name or uri, arguments, and anything else a server may read),
/// except <c>_meta.progressToken</c>, which a client picks anew for each attempt (a <c>_meta</c> left
/// empty without it is dropped too). Canonical JSON: no insignificant whitespace, object members sorted
/// by name (ordinal), strings re-escaped one fixed way, numbers as written. Missing params are <c>{}</c>.
/// Card numbers are bound through their keyed fingerprints, never through an unkeyed hash of the number
/// itself. Not on the hot path: only calls a require_approval rule matched get here.
/// </summary>
internal static class ApprovalDigest
{
    public static string Compute(string method, JsonElement? parameters, IReadOnlyList<string> cardFingerprints, string maskedQuery = "", string headers = "",
        string cookies = "")
    {
        var canonical = new ArrayBufferWriter<byte>(256);
        Append(canonical, "fastmcp-approval-v5\nmethod:");
        Append(canonical, method);
        Append(canonical, "\nparams:");
        WriteCanonicalParams(canonical, parameters);
        Append(canonical, "\nquery:");
        Append(canonical, maskedQuery);
        Append(canonical, "\nheaders:");
        Append(canonical, headers);
        Append(canonical, "\ncookies:");
        Append(canonical, cookies);
        Append(canonical, "\ncards:");
        var cards = new List<string>(cardFingerprints);
        cards.Sort(StringComparer.Ordinal);
        Append(canonical, string.Join(',', cards));
        Append(canonical, "\n");
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(canonical.WrittenSpan));
    }

    /// <summary>The same, from the params JSON text (empty: no params).</summary>
    public static string Compute(string method, ReadOnlySpan<byte> paramsJson, IReadOnlyList<string> cardFingerprints, string maskedQuery = "", string headers = "",
        string cookies = "")
    {
        if (paramsJson.IsEmpty) return Compute(method, (JsonElement?)null, cardFingerprints, maskedQuery, headers, cookies);
        using JsonDocument document = JsonDocument.Parse(paramsJson.ToArray());
        return Compute(method, document.RootElement, cardFingerprints, maskedQuery, headers, cookies);
    }

    /// <summary>
    /// The headers line (<see cref="Forwarding.ForwardedFieldLine"/>, the encoder the audit record shares): "name:value"
    /// pairs joined by commas, names lowercased, sorted by name (ordinal) and then in the order the client sent them,
    /// values %XX-escaped so that no value can forge another pair or line. Every value in clear: the digest binds them.
    /// </summary>
    public static string HeadersLine(IReadOnlyList<(string Name, byte[] Value)> fields)
    {
        var line = new Forwarding.ForwardedFieldLine();
        for (int i = 0; i < fields.Count; i++) line.AddHeader(Encoding.ASCII.GetBytes(fields[i].Name), fields[i].Value, redacted: false);
        var text = new ArrayBufferWriter<byte>(Math.Max(1, line.Length));
        line.Write(text, default);
        return Encoding.ASCII.GetString(text.WrittenSpan);
    }

    /// <summary>The canonical JSON text of params as the digest binds it: what approvers are shown.</summary>
    public static string CanonicalParams(JsonElement? parameters)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        WriteCanonicalParams(buffer, parameters);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <inheritdoc cref="CanonicalParams(JsonElement?)"/>
    public static string CanonicalParams(ReadOnlySpan<byte> paramsJson)
    {
        if (paramsJson.IsEmpty) return CanonicalParams((JsonElement?)null);
        using JsonDocument document = JsonDocument.Parse(paramsJson.ToArray());
        return CanonicalParams(document.RootElement);
    }

    private static void WriteCanonicalParams(IBufferWriter<byte> output, JsonElement? parameters)
    {
        if (parameters is not { } p)
        {
            Append(output, "{}");
            return;
        }
        // The inspector already proved the request is well-formed JSON.
        using var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = false, SkipValidation = false });
        if (p.ValueKind == JsonValueKind.Object) WriteObject(writer, p, withoutProgressToken: true);
        else WriteValue(writer, p);
        writer.Flush();
    }

    private static void WriteValue(Utf8JsonWriter writer, JsonElement element) =>
        Stages.CanonicalJson.WriteValue(writer, element, Stages.CanonicalJson.NumberSpelling.AsWritten);

    /// <summary>Members sorted by name. For params itself, _meta loses progressToken (and is dropped when nothing else is left).</summary>
    private static void WriteObject(Utf8JsonWriter writer, JsonElement element, bool withoutProgressToken)
    {
        writer.WriteStartObject();
        foreach ((string name, JsonElement value) in Stages.CanonicalJson.SortedMembers(element, skip: null))
        {
            if (withoutProgressToken && name == "_meta" && value.ValueKind == JsonValueKind.Object)
            {
                List<(string Name, JsonElement Value)> meta = Stages.CanonicalJson.SortedMembers(value, skip: "progressToken");
                if (meta.Count == 0) continue;
                writer.WriteStartObject(name);
                foreach ((string metaName, JsonElement metaValue) in meta)
                {
                    writer.WritePropertyName(metaName);
                    WriteValue(writer, metaValue);
                }
                writer.WriteEndObject();
                continue;
            }
            writer.WritePropertyName(name);
            WriteValue(writer, value);
        }
        writer.WriteEndObject();
    }

    private static void Append(IBufferWriter<byte> output, string text)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        int n = Encoding.UTF8.GetBytes(text, output.GetSpan(max));
        output.Advance(n);
    }
}
