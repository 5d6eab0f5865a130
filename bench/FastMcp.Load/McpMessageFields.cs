using System.Text.Json;

namespace FastMcp.Load;

/// <summary>
/// The top-level shape of one JSON-RPC message a target sent back: its id (raw token bytes),
/// whether it is a notification, a result (and result.isError) or an error.
/// </summary>
internal ref struct McpMessageFields
{
    public ReadOnlySpan<byte> Id;
    public bool HasMethod;
    public bool HasResult;
    public bool HasError;
    public bool ResultIsError;

    public readonly bool IsResponse => !HasMethod && (HasResult || HasError);

    public static bool TryRead(ReadOnlySpan<byte> json, out McpMessageFields fields)
    {
        fields = default;
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    var start = (int)reader.TokenStartIndex;
                    fields.Id = json[start..(int)reader.BytesConsumed];
                }
                else if (reader.ValueTextEquals("method"u8))
                {
                    fields.HasMethod = true;
                    reader.Read();
                }
                else if (reader.ValueTextEquals("error"u8))
                {
                    fields.HasError = true;
                    reader.Read();
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("result"u8))
                {
                    fields.HasResult = true;
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject)
                    {
                        fields.ResultIsError = ReadIsError(ref reader);
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }

        return true;
    }

    /// <summary>Reads a result object to its end; true when it has "isError": true.</summary>
    private static bool ReadIsError(ref Utf8JsonReader reader)
    {
        var isError = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("isError"u8))
            {
                reader.Read();
                isError = reader.TokenType == JsonTokenType.True;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return isError;
    }
}
