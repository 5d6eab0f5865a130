using System.Text.Json;

namespace FastMcp.Gateway.Federation;

/// <summary>
/// What a completion/complete request completes an argument of: params.ref, a prompt (by name: routed by its prefix)
/// or a resource template (by URI: routed to the member that listed it).
/// </summary>
internal static class CompletionReference
{
    /// <summary>
    /// Finds params.ref: <paramref name="isPrompt"/> for "ref/prompt", false for "ref/resource"; <paramref name="value"/>
    /// is the name or uri, <paramref name="token"/> its raw string token (quotes included). False when the request
    /// names neither (or is not JSON the reader can walk).
    /// </summary>
    public static bool TryFind(ReadOnlySpan<byte> json, out bool isPrompt, out string value, out Range token)
    {
        (isPrompt, value, token) = (false, "", default);
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isParams = reader.ValueTextEquals("params"u8);
                reader.Read();
                if (!isParams || reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool isRef = reader.ValueTextEquals("ref"u8);
                    reader.Read();
                    if (isRef && reader.TokenType == JsonTokenType.StartObject) return ReadRef(ref reader, out isPrompt, out value, out token);
                    reader.Skip();
                }
                return false;
            }
        }
        catch (JsonException)
        {
        }
        return false;
    }

    private static bool ReadRef(ref Utf8JsonReader reader, out bool isPrompt, out string value, out Range token)
    {
        (isPrompt, value, token) = (false, "", default);
        string? type = null, name = null, uri = null;
        Range nameToken = default, uriToken = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int field = reader.ValueTextEquals("type"u8) ? 1 : reader.ValueTextEquals("name"u8) ? 2 : reader.ValueTextEquals("uri"u8) ? 3 : 0;
            reader.Read();
            if (field == 0 || reader.TokenType != JsonTokenType.String)
            {
                reader.Skip();
                continue;
            }
            var range = new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed);
            string text = reader.GetString()!;
            if (field == 1) type = text;
            else if (field == 2) (name, nameToken) = (text, range);
            else (uri, uriToken) = (text, range);
        }
        if (type == "ref/prompt" && name is not null)
        {
            (isPrompt, value, token) = (true, name, nameToken);
            return true;
        }
        if (type == "ref/resource" && uri is not null)
        {
            (value, token) = (uri, uriToken);
            return true;
        }
        return false;
    }
}
