using System.Buffers;
using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// Rewrites a tools/list, prompts/list, resources/list, resources/templates/list or tasks/list JSON-RPC <em>result</em>,
/// keeping only entries whose name (or uri / uriTemplate) the filter accepts; everything else is copied byte
/// for byte (including nextCursor and _meta). Works on one complete JSON message (one JSON body or one SSE
/// event's data). Entries that lack the identifying string are removed. A message a lenient client could read
/// another list from is refused whole, rather than guessing which copy a client would read: a case or fold variant
/// (or a name with a control character) of <c>result</c> or another envelope name, of the list member, or of an
/// entry's identifying member (<c>"NAME"</c> beside <c>"name"</c>: Go's encoding/json reads the last one), and
/// anywhere in it a member named twice, also apart from letter case.
/// </summary>
public static class ListResultFilter
{
    private const int StackNameBytes = 256;
    private static readonly JsonReaderOptions ReaderOptions = JsonCursor.Options(McpInspector.MaxDepth);

    /// <summary>
    /// Writes the filtered message into <paramref name="output"/> and returns true; returns false, writing
    /// nothing, when the input is not a well-formed success response carrying exactly one array for
    /// <paramref name="listMethod"/> (error responses, notifications, broken JSON), or names members a lenient
    /// client may read otherwise (see the class): the caller decides what then.
    /// </summary>
    public static bool TryFilter<TFilter>(in ReadOnlySequence<byte> responseJson, McpMethod listMethod, ref TFilter filter,
        IBufferWriter<byte> output, out int removed)
        where TFilter : IListEntryFilter, allows ref struct =>
        TryFilter(responseJson, listMethod, ref filter, output, out removed, out _);

    /// <summary>
    /// <see cref="TryFilter{TFilter}(in ReadOnlySequence{byte}, McpMethod, ref TFilter, IBufferWriter{byte}, out int)"/> that
    /// also says why it refused (<see cref="ListFilterRefusal.None"/> when it filtered).
    /// </summary>
    public static bool TryFilter<TFilter>(in ReadOnlySequence<byte> responseJson, McpMethod listMethod, ref TFilter filter,
        IBufferWriter<byte> output, out int removed, out ListFilterRefusal refusal)
        where TFilter : IListEntryFilter, allows ref struct
    {
        ArgumentNullException.ThrowIfNull(output);
        removed = 0;
        ReadOnlySpan<byte> arrayKey = ArrayKey(listMethod);
        if (arrayKey.IsEmpty)
        {
            refusal = ListFilterRefusal.NotAListResult;
            return false;
        }
        if (responseJson.Length > int.MaxValue || !Utf8Check.IsValid(responseJson))
        {
            refusal = ListFilterRefusal.NotUtf8;
            return false;
        }

        // Pass 1 validates the whole message, holds every object in it to the member-name rule and finds the array, so
        // that nothing is written for input we reject.
        refusal = TryLocateArray(responseJson, listMethod, out int arrayStart, out int arrayEnd);
        if (refusal != ListFilterRefusal.None)
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
        McpMethod.TasksList => "tasks"u8,
        _ => default,
    };

    /// <summary>The entry member that identifies an entry for the filter.</summary>
    public static ReadOnlySpan<byte> EntryKey(McpMethod listMethod) => listMethod switch
    {
        McpMethod.ToolsList or McpMethod.PromptsList => "name"u8,
        McpMethod.ResourcesList => "uri"u8,
        McpMethod.ResourcesTemplatesList => "uriTemplate"u8,
        McpMethod.TasksList => "taskId"u8,
        _ => default,
    };

    /// <summary>
    /// Validates the message and returns the offsets of '[' and one past ']' of result.&lt;arrayKey&gt;, or why not: among
    /// others when a member name there, in result or in an entry may be read by a lenient client as one read here.
    /// </summary>
    private static ListFilterRefusal TryLocateArray(in ReadOnlySequence<byte> json, McpMethod listMethod, out int arrayStart, out int arrayEnd)
    {
        var names = new MemberNameTally(fold: true);
        try
        {
            ListFilterRefusal refusal = TryLocateArray(json, listMethod, ref names, out arrayStart, out arrayEnd);
            // The tally only says that some name broke the rule: which rule is read again, for a refused message only.
            return refusal == ListFilterRefusal.None && names.Clashed ? NameRule(json) : refusal;
        }
        finally
        {
            names.Dispose();
        }
    }

    private static ListFilterRefusal NameRule(in ReadOnlySequence<byte> json) => ListFilterDiagnosis.Diagnose(json) switch
    {
        ListFilterRefusal.Unreadable => ListFilterRefusal.CaseVariantMember, // not expected: the tally and the scan read names alike
        ListFilterRefusal why => why,
    };

    private static ListFilterRefusal Refusal(McpInspectError error) =>
        error == McpInspectError.TooDeep ? ListFilterRefusal.TooDeep : ListFilterRefusal.InvalidJson;

    /// <summary>A name a lenient client may read as one read here: apart in letter case, or holding a control character.</summary>
    private static ListFilterRefusal VariantName(ref Utf8JsonReader reader) =>
        MemberNameVariant.HoldsControlCharacter(ref reader) ? ListFilterRefusal.ControlCharacterInMemberName : ListFilterRefusal.CaseVariantMember;

