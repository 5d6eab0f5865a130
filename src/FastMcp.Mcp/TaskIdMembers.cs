using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// Finds every place a JSON-RPC message names a task id, in both task protocol versions: <c>taskId</c> of a task as
/// <c>result</c> or <c>params</c> (tasks/get, tasks/cancel, tasks/update answers, a 2026-07-28 task result,
/// notifications/tasks/status), of <c>result.task</c> (2025-11-25 CreateTaskResult), of each <c>result.tasks</c> entry
/// (tasks/list), and of the related-task <c>_meta</c> (<c>io.modelcontextprotocol/related-task</c>) of either. Member
/// names match unescaped; only string ids are visited. Allocates nothing.
/// </summary>
public static class TaskIdMembers
{
    private static readonly JsonReaderOptions ReaderOptions = JsonCursor.Options(McpInspector.MaxDepth);

    /// <summary>
    /// Visits every task id token of <paramref name="json"/>; false when it is not one readable JSON object, or the
    /// visitor stopped the walk.
    /// </summary>
    public static bool TryVisit<TVisitor>(ReadOnlySpan<byte> json, ref TVisitor visitor) where TVisitor : ITaskIdVisitor, allows ref struct
    {
        var reader = new Utf8JsonReader(json, ReaderOptions);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool holds = reader.ValueTextEquals("result"u8) || reader.ValueTextEquals("params"u8);
                if (!reader.Read()) return false;
                if (!holds || reader.TokenType != JsonTokenType.StartObject) reader.Skip();
                else if (!Holder(ref reader, ref visitor)) return false;
            }
            // The root object closed, and nothing follows it.
            return reader.TokenType == JsonTokenType.EndObject && !reader.Read();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary><c>result</c> or <c>params</c> (current token: its StartObject; ends on its EndObject).</summary>
    private static bool Holder<TVisitor>(ref Utf8JsonReader reader, ref TVisitor visitor) where TVisitor : ITaskIdVisitor, allows ref struct
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isTaskId = reader.ValueTextEquals("taskId"u8);
            bool isTask = !isTaskId && reader.ValueTextEquals("task"u8);
            bool isTasks = !isTaskId && !isTask && reader.ValueTextEquals("tasks"u8);
            bool isMeta = !isTaskId && !isTask && !isTasks && reader.ValueTextEquals("_meta"u8);
            if (!reader.Read()) return false;
            if (isTaskId && reader.TokenType == JsonTokenType.String)
            {
                if (!visitor.Visit(JsonCursor.ScalarRange(ref reader))) return false;
            }
            else if ((isTask || isMeta) && reader.TokenType == JsonTokenType.StartObject)
            {
                if (!(isTask ? TaskObject(ref reader, ref visitor) : Meta(ref reader, ref visitor))) return false;
            }
            else if (isTasks && reader.TokenType == JsonTokenType.StartArray)
            {
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject) reader.Skip();
                    else if (!TaskObject(ref reader, ref visitor)) return false;
                }
            }
            else
            {
                reader.Skip();
            }
        }
        return reader.TokenType == JsonTokenType.EndObject;
    }

    /// <summary><c>_meta</c>: its related-task object names a task.</summary>
    private static bool Meta<TVisitor>(ref Utf8JsonReader reader, ref TVisitor visitor) where TVisitor : ITaskIdVisitor, allows ref struct
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isRelated = reader.ValueTextEquals("io.modelcontextprotocol/related-task"u8);
            if (!reader.Read()) return false;
            if (!isRelated || reader.TokenType != JsonTokenType.StartObject) reader.Skip();
            else if (!TaskObject(ref reader, ref visitor)) return false;
        }
        return reader.TokenType == JsonTokenType.EndObject;
    }

    /// <summary>A task (or related-task) object: its string <c>taskId</c> members.</summary>
    private static bool TaskObject<TVisitor>(ref Utf8JsonReader reader, ref TVisitor visitor) where TVisitor : ITaskIdVisitor, allows ref struct
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isTaskId = reader.ValueTextEquals("taskId"u8);
            if (!reader.Read()) return false;
            if (isTaskId && reader.TokenType == JsonTokenType.String)
            {
                if (!visitor.Visit(JsonCursor.ScalarRange(ref reader))) return false;
            }
            else
            {
                reader.Skip();
            }
        }
        return reader.TokenType == JsonTokenType.EndObject;
    }
}
