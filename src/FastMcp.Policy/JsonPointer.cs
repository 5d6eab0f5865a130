using System.Text;
using System.Text.Json;

namespace FastMcp.Policy;

/// <summary>A compiled RFC 6901 JSON pointer, evaluated by walking a <see cref="Utf8JsonReader"/> (no DOM).</summary>
internal sealed class JsonPointer
{
    private readonly byte[][] _names;
    private readonly int[] _indexes; // array index for each segment, or -1 when it cannot be one

    private JsonPointer(string text, byte[][] names, int[] indexes)
    {
        Text = text;
        _names = names;
        _indexes = indexes;
    }

    public string Text { get; }

    public static JsonPointer? Parse(string text, out string? error)
    {
        error = null;
        if (text.Length == 0)
            return new JsonPointer(text, [], []);
        if (text[0] != '/')
        {
            error = $"'{text}' must be empty or start with '/'";
            return null;
        }
        string[] parts = text[1..].Split('/');
        var names = new byte[parts.Length][];
        var indexes = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            string part = parts[i];
            for (int c = 0; c < part.Length; c++)
            {
                if (part[c] == '~' && (c + 1 >= part.Length || part[c + 1] is not ('0' or '1')))
                {
                    error = $"'{text}' has '~' not followed by 0 or 1";
                    return null;
                }
            }
            string unescaped = part.Replace("~1", "/").Replace("~0", "~");
            names[i] = Encoding.UTF8.GetBytes(unescaped);
            indexes[i] = IsArrayIndex(unescaped, out int index) ? index : -1;
        }
        return new JsonPointer(text, names, indexes);
    }

    private static bool IsArrayIndex(string s, out int index)
    {
        index = -1;
        if (s.Length == 0 || s.Length > 9 || (s.Length > 1 && s[0] == '0'))
            return false;
        foreach (char c in s)
            if (!char.IsAsciiDigit(c))
                return false;
        index = int.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>Positions <paramref name="reader"/> (fresh, before the first token) on the value the pointer designates.</summary>
    public bool TryLocate(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
            return false;
        for (int s = 0; s < _names.Length; s++)
        {
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                while (true)
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.PropertyName)
                        return false;
                    bool hit = reader.ValueTextEquals(_names[s]);
                    reader.Read();
                    if (hit)
                        break;
                    reader.Skip();
                }
            }
            else if (reader.TokenType == JsonTokenType.StartArray)
            {
                int wanted = _indexes[s];
                if (wanted < 0)
                    return false;
                for (int i = 0; ; i++)
                {
                    if (!reader.Read() || reader.TokenType == JsonTokenType.EndArray)
                        return false;
                    if (i == wanted)
                        break;
                    reader.Skip();
                }
            }
            else
            {
                return false;
            }
        }
        return true;
    }
}
