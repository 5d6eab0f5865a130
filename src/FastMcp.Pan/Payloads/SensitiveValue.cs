using System.Text.Json;

namespace FastMcp.Pan.Payloads;

/// <summary>
/// Masks whole, in place and same length, the value a sensitive member (a card security code, a PIN) holds: every byte
/// of a string between its quotes becomes the mask byte (an escape such as <c>\"</c> becomes two mask bytes, so the JSON
/// stays valid), a number keeps its sign, point and exponent letters while its digits become '0' (the first of an
/// integer part of several digits '9', as a JSON number may not start with 0), and an object or array has every string
/// and number inside masked so. true, false and null are left: they hold no code.
/// </summary>
internal static class SensitiveValue
{
    /// <summary>Masks the value the reader is on (its first token); true when something was masked.</summary>
    public static bool MaskInPlace(byte maskByte, Span<byte> json, ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String or JsonTokenType.Number:
                return MaskToken(maskByte, json, ref reader);
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                int depth = reader.CurrentDepth;
                bool masked = false;
                while (reader.Read())
                {
                    if (reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray && reader.CurrentDepth == depth) break;
                    if (reader.TokenType is JsonTokenType.String or JsonTokenType.Number) masked |= MaskToken(maskByte, json, ref reader);
                }
                return masked;
            default:
                return false;
        }
    }

    /// <summary>
    /// Whether <see cref="MaskInPlace"/> would mask something in the value the reader is on (a non-empty string, a number,
    /// or a container holding one), changing nothing; the reader ends where masking would.
    /// </summary>
    public static bool WouldMask(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return reader.ValueSpan.Length > 0;
            case JsonTokenType.Number:
                return true;
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                int depth = reader.CurrentDepth;
                bool would = false;
                while (reader.Read())
                {
                    if (reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray && reader.CurrentDepth == depth) break;
                    would |= reader.TokenType == JsonTokenType.Number || reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length > 0;
                }
                return would;
            default:
                return false;
        }
    }

    private static bool MaskToken(byte maskByte, Span<byte> json, ref Utf8JsonReader reader)
    {
        int length = reader.ValueSpan.Length;
        if (reader.TokenType == JsonTokenType.String)
        {
            if (length == 0) return false;
            json.Slice((int)reader.TokenStartIndex + 1, length).Fill(maskByte);
            return true;
        }
        MaskNumber(json.Slice((int)reader.TokenStartIndex, length));
        return true;
    }

    private static void MaskNumber(Span<byte> number)
    {
        bool integerPart = true;
        for (int k = 0; k < number.Length; k++)
        {
            byte b = number[k];
            if ((uint)(b - '0') > 9)
            {
                if (b != (byte)'-') integerPart = false;
                continue;
            }
            bool leadsSeveral = integerPart && (k == 0 || number[k - 1] == (byte)'-') && k + 1 < number.Length && (uint)(number[k + 1] - '0') <= 9;
            number[k] = leadsSeveral ? (byte)'9' : (byte)'0';
        }
    }
}
