using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// Small helpers over <see cref="Utf8JsonReader"/> shared by the inspectors and the list filter: depth-checked
/// reads, skipping without <see cref="Utf8JsonReader.Skip"/> (so our depth limit applies to skipped values too),
/// and token ranges as byte offsets from the start of the input. The reads and skips also come in a form that hands
/// every token to a <see cref="MemberNameTally"/>, which is how the readers check member names in their one walk.
/// </summary>
internal static class JsonCursor
{
    /// <summary>Reader options: strict JSON, and a reader limit above ours so that our own check reports TooDeep.</summary>
    internal static JsonReaderOptions Options(int maxDepth) => new()
    {
        MaxDepth = maxDepth + 2,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    /// <summary>
    /// Reads the next token inside a value that must continue; reports nesting deeper than maxDepth, and strings
    /// whose escapes do not decode to valid Unicode (lone surrogates) as invalid JSON.
    /// </summary>
    internal static McpInspectError Next(ref Utf8JsonReader reader, int maxDepth)
    {
        if (!reader.Read())
        {
            return McpInspectError.InvalidJson;
        }
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= maxDepth)
        {
            return McpInspectError.TooDeep;
        }
        if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped
            && !EscapedUnicodeCheck.IsValid(ref reader))
        {
            return McpInspectError.InvalidJson;
        }
        return McpInspectError.None;
    }

    /// <summary>Skips the value whose first token is current; afterwards the reader is on its last token.</summary>
    internal static McpInspectError SkipValue(ref Utf8JsonReader reader, int maxDepth)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return McpInspectError.None;
        }
        int depth = reader.CurrentDepth;
        while (true)
        {
            McpInspectError error = Next(ref reader, maxDepth);
            if (error != McpInspectError.None)
            {
                return error;
            }
            if (reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray && reader.CurrentDepth == depth)
            {
                return McpInspectError.None;
            }
        }
    }

    /// <summary>
    /// <see cref="Next(ref Utf8JsonReader, int)"/> that also hands the token to <paramref name="names"/>, so that the
    /// member-name rule is checked in the walk that reads the message (a token refused here is not handed on).
    /// </summary>
    internal static McpInspectError Next(ref Utf8JsonReader reader, int maxDepth, ref MemberNameTally names)
    {
        McpInspectError error = Next(ref reader, maxDepth);
        if (error == McpInspectError.None)
        {
            names.Observe(ref reader);
        }
        return error;
    }

    /// <summary>
    /// <see cref="SkipValue(ref Utf8JsonReader, int)"/> token by token through <paramref name="names"/>: what the walk
    /// steps over is still checked.
    /// </summary>
    internal static McpInspectError SkipValue(ref Utf8JsonReader reader, int maxDepth, ref MemberNameTally names)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return McpInspectError.None;
        }
        int depth = reader.CurrentDepth;
        while (true)
        {
            McpInspectError error = Next(ref reader, maxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return error;
            }
            if (reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray && reader.CurrentDepth == depth)
            {
                return McpInspectError.None;
            }
        }
    }

    /// <summary>Length of the current token's value as the reader reports it (strings: without quotes, still escaped).</summary>
    internal static int ValueLength(ref Utf8JsonReader reader) =>
        reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;

    /// <summary>Range of the current string or number token; strings include both quotes.</summary>
    internal static Range ScalarRange(ref Utf8JsonReader reader)
    {
        int start = checked((int)reader.TokenStartIndex);
        int length = ValueLength(ref reader);
        if (reader.TokenType == JsonTokenType.String)
        {
            length += 2;
        }
        return new Range(start, start + length);
    }

    /// <summary>
    /// Steps over the object or array whose start token is current, token by token through <paramref name="names"/>,
    /// and returns its whole raw range.
    /// </summary>
    internal static McpInspectError ContainerRange(ref Utf8JsonReader reader, int maxDepth, ref MemberNameTally names, out Range range)
    {
        int start = checked((int)reader.TokenStartIndex);
        McpInspectError error = SkipValue(ref reader, maxDepth, ref names);
        int end = checked((int)reader.TokenStartIndex) + 1;
        range = error == McpInspectError.None ? new Range(start, end) : default;
        return error;
    }

    /// <summary>True when the sequence holds something other than JSON whitespace.</summary>
    internal static bool HasContent(in System.Buffers.ReadOnlySequence<byte> body)
    {
        foreach (ReadOnlyMemory<byte> segment in body)
        {
            if (segment.Span.IndexOfAnyExcept(" \t\r\n"u8) >= 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Recognises the method of the current string token, unescaping (into a stack buffer) when needed.</summary>
    internal static McpMethod ParseMethod(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            return McpMethods.Parse(reader.ValueSpan);
        }
        // Escaped or split across segments. An escape is at most 6 bytes per character, so anything longer
        // than this cannot be a known method.
        const int MaxRaw = McpMethods.MaxNameLength * 6;
        if (ValueLength(ref reader) > MaxRaw)
        {
            return McpMethod.Unknown;
        }
        Span<byte> name = stackalloc byte[MaxRaw];
        int written = reader.CopyString(name);
        return McpMethods.Parse(name[..written]);
    }
}
