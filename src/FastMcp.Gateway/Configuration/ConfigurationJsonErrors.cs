using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace FastMcp.Gateway.Configuration;

/// <summary>
/// Our own words for a configuration file System.Text.Json refused. The AOT binary is built with
/// UseSystemResourceKeys, which replaces the framework's messages by resource keys
/// ("FoundInvalidCharacter"), so nothing here uses an exception's Message: the text is built from the
/// position (line, byte), the JSON path and the configuration's own metadata (field names and types).
/// </summary>
internal static class ConfigurationJsonErrors
{
    /// <summary>The error for a file that is not well-formed JSON, or null when the syntax is fine.</summary>
    public static ConfigurationException? Syntax(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        // The field being read, to name where the error is (the reader's own exception carries no path).
        var names = new List<string>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray: names.Add(""); break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray: names.RemoveAt(names.Count - 1); break;
                    case JsonTokenType.PropertyName: names[^1] = reader.GetString() ?? ""; break;
                }
            }
            return null;
        }
        catch (JsonException e)
        {
            long line = (e.LineNumber ?? 0) + 1;
            long column = (e.BytePositionInLine ?? 0) + 1;
            long offset = OffsetOf(json, e.LineNumber ?? 0, e.BytePositionInLine ?? 0);
            string what = offset >= json.Length
                ? "the file ends before the JSON is complete (a missing '}', ']' or '\"'?)"
                : $"unexpected {Describe(json[(int)offset])}";
            var path = new StringBuilder("$");
            foreach (string n in names)
                if (n.Length > 0) path.Append('.').Append(n);
            return new ConfigurationException(path.ToString(), $"not valid JSON at line {line}, byte {column}: {what}");
        }
    }

    /// <summary>The error for well-formed JSON the options type refused: an unknown field, or a value of the wrong type.</summary>
    public static ConfigurationException Shape(JsonException e, JsonTypeInfo root)
    {
        string path = e.Path ?? "$";
        string where = e.LineNumber is { } l ? $" (line {l + 1}, byte {(e.BytePositionInLine ?? 0) + 1})" : "";
        JsonTypeInfo? current = root;
        JsonPropertyInfo? last = null;
        foreach (string segment in Segments(path))
        {
            if (current is null) break;
            JsonPropertyInfo? found = null;
            foreach (JsonPropertyInfo p in current.Properties)
            {
                if (p.Name == segment) { found = p; break; }
            }
            if (found is null)
            {
                var names = new List<string>(current.Properties.Count);
                foreach (JsonPropertyInfo p in current.Properties) names.Add(p.Name);
                string? guess = Cli.Suggestion.Closest(segment, names);
                return new ConfigurationException(path, $"unknown field '{segment}'{where}"
                    + (guess is null ? $"; known here: {string.Join(", ", names)}" : $"; did you mean '{guess}'?"));
            }
            last = found;
            current = ElementTypeInfo(root.Options, found.PropertyType);
        }
        string expected = last is null ? "an object" : Expected(last.PropertyType);
        return new ConfigurationException(path, $"the value{where} is not {expected}");
    }

    /// <summary>Property names along a path such as "$.upstream.url" or "$.listen[0]" (indexes dropped).</summary>
    private static List<string> Segments(string path)
    {
        var segments = new List<string>();
        foreach (string raw in path.Split('.'))
        {
            string s = raw;
            int bracket = s.IndexOf('[');
            if (bracket >= 0)
            {
                // $['odd name'] keeps its name; [0] is an index into the list, not a field.
                string inner = s[bracket..].Trim('[', ']');
                s = s[..bracket];
                if (inner.StartsWith('\'')) s = inner.Trim('\'');
            }
            if (s.Length > 0 && s != "$") segments.Add(s);
        }
        return segments;
    }

    /// <summary>The metadata of an object field's type, or of a list's element type.</summary>
    private static JsonTypeInfo? ElementTypeInfo(JsonSerializerOptions options, Type type)
    {
        JsonTypeInfo? info = options.TypeInfoResolver?.GetTypeInfo(type, options);
        if (info is null) return null;
        if (info.Kind == JsonTypeInfoKind.Enumerable && info.ElementType is { } element)
            return options.TypeInfoResolver?.GetTypeInfo(element, options);
        return info.Kind == JsonTypeInfoKind.Object ? info : null;
    }

    private static string Expected(Type t)
    {
        Type type = Nullable.GetUnderlyingType(t) ?? t;
        if (type == typeof(string)) return "a string";
        if (type == typeof(bool)) return "true or false";
        if (type == typeof(int) || type == typeof(long)) return "a whole number";
        if (type == typeof(double)) return "a number";
        if (type.IsEnum) return $"one of: {string.Join(", ", Enum.GetNames(type))}";
        if (type != typeof(string) && typeof(System.Collections.IEnumerable).IsAssignableFrom(type)) return "an array";
        return "an object";
    }

    private static string Describe(byte b) => b switch
    {
        (byte)'\'' => "character ''' (JSON strings take double quotes)",
        >= 0x21 and < 0x7f => $"character '{(char)b}'",
        (byte)'\n' or (byte)'\r' => "end of line (an unterminated string?)",
        _ => $"byte 0x{b:x2}",
    };

    private static long OffsetOf(ReadOnlySpan<byte> json, long line, long byteInLine)
    {
        long offset = 0;
        for (long l = 0; l < line; l++)
        {
            int nl = json[(int)offset..].IndexOf((byte)'\n');
            if (nl < 0) return json.Length;
            offset += nl + 1;
        }
        return Math.Min(offset + byteInLine, json.Length);
    }
}
