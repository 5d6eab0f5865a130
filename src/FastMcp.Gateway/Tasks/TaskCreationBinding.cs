using System.Buffers;
using FastMcp.Gateway.Buffers;
using FastMcp.Gateway.Proxy;
using FastMcp.Gateway.Stages;
using FastMcp.Mcp;
using FastMcp.Pan;
using FastMcp.Pan.Payloads;
using FastMcp.Policy;

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
        // The task's answers (tasks/get, tasks/result) are the tool's output: masked later with this call's profile. What
        // the policy read of the call is kept with the binding, so that a reload decides it again (TaskRedecision).
        Span<byte> id = stackalloc byte[TaskBindings.MaxIdBytes];
        int n = McpInspector.CopyUnescaped(json.Span, token, id);
        if (n <= 0) return true;
        string? profile = PanMasking.ProfileFor(exchange.Decision);
        var verdict = new TaskVerdict(exchange.DecidedUnder, caller, profile);
        bindings.Bind(route.Name, id[..n], caller, verdict, CreatingCall(exchange, profile));
        return true;
    }

    /// <summary>
    /// The creating call as the policy read it: method, target and arguments, the latter only when short and free of card
    /// data (none found by request masking, which may have masked the body in place, nor in the bytes, checked with the
    /// default sensitive member names and the masking's own, for masking off or forwarding). Once per created task.
    /// </summary>
    private static TaskCreatingCall CreatingCall(Exchange exchange, string? profile)
    {
        ref McpCall call = ref exchange.Call;
        // The decision that allowed it travels in the task's sealed id, so that another replica can tell which rule admitted it.
        string? rule = exchange.Decision is { IsDefault: false, Rule: { } allowing } ? allowing.Name : null;
        Approvals.PendingApproval? approval = exchange.Approval;
        ReadOnlySequence<byte> body = exchange.Body;
        string method = call.Method != McpMethod.Unknown ? McpMethods.Name(call.Method) : Text(body, call.MethodRange, McpCallDecision.MaxMethodBytes) ?? "";
        string? target = call.HasName ? Text(body, call.NameRange, McpCallDecision.MaxNameBytes) : null;
        if (!call.HasArguments) return new TaskCreatingCall(method, target, null, false, approval, rule, profile);
        int length = call.ArgumentsRange.End.Value - call.ArgumentsRange.Start.Value;
        if (length > TaskCreatingCall.MaxKeptArgumentBytes) return new TaskCreatingCall(method, target, null, true, approval, rule, profile);
        // Masking found card data in the request (it may have masked it in place already, so the bytes no longer show it).
        if (exchange.RequestCards.Count > 0 || exchange.RequestCards.Sensitive > 0) return new TaskCreatingCall(method, target, null, true, approval, rule, profile);
        byte[] arguments = body.Slice(call.ArgumentsRange.Start.Value, length).ToArray();
        bool holdsCardData = PanMasker.ContainsCardNumber(arguments) || Base64Payloads.ContainsCardNumber(arguments) || PanMasker.ContainsTrackData(arguments)
            || Base64Payloads.ContainsSensitiveData(PolicyEngine.DefaultSensitiveMembers, arguments)
            || (exchange.Masking is { } masking && Base64Payloads.ContainsSensitiveData(masking.Masker.SensitiveMembers, arguments));
        if (!holdsCardData) return new TaskCreatingCall(method, target, arguments, false, approval, rule, profile);
        // The copy held card data: cleared before it is dropped, and not kept.
        Array.Clear(arguments);
        return new TaskCreatingCall(method, target, null, true, approval, rule, profile);
    }

    /// <summary>A JSON string token unescaped (null: longer than <paramref name="max"/> bytes, so the policy refused the call anyway).</summary>
    private static string? Text(in ReadOnlySequence<byte> body, Range token, int max)
    {
        Span<byte> text = stackalloc byte[max];
        int n = McpInspector.CopyUnescaped(body, token, text);
        return n < 0 ? null : System.Text.Encoding.UTF8.GetString(text[..n]);
    }
}
