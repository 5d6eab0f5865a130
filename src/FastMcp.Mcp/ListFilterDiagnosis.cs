using System.Buffers;
using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// Says why a message was refused by a reading that only answers yes or no (the response view, the member-name tally):
/// the message is read again from its start, so only a refused one pays for it, never one that is filtered.
/// </summary>
public static class ListFilterDiagnosis
{
    private static readonly JsonReaderOptions ReaderOptions = JsonCursor.Options(McpInspector.MaxDepth);

    /// <summary>
    /// The first of these that holds: not UTF-8; not one well-formed JSON value; nested too deeply; a member name with a
    /// control character; a member named twice; two names apart only in letter case. Else <see cref="ListFilterRefusal.Unreadable"/>
    /// (well-formed JSON the caller could not read as the answer it expected).
    /// </summary>
    public static ListFilterRefusal Diagnose(in ReadOnlySequence<byte> json)
    {
        if (json.Length > int.MaxValue || !Utf8Check.IsValid(json))
        {
            return ListFilterRefusal.NotUtf8;
        }
        var reader = new Utf8JsonReader(json, ReaderOptions);
        bool controlCharacterName = false;
        try
        {
            McpInspectError error = JsonCursor.Next(ref reader, McpInspector.MaxDepth);
            if (error == McpInspectError.None && reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                while (error == McpInspectError.None)
                {
                    error = JsonCursor.Next(ref reader, McpInspector.MaxDepth);
                    if (error != McpInspectError.None || reader.TokenType is (JsonTokenType.EndObject or JsonTokenType.EndArray) && reader.CurrentDepth == 0)
                    {
                        break;
                    }
                    if (reader.TokenType == JsonTokenType.PropertyName && !controlCharacterName)
                    {
                        controlCharacterName = MemberNameVariant.HoldsControlCharacter(ref reader);
                    }
                }
            }
            if (error != McpInspectError.None)
            {
                return error == McpInspectError.TooDeep ? ListFilterRefusal.TooDeep : ListFilterRefusal.InvalidJson;
            }
            if (reader.Read())
            {
                return ListFilterRefusal.InvalidJson; // a second value after the first
            }
        }
        catch (JsonException)
        {
            return ListFilterRefusal.InvalidJson;
        }
        catch (InvalidOperationException)
        {
            return ListFilterRefusal.InvalidJson;
        }
        if (controlCharacterName)
        {
            return ListFilterRefusal.ControlCharacterInMemberName;
        }
        return DuplicateMemberScan.Find(json) switch
        {
            MemberNameClash.Duplicate => ListFilterRefusal.DuplicateMember,
            MemberNameClash.CaseVariant => ListFilterRefusal.CaseVariantMember,
            _ => ListFilterRefusal.Unreadable,
        };
    }
}
