using System.Text;
using System.Text.Json;

namespace FastMcp.Gateway.Upstream.Stdio;

internal enum JsonRpcKind : byte { Invalid, Batch, Request, Notification, Response }

/// <summary>
/// What one JSON-RPC message is (request, notification, response) and its id, read with a forward-only
/// scan of the top level. The id is kept as a key ("s:" string or "n:" number text) that matches the
/// same id written back by the other side.
/// </summary>
internal readonly record struct JsonRpcShape(JsonRpcKind Kind, string? IdKey, string? Method)
{
    public static JsonRpcShape Read(ReadOnlySpan<byte> json)
    {
        try
        {
            var r = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!r.Read()) return default;
            if (r.TokenType == JsonTokenType.StartArray) return new JsonRpcShape(JsonRpcKind.Batch, null, null);
            if (r.TokenType != JsonTokenType.StartObject) return default;
            string? id = null, method = null;
            bool hasId = false, hasOutcome = false;
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                if (r.ValueTextEquals("id"u8))
                {
                    r.Read();
                    hasId = true;
                    id = r.TokenType switch
                    {
                        JsonTokenType.String => "s:" + r.GetString(),
                        JsonTokenType.Number => "n:" + Encoding.UTF8.GetString(r.ValueSpan),
                        JsonTokenType.Null => null,
                        _ => throw new JsonException("id must be a string, a number or null"),
                    };
                }
                else if (r.ValueTextEquals("method"u8))
                {
                    r.Read();
                    if (r.TokenType != JsonTokenType.String) return default;
                    method = r.GetString();
                }
                else
                {
                    if (r.ValueTextEquals("result"u8) || r.ValueTextEquals("error"u8)) hasOutcome = true;
                    r.Read();
                    r.Skip();
                }
            }
            if (r.TokenType != JsonTokenType.EndObject || r.Read()) return default;
            if (method is not null) return new JsonRpcShape(hasId && id is not null ? JsonRpcKind.Request : JsonRpcKind.Notification, id, method);
            if (hasOutcome && hasId) return new JsonRpcShape(JsonRpcKind.Response, id, null);
            return default;
        }
        catch (JsonException)
        {
            return default;
        }
    }

    /// <summary>Writes an id key back as the JSON value it came from (null when there was none).</summary>
    public static void WriteId(Utf8JsonWriter w, string? idKey)
    {
        if (idKey is null) w.WriteNullValue();
        else if (idKey.StartsWith("s:", StringComparison.Ordinal)) w.WriteStringValue(idKey.AsSpan(2));
        else w.WriteRawValue(idKey.AsSpan(2), skipInputValidation: false);
    }
}
