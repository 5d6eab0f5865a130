using System.Text;
using System.Text.Json;
using FastMcp.Audit;
using FastMcp.Pan;

namespace FastMcp.Gateway.Tests.Support;

/// <summary>
/// Reads a gateway's audit log back (verified, as `fastmcp-verify replay --format jsonl` prints it) and looks for
/// Luhn-valid card numbers anywhere in it: the raw record text, every decoded string (names and values), every
/// number's text, and every base64 payload decoded.
/// </summary>
internal static class AuditCards
{
    public static async Task<List<string>> ReadRecordsAsync(string auditDirectory)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        int status = await ReplayCommand.RunAsync([auditDirectory, "--key", Path.Combine(auditDirectory, "audit-signing-key.pub.pem"), "--format", "jsonl"], output, errors);
        Assert.True(status == 0, errors.ToString());
        return [.. output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    /// <summary>The records' text followed by every not-JSON payload they hold, decoded: what a reader of the log can read.</summary>
    public static string ReadableText(IEnumerable<string> records)
    {
        var text = new StringBuilder();
        foreach (string line in records)
        {
            text.Append(line).Append('\n');
            using JsonDocument document = JsonDocument.Parse(line);
            foreach (JsonProperty p in document.RootElement.EnumerateObject())
            {
                if (p.Name.EndsWith("NotJsonBase64", StringComparison.Ordinal) && p.Value.ValueKind == JsonValueKind.String)
                    text.Append(Encoding.UTF8.GetString(p.Value.GetBytesFromBase64())).Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary>Every place in the records where a full card number appears (empty when none does).</summary>
    public static List<string> FindCardNumbers(IEnumerable<string> records)
    {
        var found = new List<string>();
        foreach (string line in records)
        {
            if (PanMasker.ContainsCardNumber(Encoding.UTF8.GetBytes(line))) found.Add("raw: " + line);
            using JsonDocument document = JsonDocument.Parse(line);
            Walk(document.RootElement, "$", line, found);
        }
        return found;
    }

    /// <summary>
    /// Card numbers whose digits are kept apart only by bytes a lenient reader drops: NULs, bytes that are not UTF-8 (a
    /// decoder that ignores errors), UTF-16's zero bytes. Every string and decoded base64 payload is read with those removed.
    /// </summary>
    public static List<string> FindCardNumbersAmidUnreadableBytes(IEnumerable<string> records)
    {
        var found = new List<string>();
        foreach (string line in records)
        {
            using JsonDocument document = JsonDocument.Parse(line);
            WalkUnreadable(document.RootElement, line, found);
        }
        return found;
    }

    private static void WalkUnreadable(JsonElement element, string line, List<string> found)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (JsonProperty p in element.EnumerateObject())
                {
                    if (p.Name.EndsWith("NotJsonBase64", StringComparison.Ordinal) && p.Value.ValueKind == JsonValueKind.String)
                    {
                        byte[] kept = [.. p.Value.GetBytesFromBase64().Where(b => b is > 0 and < 0x80)];
                        if (PanMasker.ContainsCardNumber(kept)) found.Add($"{p.Name} (decoded, NULs and non-ASCII bytes dropped) in {line}");
                    }
                    WalkUnreadable(p.Value, line, found);
                }
                break;
            case JsonValueKind.Array:
                foreach (JsonElement item in element.EnumerateArray()) WalkUnreadable(item, line, found);
                break;
            case JsonValueKind.String:
                string text = new([.. element.GetString()!.Where(c => c is not ('\0' or '\uFFFD'))]);
                if (PanMasker.ContainsCardNumber(Encoding.UTF8.GetBytes(text))) found.Add($"{text} (NULs and replacement characters dropped) in {line}");
                break;
        }
    }

    private static void Walk(JsonElement element, string path, string line, List<string> found)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (JsonProperty p in element.EnumerateObject())
                {
                    Check(p.Name, $"{path} (member name {p.Name})", line, found);
                    if (p.Name.EndsWith("NotJsonBase64", StringComparison.Ordinal) && p.Value.ValueKind == JsonValueKind.String)
                        Check(Encoding.UTF8.GetString(p.Value.GetBytesFromBase64()), $"{path}.{p.Name} (decoded)", line, found);
                    Walk(p.Value, $"{path}.{p.Name}", line, found);
                }
                break;
            case JsonValueKind.Array:
                int i = 0;
                foreach (JsonElement item in element.EnumerateArray()) Walk(item, $"{path}[{i++}]", line, found);
                break;
            case JsonValueKind.String:
                Check(element.GetString()!, path, line, found);
                break;
            case JsonValueKind.Number:
                Check(element.GetRawText(), path, line, found);
                break;
        }
    }

    private static void Check(string text, string where, string line, List<string> found)
    {
        if (PanMasker.ContainsCardNumber(Encoding.UTF8.GetBytes(text))) found.Add($"{where}: {text} in {line}");
    }
}
