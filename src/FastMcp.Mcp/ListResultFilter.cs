using System.Buffers;
using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// Rewrites a tools/list, prompts/list, resources/list or resources/templates/list JSON-RPC <em>result</em>,
/// keeping only entries whose name (or uri / uriTemplate) the filter accepts; everything else is copied byte
/// for byte (including nextCursor and _meta). Works on one complete JSON message (one JSON body or one SSE
/// event's data). Entries that lack the identifying string, or carry it twice, are removed: the filter fails
/// closed rather than guessing which copy a client would read.
/// </summary>
public static class ListResultFilter
{
    private const int StackNameBytes = 256;
    private static readonly JsonReaderOptions ReaderOptions = JsonCursor.Options(McpInspector.MaxDepth);

    /// <summary>
    /// Writes the filtered message into <paramref name="output"/> and returns true; returns false, writing
    /// nothing, when the input is not a well-formed success response carrying exactly one array for
    /// <paramref name="listMethod"/> (error responses, notifications, broken JSON): the caller decides what then.
    /// </summary>
    public static bool TryFilter<TFilter>(in ReadOnlySequence<byte> responseJson, McpMethod listMethod, ref TFilter filter,
        IBufferWriter<byte> output, out int removed)
        where TFilter : IListEntryFilter, allows ref struct
    {
        ArgumentNullException.ThrowIfNull(output);
        removed = 0;
        ReadOnlySpan<byte> arrayKey = ArrayKey(listMethod);
        if (arrayKey.IsEmpty || responseJson.Length > int.MaxValue || !Utf8Check.IsValid(responseJson))
        {
            return false;
        }

        // Pass 1 validates the whole message and finds the array, so that nothing is written for input we reject.
        if (!TryLocateArray(responseJson, arrayKey, out int arrayStart, out int arrayEnd))
        {
            return false;
        }

        // Pass 2 walks the array's entries and writes the kept ones.
        Copy(responseJson.Slice(0, arrayStart + 1), output);
        var reader = new Utf8JsonReader(responseJson.Slice(arrayStart, arrayEnd - arrayStart), ReaderOptions);
        reader.Read(); // '['
        ReadOnlySpan<byte> entryKey = EntryKey(listMethod);
        bool wroteOne = false;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            int entryStart = (int)reader.TokenStartIndex;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip(); // not an entry object: nothing a client should be shown
                removed++;
                continue;
            }
            if (!DecideEntry(ref reader, entryKey, listMethod, ref filter))
            {
                removed++;
                continue;
            }
            int entryEnd = (int)reader.TokenStartIndex + 1;
            if (wroteOne)
            {
                output.GetSpan(1)[0] = (byte)',';
                output.Advance(1);
            }
            Copy(responseJson.Slice(arrayStart + entryStart, entryEnd - entryStart), output);
            wroteOne = true;
        }
        Copy(responseJson.Slice(arrayEnd - 1), output);
        return true;
    }

    /// <summary>The result member holding the entries of each list method.</summary>
    public static ReadOnlySpan<byte> ArrayKey(McpMethod listMethod) => listMethod switch
    {
        McpMethod.ToolsList => "tools"u8,
        McpMethod.PromptsList => "prompts"u8,
        McpMethod.ResourcesList => "resources"u8,
        McpMethod.ResourcesTemplatesList => "resourceTemplates"u8,
        _ => default,
    };

    /// <summary>The entry member that identifies an entry for the filter.</summary>
    public static ReadOnlySpan<byte> EntryKey(McpMethod listMethod) => listMethod switch
    {
        McpMethod.ToolsList or McpMethod.PromptsList => "name"u8,
        McpMethod.ResourcesList => "uri"u8,
        McpMethod.ResourcesTemplatesList => "uriTemplate"u8,
        _ => default,
    };

    /// <summary>Validates the message and returns the offsets of '[' and one past ']' of result.&lt;arrayKey&gt;.</summary>
    private static bool TryLocateArray(in ReadOnlySequence<byte> json, ReadOnlySpan<byte> arrayKey, out int arrayStart, out int arrayEnd)
    {
        arrayStart = arrayEnd = -1;
        var reader = new Utf8JsonReader(json, ReaderOptions);
        try
        {
            if (JsonCursor.Next(ref reader, McpInspector.MaxDepth) != McpInspectError.None || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            bool seenResult = false, seenError = false;
            while (true)
            {
                if (JsonCursor.Next(ref reader, McpInspector.MaxDepth) != McpInspectError.None)
                {
                    return false;
                }
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }
                bool isResult = reader.ValueTextEquals("result"u8);
                seenError |= reader.ValueTextEquals("error"u8);
                if (JsonCursor.Next(ref reader, McpInspector.MaxDepth) != McpInspectError.None)
                {
                    return false;
                }
                if (isResult)
                {
                    if (seenResult || reader.TokenType != JsonTokenType.StartObject || !TryLocateInResult(ref reader, arrayKey, ref arrayStart, ref arrayEnd))
                    {
                        return false;
                    }
                    seenResult = true;
                    continue;
                }
                if (JsonCursor.SkipValue(ref reader, McpInspector.MaxDepth) != McpInspectError.None)
                {
                    return false;
                }
            }
            return !reader.Read() && seenResult && !seenError && arrayStart >= 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryLocateInResult(ref Utf8JsonReader reader, ReadOnlySpan<byte> arrayKey, ref int arrayStart, ref int arrayEnd)
    {
        while (true)
        {
            if (JsonCursor.Next(ref reader, McpInspector.MaxDepth) != McpInspectError.None)
            {
                return false;
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return true;
            }
            bool isArray = reader.ValueTextEquals(arrayKey);
            if (JsonCursor.Next(ref reader, McpInspector.MaxDepth) != McpInspectError.None)
            {
                return false;
            }
            if (isArray)
            {
                if (arrayStart >= 0 || reader.TokenType != JsonTokenType.StartArray)
                {
                    return false; // two arrays, or not an array: clients would disagree on what the list is
                }
                arrayStart = (int)reader.TokenStartIndex;
            }
            if (JsonCursor.SkipValue(ref reader, McpInspector.MaxDepth) != McpInspectError.None)
            {
                return false;
            }
            if (isArray)
            {
                arrayEnd = (int)reader.TokenStartIndex + 1;
            }
        }
    }

    /// <summary>Reads one entry object (current token: its StartObject; ends on its EndObject) and asks the filter.</summary>
    private static bool DecideEntry<TFilter>(ref Utf8JsonReader reader, ReadOnlySpan<byte> entryKey, McpMethod listMethod, ref TFilter filter)
        where TFilter : IListEntryFilter, allows ref struct
    {
        int depth = reader.CurrentDepth;
        int keys = 0;
        bool keep = false;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth)
            {
                break;
            }
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 1 && reader.ValueTextEquals(entryKey))
            {
                keys++;
                reader.Read();
                keep = reader.TokenType == JsonTokenType.String && AskFilter(ref reader, listMethod, ref filter);
            }
        }
        return keep && keys == 1;
    }

    private static bool AskFilter<TFilter>(ref Utf8JsonReader reader, McpMethod listMethod, ref TFilter filter)
        where TFilter : IListEntryFilter, allows ref struct
    {
        int raw = JsonCursor.ValueLength(ref reader);
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            return filter.Keep(listMethod, reader.ValueSpan);
        }
        byte[]? rented = null;
        Span<byte> scratch = raw <= StackNameBytes ? stackalloc byte[StackNameBytes] : (rented = ArrayPool<byte>.Shared.Rent(raw));
        try
        {
            int written = reader.CopyString(scratch);
            return filter.Keep(listMethod, scratch[..written]);
        }
        catch (InvalidOperationException)
        {
            return false; // escapes that decode to invalid UTF-16: not a name anyone can match
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static void Copy(in ReadOnlySequence<byte> source, IBufferWriter<byte> output)
    {
        foreach (ReadOnlyMemory<byte> segment in source)
        {
            output.Write(segment.Span);
        }
    }
}
