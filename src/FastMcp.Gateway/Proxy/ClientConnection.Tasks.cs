using System.Buffers;
using FastMcp.Gateway.Sessions;
using FastMcp.Gateway.Tasks;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Proxy;

/// <summary>
/// Tasks belong to the caller whose call created them (docs/mcp-handling.md, "Tasks"): a tasks request naming a task id
/// is forwarded only when that id is bound to the caller on this upstream (Tasks/TaskBindings.cs). Anything else, another
/// caller's task or one the gateway does not know, gets the answer an upstream gives for an unknown task, so nobody
/// learns that someone else's task exists. With tasks.sealed the id must be one sealed for the caller and upstream
/// (Sessions/IdSeal.cs), which any replica can verify: it is opened, bound here, and the upstream gets its own id.
/// </summary>
internal sealed partial class ClientConnection
{
    /// <summary>What an upstream answers (JSON-RPC -32602) for a task id it does not know.</summary>
    private static readonly byte[] TaskNotFound = "Task not found"u8.ToArray();

    private const string NotBoundHere =
        "task id not bound to anyone here (never seen created, forgotten past tasks.maxPerCaller or tasks.maxPerUpstream, or created before a restart)";

    private const string BoundToAnother = "task bound to another caller: answered as an unknown task";

    /// <summary>The audit reason when the request names a task that is not the caller's here; null when it may go on.</summary>
    private string? TaskRefusal(in ReadOnlySequence<byte> body)
    {
        ref McpCall call = ref _exchange.Call;
        // tasks/list names no task: its answer is filtered to the caller's own (Tasks/TaskListFiltering.cs).
        if (_rt.TaskBindings is not { } bindings || !call.IsTasksMethod || !call.HasTaskId) return null;
        if (_rt.TaskSeal is { } seal) return SealedTaskRefusal(seal, bindings, body);
        Span<byte> id = stackalloc byte[TaskBindings.MaxIdBytes];
        int n = McpInspector.CopyUnescaped(body, call.TaskIdRange, id);
        TaskCheck check = n <= 0 ? TaskCheck.Unknown : bindings.Check(_exchange.Route!.Name, id[..n], _exchange.Principal!);
        return check switch
        {
            TaskCheck.Owned => null,
            TaskCheck.Foreign => BoundToAnother,
            _ => NotBoundHere,
        };
    }

    /// <summary>
    /// tasks.sealed: the id must be a sealed id that verifies for this caller and route (the tag proves the task theirs,
    /// so one this replica never saw is bound here); then the upstream gets its own id in its place. Anything else (the
    /// upstream's raw id, a forged tag, another caller's or upstream's sealed id) is refused as an unknown task.
    /// </summary>
    private string? SealedTaskRefusal(IdSeal seal, TaskBindings bindings, in ReadOnlySequence<byte> body)
    {
        Range token = _exchange.Call.TaskIdRange;
        string upstream = _exchange.Route!.Name;
        FastMcp.Identity.Principal caller = _exchange.Principal!;
        // The longest sealed id opened is that of the longest id bound (about 1.4 KiB): longer ones do not fit, and are refused.
        int longest = seal.SealedLength(TaskBindings.MaxIdBytes);
        Span<byte> presented = stackalloc byte[longest];
        int n = McpInspector.CopyUnescaped(body, token, presented);
        Span<byte> id = stackalloc byte[longest];
        int length = n <= 0 ? -1 : seal.Open(presented[..n], caller, upstream, id);
        if (length <= 0 || length > TaskBindings.MaxIdBytes)
            return "task id not sealed for this caller and upstream (the upstream's raw id, a forged tag, or another caller's or upstream's sealed id)";
        ReadOnlySpan<byte> upstreamId = id[..length];
        // Bound already on most polls (no allocation); bound here the first time this replica sees the caller's task.
        TaskCheck check = bindings.Check(upstream, upstreamId, caller);
        if (check == TaskCheck.Foreign || (check == TaskCheck.Unknown && !bindings.Bind(upstream, upstreamId, caller))) return BoundToAnother;
        _exchange.SealedTask.Write(body, token, upstreamId);
        return null;
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
