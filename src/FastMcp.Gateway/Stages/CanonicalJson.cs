using System.Globalization;
using System.Text.Json;

namespace FastMcp.Gateway.Stages;

/// <summary>
/// One canonical JSON text for a parsed value, so that a digest over it does not change when a sender re-serialises:
/// no insignificant whitespace, object members sorted by name (ordinal over UTF-16 code units, as RFC 8785 sorts;
/// duplicate names keep their order), strings re-escaped one fixed way (Utf8JsonWriter's default escaping).
/// Numbers are written either as sent (approval digests, whose version fixed that) or in one spelling
/// (<see cref="NumberSpelling.Canonical"/>, tool definition digests).
/// </summary>
internal static class CanonicalJson
{
    public enum NumberSpelling : byte { AsWritten, Canonical }

    public static void WriteValue(Utf8JsonWriter writer, JsonElement element, NumberSpelling numbers)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach ((string name, JsonElement value) in SortedMembers(element, skip: null))
                {
                    writer.WritePropertyName(name);
                    WriteValue(writer, value, numbers);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (JsonElement item in element.EnumerateArray()) WriteValue(writer, item, numbers);
                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(element.GetString());
                break;
            case JsonValueKind.Number:
                writer.WriteRawValue(numbers == NumberSpelling.Canonical ? CanonicalNumber(element) : element.GetRawText(), skipInputValidation: true);
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

    /// <summary>An object's members sorted by name (ordinal; duplicate names keep their order), without <paramref name="skip"/>.</summary>
    public static List<(string Name, JsonElement Value)> SortedMembers(JsonElement element, string? skip)
    {
        var members = new List<(string Name, JsonElement Value, int Order)>();
        foreach (JsonProperty p in element.EnumerateObject())
            if (p.Name != skip) members.Add((p.Name, p.Value, members.Count));
        members.Sort(static (a, b) =>
        {
            int c = string.CompareOrdinal(a.Name, b.Name);
            return c != 0 ? c : a.Order.CompareTo(b.Order);
        });
        var sorted = new List<(string Name, JsonElement Value)>(members.Count);
        foreach ((string name, JsonElement value, _) in members) sorted.Add((name, value));
        return sorted;
    }

    /// <summary>
    /// The number as an IEEE 754 double in one spelling: an integral value below 1e21 in plain digits ("1.0", "1e0" and
    /// "10E-1" are all "1"; "-0" is "0"), any other the shortest text that reads back as the same double, exponent as
    /// "e", its sign only when negative and no leading zeros ("1.5e-7"). A number no double holds is written as sent.
    /// </summary>
    public static string CanonicalNumber(JsonElement element)
    {
        if (!element.TryGetDouble(out double d) || !double.IsFinite(d)) return element.GetRawText();
        if (d == 0) return "0";
        if (Math.Floor(d) == d && Math.Abs(d) < 1e21) return d.ToString("F0", CultureInfo.InvariantCulture);
        string r = d.ToString("R", CultureInfo.InvariantCulture);
        int e = r.IndexOf('E');
        if (e < 0) return r;
        string mantissa = r[..e];
        int exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        return mantissa + "e" + exponent.ToString(CultureInfo.InvariantCulture);
    }
}