    private static ListFilterRefusal TryLocateArray(in ReadOnlySequence<byte> json, McpMethod listMethod, ref MemberNameTally names, out int arrayStart, out int arrayEnd)
    {
        arrayStart = arrayEnd = -1;
        var reader = new Utf8JsonReader(json, ReaderOptions);
        try
        {
            McpInspectError error = JsonCursor.Next(ref reader, McpInspector.MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return Refusal(error);
            }
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return ListFilterRefusal.NotAListResult;
            }
            bool seenResult = false, seenError = false;
            while (true)
            {
                if ((error = JsonCursor.Next(ref reader, McpInspector.MaxDepth, ref names)) != McpInspectError.None)
                {
                    return Refusal(error);
                }
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }
                bool isResult = reader.ValueTextEquals("result"u8);
                bool isError = !isResult && reader.ValueTextEquals("error"u8);
                seenError |= isError;
                if (!isResult && !isError && !IsEnvelopeMember(ref reader) && MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.Envelope))
                {
                    return VariantName(ref reader);
                }
                if ((error = JsonCursor.Next(ref reader, McpInspector.MaxDepth, ref names)) != McpInspectError.None)
                {
                    return Refusal(error);
                }
                if (isResult)
                {
                    if (seenResult)
                    {
                        return ListFilterRefusal.DuplicateMember;
                    }
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        return ListFilterRefusal.NotAListResult;
                    }
                    ListFilterRefusal inResult = TryLocateInResult(ref reader, listMethod, ref names, ref arrayStart, ref arrayEnd);
                    if (inResult != ListFilterRefusal.None)
                    {
                        return inResult;
                    }
                    seenResult = true;
                    continue;
                }
                if ((error = JsonCursor.SkipValue(ref reader, McpInspector.MaxDepth, ref names)) != McpInspectError.None)
                {
                    return Refusal(error);
                }
            }
            if (reader.Read())
            {
                return ListFilterRefusal.InvalidJson; // a second value after the message
            }
            return seenResult && !seenError && arrayStart >= 0 ? ListFilterRefusal.None : ListFilterRefusal.NotAListResult;
        }
        catch (JsonException)
        {
            return ListFilterRefusal.InvalidJson;
        }
        catch (InvalidOperationException)
        {
            return ListFilterRefusal.InvalidJson;
        }
    }

    private static bool IsEnvelopeMember(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("jsonrpc"u8) || reader.ValueTextEquals("id"u8) || reader.ValueTextEquals("method"u8) || reader.ValueTextEquals("params"u8);

    private static ListFilterRefusal TryLocateInResult(ref Utf8JsonReader reader, McpMethod listMethod, ref MemberNameTally names, ref int arrayStart, ref int arrayEnd)
    {
        ReadOnlySpan<byte> arrayKey = ArrayKey(listMethod);
        McpInspectError error;
        while (true)
        {
            if ((error = JsonCursor.Next(ref reader, McpInspector.MaxDepth, ref names)) != McpInspectError.None)
            {
                return Refusal(error);
            }
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return ListFilterRefusal.None;
            }
            bool isArray = reader.ValueTextEquals(arrayKey);
            if (!isArray && MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.ListArray(listMethod)))
            {
                return VariantName(ref reader); // "TOOLS", "toolſ": the list a Go client reads
            }
            if ((error = JsonCursor.Next(ref reader, McpInspector.MaxDepth, ref names)) != McpInspectError.None)
            {
                return Refusal(error);
            }
            if (isArray)
            {
                // Two arrays, or not an array: clients would disagree on what the list is.
                if (arrayStart >= 0)
                {
                    return ListFilterRefusal.DuplicateMember;
                }
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    return ListFilterRefusal.NotAListResult;
                }
                arrayStart = (int)reader.TokenStartIndex;
                ListFilterRefusal entries = EntryNamesAreReadable(ref reader, listMethod, ref names);
                if (entries != ListFilterRefusal.None)
                {
                    return entries;
                }
                arrayEnd = (int)reader.TokenStartIndex + 1;
                continue;
            }
            if ((error = JsonCursor.SkipValue(ref reader, McpInspector.MaxDepth, ref names)) != McpInspectError.None)
            {
                return Refusal(error);
            }
        }
    }

    /// <summary>
    /// Walks the list array (current token: its StartArray; ends on its EndArray) and checks each entry's own member
    /// names: false when one may be read as the entry's identifying member without being it (<c>"Name"</c>,
    /// <c>"URI"</c>, <c>"name\u0000"</c>), since the filter would decide on one name and a client show another.
    /// </summary>
    private static ListFilterRefusal EntryNamesAreReadable(ref Utf8JsonReader reader, McpMethod listMethod, ref MemberNameTally names)
    {
        ReadOnlySpan<byte> entryKey = EntryKey(listMethod);
        byte[][] foldedKey = FoldedMemberNames.ListEntryKey(listMethod);
        // The array's depth; an entry object is one deeper, its own member names two.
        int arrayDepth = reader.CurrentDepth;
        while (true)
        {
            McpInspectError error = JsonCursor.Next(ref reader, McpInspector.MaxDepth, ref names);
            if (error != McpInspectError.None)
            {
                return Refusal(error);
            }
            if (reader.TokenType == JsonTokenType.EndArray && reader.CurrentDepth == arrayDepth)
            {
                return ListFilterRefusal.None;
            }
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == arrayDepth + 2
                && !reader.ValueTextEquals(entryKey) && MemberNameVariant.MayBeReadAs(ref reader, foldedKey))
            {
                return VariantName(ref reader);
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
        // Pass 1 refused an answer with the key twice; counted again so that an entry is never kept on one copy.
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
