using System.Buffers;
using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// Which list a success response holds, read from the shape of its result alone: for answers no request of the
/// exchange identifies (an event store replays old answers on a GET stream, where the gateway saw no call). A list is
/// a direct member of <c>result</c> named as <see cref="ListResultFilter.ArrayKey"/> names it. Allocates nothing.
/// </summary>
public static class ListResultShape
{
    private static readonly JsonReaderOptions ReaderOptions = JsonCursor.Options(McpInspector.MaxDepth);

    /// <summary>
    /// True with <see cref="McpMethod.Unknown"/> when the result holds no list member; true with the list method when
    /// it holds one kind; false when it holds members of several lists (which one a client reads cannot be told), when
    /// a lenient client could read a list this does not (<c>result</c> twice, a case or fold variant of <c>result</c>,
    /// another envelope name or a list member, such as <c>"Tools"</c>, or such a name with a control character), or
    /// the message cannot be read.
    /// </summary>
    public static bool TryFind(in ReadOnlySequence<byte> responseJson, out McpMethod listMethod)
    {
        listMethod = McpMethod.Unknown;
        var reader = new Utf8JsonReader(responseJson, ReaderOptions);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            bool seenResult = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isResult = reader.ValueTextEquals("result"u8);
                if (!isResult && !IsEnvelopeMember(ref reader) && MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.Envelope)) return false;
                if (isResult && seenResult) return false;
                seenResult |= isResult;
                if (!reader.Read()) return false;
                if (!isResult || reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    McpMethod found = ListNamed(ref reader);
                    if (found == McpMethod.Unknown && MemberNameVariant.MayBeReadAs(ref reader, FoldedMemberNames.ListArrays)) return false;
                    if (!reader.Read()) return false;
                    reader.Skip();
                    if (found == McpMethod.Unknown) continue;
                    if (listMethod != McpMethod.Unknown && listMethod != found) return false;
                    listMethod = found;
                }
            }
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a name whose escapes decode to invalid UTF-16.
            listMethod = McpMethod.Unknown;
            return false;
        }
    }

    private static bool IsEnvelopeMember(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("jsonrpc"u8) || reader.ValueTextEquals("id"u8) || reader.ValueTextEquals("method"u8)
        || reader.ValueTextEquals("params"u8) || reader.ValueTextEquals("error"u8);

    private static McpMethod ListNamed(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals(ListResultFilter.ArrayKey(McpMethod.ToolsList)) ? McpMethod.ToolsList
        : reader.ValueTextEquals(ListResultFilter.ArrayKey(McpMethod.PromptsList)) ? McpMethod.PromptsList
        : reader.ValueTextEquals(ListResultFilter.ArrayKey(McpMethod.ResourcesList)) ? McpMethod.ResourcesList
        : reader.ValueTextEquals(ListResultFilter.ArrayKey(McpMethod.ResourcesTemplatesList)) ? McpMethod.ResourcesTemplatesList
        : McpMethod.Unknown;
}
