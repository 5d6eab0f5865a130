using System.Buffers;
using FastMcp.Gateway.Tasks;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// Tasks belong to the caller whose call created them (docs/mcp-handling.md, "Tasks"): a tasks request naming a task id
/// is forwarded only when that id is bound to the caller on this upstream (Tasks/TaskBindings.cs). Anything else, another
/// caller's task or one the gateway does not know, gets the answer an upstream gives for an unknown task, so nobody
/// learns that someone else's task exists.
/// </summary>
internal sealed partial class ClientConnection
{
    /// <summary>What an upstream answers (JSON-RPC -32602) for a task id it does not know.</summary>
    private static readonly byte[] TaskNotFound = "Task not found"u8.ToArray();

    /// <summary>The audit reason when the request names a task that is not the caller's here; null when it may go on.</summary>
    private string? TaskRefusal(in ReadOnlySequence<byte> body)
    {
        ref McpCall call = ref _exchange.Call;
        // tasks/list names no task: its answer is filtered to the caller's own (Tasks/TaskListFiltering.cs).
        if (_rt.TaskBindings is not { } bindings || !call.IsTasksMethod || !call.HasTaskId) return null;
        Span<byte> id = stackalloc byte[TaskBindings.MaxIdBytes];
        int n = McpInspector.CopyUnescaped(body, call.TaskIdRange, id);
        TaskCheck check = n <= 0 ? TaskCheck.Unknown : bindings.Check(_exchange.Route!.Name, id[..n], _exchange.Principal!);
        return check switch
        {
            TaskCheck.Owned => null,
            TaskCheck.Foreign => "task bound to another caller: answered as an unknown task",
            _ => "task id not bound to anyone here (never seen created, forgotten past tasks.maxPerCaller or tasks.maxPerUpstream, or created before a restart)",
        };
    }

    /// <summary>A batch member that is a tasks request: refused with the batch (member tasks are not bound, see docs).</summary>
    private static bool HasTasksMember(BatchMembers batch)
    {
        for (int i = 0; i < batch.Count; i++)
        {
            if (batch.Calls[i].IsTasksMethod) return true;
        }
        return false;
    }
}
