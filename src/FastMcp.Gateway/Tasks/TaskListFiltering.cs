using System.Buffers;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Stages;
using FastMcp.Identity;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tasks;

/// <summary>
/// A tasks/list answer keeps only the caller's own tasks (those bound to it on this upstream): an upstream behind the
/// gateway's one credential lists every caller's. An answer that cannot be filtered is refused, never passed whole (fail
/// closed), as list filtering does. tasks/list in a batch is refused before it is forwarded (ClientConnection.Tasks.cs).
/// </summary>
internal sealed class TaskListFiltering(TaskBindings bindings) : IResponseTransform
{
    public bool Apply(Exchange exchange, PooledBufferWriter message, bool isEvent, TransformBuffers buffers)
    {
        if (exchange.Principal is not { } caller || exchange.Route is not { } route || !exchange.HasCall || exchange.Batch is not null
            || exchange.Call.Method != McpMethod.TasksList) return true;
        ReadOnlyMemory<byte> json = MessageJson.Of(message, isEvent, buffers);
        if (json.IsEmpty) return true;
        var sequence = new ReadOnlySequence<byte>(json);
        if (!McpResponseInspector.TryInspect(sequence, out McpResponseView view))
        {
            // A client reads a 2xx body as its answer: one that cannot be read is not passed on. Error statuses pass.
            if (exchange.ResponseStatus is >= 200 and < 300)
            {
                exchange.ListRefusal = ListFilterDiagnosis.Diagnose(sequence); // read again, refusals only, to say why
                return false;
            }
            return true;
        }
        // An array (a batch's answers sent for one call) may hold the list: it is not taken apart here, so it is refused.
        if (view.Kind == McpMessageKind.Batch)
        {
            exchange.ListRefusal = ListFilterRefusal.Unreadable;
            return false;
        }
        // Errors, notifications and server requests hold no list. Any success response here is read as the list.
        if (view.Kind != McpMessageKind.Response) return true;
        var filter = new OwnTasks(bindings, route.Name, caller);
        buffers.Output.Clear();
        if (!ListResultFilter.TryFilter(sequence, McpMethod.TasksList, ref filter, buffers.Output, out int removed, out ListFilterRefusal refusal))
        {
            exchange.ListRefusal = refusal;
            return false;
        }
        exchange.ListEntriesRemoved += removed;
        MessageJson.Replace(message, isEvent, buffers);
        return true;
    }

    private readonly struct OwnTasks(TaskBindings bindings, string upstream, Principal caller) : IListEntryFilter
    {
        public bool Keep(McpMethod listMethod, scoped ReadOnlySpan<byte> nameUtf8) => bindings.Check(upstream, nameUtf8, caller) == TaskCheck.Owned;
    }
}
