using System.Text.Json;

namespace FastMcp.Mcp;

/// <summary>
/// Finds the task id a success response creates: <c>result.task.taskId</c> (2025-11-25 CreateTaskResult) or
/// <c>result.taskId</c> beside <c>result.resultType</c> "task" (2026-07-28 tasks extension, where the result is the task
/// itself). The gateway binds that id to the caller the answer goes to. Allocates nothing.
/// </summary>
public static class CreatedTaskReader
{
    private static readonly JsonReaderOptions ReaderOptions = JsonCursor.Options(McpInspector.MaxDepth);

    /// <summary>
    /// True with the raw string token of the created task's id (quotes and escapes included; unescape with
    /// <see cref="McpInspector.CopyUnescaped(ReadOnlySpan{byte}, Range, Span{byte})"/>); false when the message is not a
    /// success response creating a task, names the id in both shapes or twice, or cannot be read.
    /// </summary>
    public static bool TryFind(ReadOnlySpan<byte> responseJson, out Range taskIdToken)
    {
        taskIdToken = default;
        var reader = new Utf8JsonReader(responseJson, ReaderOptions);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            bool found = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isResult = reader.ValueTextEquals("result"u8);
                if (!reader.Read()) return false;
                if (!isResult || reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }
                if (found || !TryReadResult(ref reader, out taskIdToken)) return false;
                found = true;
            }
            return found;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            taskIdToken = default;
            return false;
        }
    }

    /// <summary>Reads <c>result</c> (current token: its StartObject; ends on its EndObject).</summary>
    private static bool TryReadResult(ref Utf8JsonReader reader, out Range taskIdToken)
    {
        taskIdToken = default;
        Range nested = default, flat = default;
        bool isTaskResult = false, several = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isTask = reader.ValueTextEquals("task"u8);
            bool isTaskId = !isTask && reader.ValueTextEquals("taskId"u8);
            bool isResultType = !isTask && !isTaskId && reader.ValueTextEquals("resultType"u8);
            if (!reader.Read()) return false;
            if (isTask && reader.TokenType == JsonTokenType.StartObject)
            {
                several |= !McpCall.IsEmpty(nested);
                nested = TaskIdIn(ref reader);
                continue;
            }
            if (isTaskId && reader.TokenType == JsonTokenType.String)
            {
                several |= !McpCall.IsEmpty(flat);
                flat = JsonCursor.ScalarRange(ref reader);
                continue;
            }
            if (isResultType) isTaskResult = reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("task"u8);
            reader.Skip();
        }
        if (several) return false;
        if (!isTaskResult) flat = default;
        // Both shapes at once: which one a client reads cannot be told.
        if (!McpCall.IsEmpty(nested) && !McpCall.IsEmpty(flat)) return false;
        taskIdToken = McpCall.IsEmpty(nested) ? flat : nested;
        return !McpCall.IsEmpty(taskIdToken);
    }

    /// <summary>The <c>taskId</c> string token of a task object (current token: its StartObject; ends on its EndObject); empty when none.</summary>
    private static Range TaskIdIn(ref Utf8JsonReader reader)
    {
        Range id = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isTaskId = reader.ValueTextEquals("taskId"u8);
            reader.Read();
            if (isTaskId && reader.TokenType == JsonTokenType.String && McpCall.IsEmpty(id)) id = JsonCursor.ScalarRange(ref reader);
            else reader.Skip();
        }
        return id;
    }
}
