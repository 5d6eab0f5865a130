using System.Text.Json;

namespace FastMcp.BenchUpstream;

/// <summary>The JSON-RPC methods the canned upstream answers.</summary>
internal enum McpMethod : byte
{
    None,
    Other,
    Initialize,
    Ping,
    ToolsList,
    ToolsCall,
    Notification,
}

/// <summary>
/// The few fields of one JSON-RPC message the upstream needs, as offsets into the body
/// (no strings are made).
/// </summary>
internal ref struct McpRequestFields
{
    public McpMethod Method;
    public bool IsNotification;
    public Range Id;
    public Range ToolName;
    public Range ProgressToken;
    public bool HasId;
    public bool HasProgressToken;

    private enum Slot : byte { Other, Params, Meta }

    /// <summary>Reads method, id, params.name and params._meta.progressToken; false if not a JSON object.</summary>
    public static bool TryRead(ReadOnlySpan<byte> body, out McpRequestFields fields)
    {
        fields = default;
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
        Span<Slot> path = stackalloc Slot[4];
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    continue;
                }

                var depth = reader.CurrentDepth;
                if (depth == 1)
                {
                    if (reader.ValueTextEquals("method"u8))
                    {
                        reader.Read();
                        fields.Method = Classify(ref reader);
                    }
                    else if (reader.ValueTextEquals("id"u8))
                    {
                        reader.Read();
                        fields.Id = RawToken(ref reader);
                        fields.HasId = reader.TokenType is JsonTokenType.String or JsonTokenType.Number;
                    }
                    else if (reader.ValueTextEquals("params"u8))
                    {
                        path[1] = Slot.Params;
                        continue;
                    }
                    else
                    {
                        path[1] = Slot.Other;
                        reader.Read();
                        reader.Skip();
                    }
                }
                else if (depth == 2 && path[1] == Slot.Params)
                {
                    if (reader.ValueTextEquals("name"u8))
                    {
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped)
                        {
                            var start = (int)reader.TokenStartIndex + 1;
                            fields.ToolName = new Range(start, start + reader.ValueSpan.Length);
                        }
                    }
                    else if (reader.ValueTextEquals("_meta"u8))
                    {
                        path[2] = Slot.Meta;
                        continue;
                    }
                    else
                    {
                        path[2] = Slot.Other;
                        reader.Read();
                        reader.Skip();
                    }
                }
                else if (depth == 3 && path[1] == Slot.Params && path[2] == Slot.Meta
                    && reader.ValueTextEquals("progressToken"u8))
                {
                    reader.Read();
                    fields.ProgressToken = RawToken(ref reader);
                    fields.HasProgressToken = reader.TokenType is JsonTokenType.String or JsonTokenType.Number;
                }
            }
        }
        catch (JsonException)
        {
            return false;
        }

        if (!fields.HasId && fields.Method != McpMethod.None)
        {
            fields.IsNotification = true;
            fields.Method = McpMethod.Notification;
        }

        return true;
    }

    private static Range RawToken(ref Utf8JsonReader reader)
    {
        var start = (int)reader.TokenStartIndex;
        return new Range(start, (int)reader.BytesConsumed);
    }

    private static McpMethod Classify(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            return McpMethod.Other;
        }

        if (reader.ValueTextEquals("tools/call"u8)) return McpMethod.ToolsCall;
        if (reader.ValueTextEquals("initialize"u8)) return McpMethod.Initialize;
        if (reader.ValueTextEquals("ping"u8)) return McpMethod.Ping;
        if (reader.ValueTextEquals("tools/list"u8)) return McpMethod.ToolsList;
        return McpMethod.Other;
    }
}
