using System.Buffers;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Stages;
using FastMcp.Mcp;

namespace FastMcp.Gateway.Tasks;

/// <summary>
/// Binds each task an upstream creates to the caller whose request created it, before the answer reaches the client (so
/// the client cannot poll it before it is bound): the answer to a single request, as a JSON body or as the answer event
/// on that request's own stream, holding <c>result.task.taskId</c> (2025-11-25) or <c>result.taskId</c> with
/// <c>resultType</c> "task" (2026-07-28). Answers in a batch, on a GET stream or on a federated path bind nothing, so
/// their tasks' requests are refused (docs/mcp-handling.md, "Tasks"). It only reads the message; it never refuses one.
/// </summary>
internal sealed class TaskCreationBinding(TaskBindings bindings) : IResponseTransform
{
    public bool Apply(Exchange exchange, PooledBufferWriter message, bool isEvent, TransformBuffers buffers)
    {
        if (exchange.Principal is not { } caller || exchange.Route is not { } route || !exchange.HasCall || exchange.Batch is not null
            || exchange.Federation is not null || exchange.Call.Kind != McpMessageKind.Request || exchange.Call.IsTasksMethod) return true;
        // Most answers create no task: a vectorized search spares them a second JSON pass. A "taskId" written with
        // escapes is missed, and its task stays unbound (its requests refused): fail closed, never open.
        if (message.WrittenSpan.IndexOf("\"taskId\""u8) < 0) return true;
        ReadOnlyMemory<byte> json = MessageJson.Of(message, isEvent, buffers);
        if (json.IsEmpty || !CreatedTaskReader.TryFind(json.Span, out Range token)) return true;
        if (!McpResponseInspector.TryInspect(new ReadOnlySequence<byte>(json), out McpResponseView view) || view.Kind != McpMessageKind.Response
            || !ExchangeAnswer.Is(exchange, json.Span, view.IdRange)) return true;
        // The task's answers (tasks/get, tasks/result) are the tool's output: masked later with this call's profile.
        Bind(route.Name, json.Span, token, caller, PanMasking.ProfileFor(exchange.Decision));
        return true;
    }

    private void Bind(string upstream, ReadOnlySpan<byte> json, Range token, FastMcp.Identity.Principal caller, string? maskProfile)
    {
        Span<byte> id = stackalloc byte[TaskBindings.MaxIdBytes];
        int n = McpInspector.CopyUnescaped(json, token, id);
        if (n > 0) bindings.Bind(upstream, id[..n], caller, maskProfile);
    }
}
