using System.Buffers;
using System.Text.Json;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Federation;

/// <summary>
/// Merges the list answers of a federated route's members into one answer: tool and prompt names get
/// "member + separator" in front; resources and templates keep their URIs, and the session remembers which member
/// listed each (reads go there). Federated path only: this parses and allocates.
/// </summary>
internal static class FederatedLists
{
    /// <summary>The array member of a list result: tools, prompts, resources, resourceTemplates.</summary>
    public static string ArrayName(McpMethod list) => list switch
    {
        McpMethod.ToolsList => "tools",
        McpMethod.PromptsList => "prompts",
        McpMethod.ResourcesList => "resources",
        _ => "resourceTemplates",
    };

    /// <summary>The result's entries and its nextCursor, from one member's JSON-RPC answer; false when it is no result (an error, or malformed).</summary>
    public static bool TryReadPage(ReadOnlySpan<byte> answer, McpMethod list, out List<JsonElement> entries, out string? nextCursor, out JsonDocument? document)
    {
        entries = [];
        nextCursor = null;
        document = null;
        try
        {
            document = JsonDocument.Parse(answer.ToArray());
            if (!document.RootElement.TryGetProperty("result", out JsonElement result) || result.ValueKind != JsonValueKind.Object) return false;
            if (!result.TryGetProperty(ArrayName(list), out JsonElement array) || array.ValueKind != JsonValueKind.Array) return false;
            foreach (JsonElement entry in array.EnumerateArray())
            {
                if (entry.ValueKind == JsonValueKind.Object) entries.Add(entry);
            }
            if (result.TryGetProperty("nextCursor", out JsonElement cursor) && cursor.ValueKind == JsonValueKind.String) nextCursor = cursor.GetString();
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Writes {"jsonrpc":"2.0","id":ID,"result":{ARRAY:[...]}} from the members' entries in member order: names prefixed
    /// for tools and prompts, URIs and templates remembered in <paramref name="session"/>.
    /// </summary>
    public static void WriteMerged(IBufferWriter<byte> output, ReadOnlySpan<byte> idJson, McpMethod list, FederatedRoute route, FederationSession session,
        List<(int Member, JsonElement Entry)> entries)
    {
        using var w = new Utf8JsonWriter(output);
        w.WriteStartObject();
        w.WriteString("jsonrpc"u8, "2.0"u8);
        w.WritePropertyName("id"u8);
        w.WriteRawValue(idJson, skipInputValidation: false);
        w.WriteStartObject("result"u8);
        w.WriteStartArray(ArrayName(list));
        bool prefixNames = list is McpMethod.ToolsList or McpMethod.PromptsList;
        foreach ((int member, JsonElement entry) in entries)
        {
            w.WriteStartObject();
            foreach (JsonProperty p in entry.EnumerateObject())
            {
                if (prefixNames && p.NameEquals("name"u8) && p.Value.ValueKind == JsonValueKind.String)
                {
                    w.WriteString("name"u8, route.Prefixes[member] + p.Value.GetString());
                    continue;
                }
                if (list == McpMethod.ResourcesList && p.NameEquals("uri"u8) && p.Value.ValueKind == JsonValueKind.String)
                    session.RememberResource(p.Value.GetString()!, member);
                if (list == McpMethod.ResourcesTemplatesList && p.NameEquals("uriTemplate"u8) && p.Value.ValueKind == JsonValueKind.String)
                    session.RememberTemplate(p.Value.GetString()!, member);
                p.WriteTo(w);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>
    /// Remembers in <paramref name="session"/> which member listed each resource URI (resources/list) or template
    /// (resources/templates/list) of <paramref name="entries"/>, without writing a merged answer (a rebuilt sealed
    /// session learning its resources' owners).
    /// </summary>
    public static void Remember(McpMethod list, FederationSession session, List<(int Member, JsonElement Entry)> entries)
    {
        foreach ((int member, JsonElement entry) in entries)
        {
            if (list == McpMethod.ResourcesList && entry.TryGetProperty("uri"u8, out JsonElement uri) && uri.ValueKind == JsonValueKind.String)
                session.RememberResource(uri.GetString()!, member);
            if (list == McpMethod.ResourcesTemplatesList && entry.TryGetProperty("uriTemplate"u8, out JsonElement template) && template.ValueKind == JsonValueKind.String)
                session.RememberTemplate(template.GetString()!, member);
        }
    }

    /// <summary>A request for a page of <paramref name="list"/>: the client's id, the member's cursor (null: the first page).</summary>
    public static byte[] PageRequest(ReadOnlySpan<byte> idJson, McpMethod list, string? cursor)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("jsonrpc"u8, "2.0"u8);
            w.WritePropertyName("id"u8);
            w.WriteRawValue(idJson, skipInputValidation: false);
            w.WriteString("method"u8, McpMethods.Name(list));
            w.WriteStartObject("params"u8);
            if (cursor is not null) w.WriteString("cursor"u8, cursor);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The request body with params.name (a string token at <paramref name="nameRange"/>) replaced by <paramref name="name"/>.</summary>
    public static void WriteWithName(IBufferWriter<byte> output, ReadOnlySpan<byte> body, Range nameRange, string name)
    {
        output.Write(body[..nameRange.Start]);
        var buffer = new ArrayBufferWriter<byte>(name.Length + 8);
        using (var w = new Utf8JsonWriter(buffer)) w.WriteStringValue(name);
        output.Write(buffer.WrittenSpan);
        output.Write(body[nameRange.End..]);
    }
}
